"""Building the TensorRT engine (device/engines/trt_build.py: build_engine, ensure_engine)
against the builder stand-in (conftest.add_builder): what convert and the viewer ask TensorRT
for on each version, that the plan they write runs and holds the profile they asked for, the
timing cache, the refusals, and when the viewer rebuilds.

The builder stand-in's plan is the parsed ONNX with its profile and how it was built, so the
runtime stand-in runs exactly what was built: an engine built with a profile refuses frames
outside it, and one built by another TensorRT does not load.
"""
from __future__ import annotations

import dataclasses
import json
import re
import shutil
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto

from device.common.errors import UserError
from device.engines.trt_build import (Profile, build_engine, engine_is_stale, engine_source,
                                      ensure_engine, sidecar_path)
from device.engines.trt_runner import EngineRunner

# The network stand-ins run tanh over 1x3xHxW frames; engines are built for 8x8 to 16x24.
PROFILE = Profile((1, 3, 8, 8), (1, 3, 8, 12), (1, 3, 16, 24))
# (TensorRT, what it builds from, how it gets FP16, the sidecar's "precision")
VERSIONS = [("8.5.2.2", "fp32 onnx", "BuilderFlag.FP16", "fp16-builder-flag"),
            ("10.3.0", "fp32 onnx", "BuilderFlag.FP16", "fp16-builder-flag"),
            ("10.12.0.36", "fp16 onnx", "strongly typed from the FP16 ONNX",
             "fp16-strongly-typed"),
            ("11.0.0", "fp16 onnx", "strongly typed from the FP16 ONNX", "fp16-strongly-typed")]


@pytest.fixture
def onnx_pair(tmp_path, models):
    fp32, fp16 = tmp_path / "net.onnx", tmp_path / "net.fp16.onnx"
    onnx.save(models.single_input(), str(fp32))
    onnx.save(models.single_input(TensorProto.FLOAT16), str(fp16))
    return fp32, fp16


def build_record(gpu) -> dict:
    records = [entry[1] for entry in gpu.log if entry[0] == "build"]
    assert records, "nothing was built"
    return records[-1]


@pytest.mark.parametrize("version, source, mode, precision", VERSIONS,
                         ids=[v[0] for v in VERSIONS])
def test_each_tensorrt_builds_an_fp16_engine_that_runs_within_its_profile(
        install_stand_ins, onnx_pair, tmp_path, version, source, mode, precision):
    gpu = install_stand_ins("cuda-python", integrated=False, version=version)
    fp32, fp16 = onnx_pair
    onnx_path = engine_source(fp32, fp16, version)
    assert onnx_path == (fp16 if source == "fp16 onnx" else fp32)
    engine = tmp_path / "net.fp16.engine"
    lines = []
    started = time.monotonic()
    record = build_engine(onnx_path, engine, profile=PROFILE, workspace_mib=512,
                          log=lines.append)
    took = time.monotonic() - started

    # What TensorRT was asked for: FP16 (by the flag, or by the FP16 ONNX's own types), the
    # --workspace in bytes, and the profile convert was given.
    built = build_record(gpu)
    assert built["precision"] == "fp16" and built["workspace"] == 512 * 2 ** 20
    assert built["strongly_typed"] is (source == "fp16 onnx")
    assert lines[0] == (f"building TensorRT {version} engine ({mode}), profile opt 1x3x8x12; "
                        f"this takes minutes on a Jetson...")
    built_in = re.fullmatch(r"engine built in (\d+) s", lines[1])
    assert built_in and int(built_in.group(1)) <= took + 0.5 and len(lines) == 2

    # The sidecar says what made the engine, and the engine is up to date against its ONNX.
    assert json.loads(sidecar_path(engine).read_text()) == record
    assert record["tensorrt"] == version and record["precision"] == precision
    assert record["onnx"] == onnx_path.name and record["workspace_mib"] == 512
    assert Profile.from_dict(record["profile"]) == PROFILE
    assert engine_is_stale(engine, onnx_path, version) == (False, "up to date")

    # The plan runs: tanh of the frame, and a frame outside the profile is refused.
    frame = np.random.default_rng(0).uniform(-2, 2, (1, 3, 16, 24))
    dtype = np.float16 if source == "fp16 onnx" else np.float32
    with EngineRunner(engine) as runner:
        out = runner.run({"nir": frame.astype(dtype)})["rgb"]
        np.testing.assert_allclose(out, np.tanh(frame.astype(dtype)), rtol=1e-3, atol=1e-3)
        with pytest.raises(UserError, match="outside the engine's optimisation profile"):
            runner.run({"nir": np.zeros((1, 3, 16, 32), dtype)})


def test_an_engine_runs_only_on_the_tensorrt_that_built_it(install_stand_ins, onnx_pair,
                                                           tmp_path, monkeypatch):
    """Why the sidecar records the version: a plan from another TensorRT does not load."""
    install_stand_ins(version="8.5.2.2")
    engine = tmp_path / "net.fp16.engine"
    build_engine(onnx_pair[0], engine, profile=PROFILE, log=lambda line: None)
    install_stand_ins(version="10.3.0")
    assert engine_is_stale(engine, onnx_pair[0], "10.3.0") == (
        True, "net.fp16.engine was built by TensorRT 8.5.2.2, this is TensorRT 10.3.0")
    with pytest.raises(UserError, match="cannot load this engine"):
        EngineRunner(engine)


def test_the_timing_cache_spares_a_rebuild_the_kernel_timings(install_stand_ins, onnx_pair,
                                                              tmp_path):
    """--timingCacheFile: the first build writes the cache, a rebuild reads it and times
    nothing again; a cache from another TensorRT is dropped, not an error."""
    cache = tmp_path / "timing.cache"
    gpu = install_stand_ins(version="10.3.0")
    build_engine(onnx_pair[0], tmp_path / "a.engine", profile=PROFILE, timing_cache=cache,
                 log=lambda line: None)
    first = [n for op, n in (e for e in gpu.log if e[0] == "timed")]
    assert cache.is_file() and first == [1]            # the one Tanh layer, timed
    build_engine(onnx_pair[0], tmp_path / "b.engine", profile=PROFILE, timing_cache=cache,
                 log=lambda line: None)
    assert [e[1] for e in gpu.log if e[0] == "timed"] == [1, 0]

    gpu = install_stand_ins(version="8.5.2.2")         # the cache is 10.3.0's
    build_engine(onnx_pair[0], tmp_path / "c.engine", profile=PROFILE, timing_cache=cache,
                 log=lambda line: None)
    assert [e[1] for e in gpu.log if e[0] == "timed"] == [1]
    assert json.loads(cache.read_bytes())["tensorrt"] == "8.5.2.2"   # rewritten for this one


def test_without_a_cache_file_nothing_is_written_beside_the_engine(install_stand_ins, onnx_pair,
                                                                   tmp_path):
    install_stand_ins(version="10.3.0")
    out = tmp_path / "out"
    out.mkdir()
    build_engine(onnx_pair[0], out / "net.fp16.engine", profile=PROFILE, log=lambda line: None)
    assert sorted(p.name for p in out.iterdir()) == ["net.fp16.engine", "net.fp16.engine.json"]


@pytest.mark.parametrize("failure", ["not onnx", "build fails"])
def test_a_failed_parse_or_build_is_one_sentence_and_writes_nothing(install_stand_ins, onnx_pair,
                                                                    tmp_path, failure):
    gpu = install_stand_ins(version="10.3.0")
    onnx_path = onnx_pair[0]
    if failure == "not onnx":
        onnx_path = tmp_path / "broken.onnx"
        onnx_path.write_bytes(b"not a model")
        words = rf"{re.escape(str(onnx_path))}: TensorRT 10\.3\.0 cannot parse it: ModelImporter"
    else:
        gpu.fail_build = True
        words = (rf"{re.escape(str(onnx_path))}: TensorRT 10\.3\.0 failed to build an engine "
                 r"\(see its messages above\); try a larger --workspace or smaller --max-shape\.")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UserError, match=words):
        build_engine(onnx_path, out / "net.fp16.engine", profile=PROFILE,
                     timing_cache=out / "timing.cache", log=lambda line: None)
    assert list(out.iterdir()) == []


def test_tensorrt_8_parses_onnx_only_into_an_explicit_batch_network(install_stand_ins, onnx_pair,
                                                                    tmp_path):
    """8.5's ONNX parser refuses an implicit-batch network; build_engine asks for explicit
    batch there (and only there: 10 and 11 have nothing else)."""
    install_stand_ins(version="8.5.2.2")
    build_engine(onnx_pair[0], tmp_path / "net.engine", profile=PROFILE, log=lambda line: None)
    import tensorrt as trt
    network = trt.Builder(trt.Logger()).create_network(0)
    parser = trt.OnnxParser(network, trt.Logger())
    assert not parser.parse_from_file(str(onnx_pair[0]))   # what the stand-in refuses
    assert "explicit batch dimension" in parser.get_error(0).desc()


# -- the viewer's entry: ensure_engine ----------------------------------------------------------


@pytest.fixture
def card():
    from device.engines.model_card import load_model_card
    from device.simulated.presets import SHIPPED_MODEL
    return load_model_card(SHIPPED_MODEL.with_suffix(".json"))


@pytest.mark.parametrize("multiple", [16, 12])
def test_the_viewer_builds_a_missing_engine_once(install_stand_ins, card, tmp_path, multiple):
    """A missing engine is built from the card's viewer graph with the default profile convert
    gives the card (720p opt, its channels, sides rounded to its multiple: 16 for the shipped
    network, 12 for a linear model's patches), and fills the timing cache; the next start
    finds it up to date."""
    card = dataclasses.replace(card, spatial_multiple=multiple)
    gpu = install_stand_ins(version="10.3.0")
    engine, cache = tmp_path / "edge.fp16.engine", tmp_path / "timing.cache"
    lines = []
    assert ensure_engine(card, engine, timing_cache=cache, log=lines.append) == engine
    assert lines[0] == f"rebuilding edge.fp16.engine: {engine} does not exist"
    record = json.loads(sidecar_path(engine).read_text())
    assert record["onnx"] == card.viewer_graph.name and cache.is_file()
    assert Profile.from_dict(record["profile"]) == Profile.default(3, multiple)
    assert ensure_engine(card, engine, log=lines.append) == engine
    assert gpu.count("build") == 1 and len(lines) == 3   # rebuilding, building, built


def test_a_tensorrt_upgrade_rebuilds_with_the_profile_of_the_last_build(install_stand_ins, card,
                                                                        tmp_path):
    """JetPack 6 to 7: the old engine is stale; the new one comes from the FP16 viewer graph
    (strongly typed) and keeps the frame sizes convert was told before."""
    install_stand_ins(version="10.3.0")
    engine = tmp_path / "edge.fp16.engine"
    custom = Profile((1, 3, 480, 640), (1, 3, 1080, 1920), (1, 3, 1080, 1920))
    build_engine(card.viewer_graph, engine, profile=custom, log=lambda line: None)
    gpu = install_stand_ins(version="10.12.0.36")
    lines = []
    ensure_engine(card, engine, log=lines.append)
    assert lines[0] == ("rebuilding edge.fp16.engine: edge.fp16.engine was built by TensorRT "
                        "10.3.0, this is TensorRT 10.12.0.36")
    record = json.loads(sidecar_path(engine).read_text())
    assert record["onnx"] == card.viewer_fp16_onnx.name
    assert record["precision"] == "fp16-strongly-typed" and build_record(gpu)["strongly_typed"]
    assert Profile.from_dict(record["profile"]) == custom


@pytest.mark.parametrize("damage", ["no sidecar", "not JSON", "no profile", "other channels",
                                    "short shape", "shape not numbers"])
def test_a_sidecar_without_a_usable_profile_rebuilds_with_the_default(install_stand_ins, card,
                                                                      tmp_path, damage):
    install_stand_ins(version="10.3.0")
    engine = tmp_path / "edge.fp16.engine"
    build_engine(card.viewer_graph, engine, profile=Profile.default(3, 16),
                 log=lambda line: None)
    engine.write_bytes(b"damaged")                     # stale: changed after it was built
    sidecar = sidecar_path(engine)
    record = json.loads(sidecar.read_text())
    edits = {"no profile": lambda r: r.pop("profile"),
             "other channels": lambda r: r["profile"].update(min=[1, 4, 256, 256]),
             "short shape": lambda r: r["profile"].update(opt=[1, 3, 720]),
             "shape not numbers": lambda r: r["profile"].update(max=[1, 3, None, 2048])}
    if damage == "no sidecar":
        sidecar.unlink()
    elif damage == "not JSON":
        sidecar.write_text("{")
    else:
        edits[damage](record)
        sidecar.write_text(json.dumps(record))
    ensure_engine(card, engine, log=lambda line: None)
    rebuilt = json.loads(sidecar.read_text())
    assert Profile.from_dict(rebuilt["profile"]) == Profile.default(3, 16)
    assert engine_is_stale(engine, card.viewer_graph, "10.3.0") == (False, "up to date")


def test_the_installed_tensorrt_is_the_one_staleness_compares_with(install_stand_ins, onnx_pair,
                                                                   tmp_path):
    install_stand_ins(version="10.3.0")
    engine = tmp_path / "net.fp16.engine"
    build_engine(onnx_pair[0], engine, profile=PROFILE, log=lambda line: None)
    assert engine_is_stale(engine, onnx_pair[0]) == (False, "up to date")
    copy = tmp_path / "copy.onnx"
    shutil.copy(onnx_pair[0], copy)                    # same bytes: still the engine's ONNX
    assert engine_is_stale(engine, copy) == (False, "up to date")
