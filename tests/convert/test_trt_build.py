"""TensorRT build policy and engine staleness. The staleness logic is file logic (sidecar vs
the ONNX on disk vs a TensorRT version), tested here on real files; building and running an
engine needs TensorRT and a GPU and is tested where they exist."""
from __future__ import annotations

import json

import pytest

from device.common.errors import UserError
from device.engines.trt_build import (Profile, engine_is_stale, engine_source,
                                      installed_tensorrt_version, is_strongly_typed,
                                      sidecar_path, write_sidecar)


@pytest.mark.parametrize("version, strongly_typed", [
    ("8.5.2.2", False), ("8.6.1", False), ("10.3.0", False), ("10.11.0.33", False),
    ("10.12.0.36", True), ("10.13.3", True), ("11.0.0", True)])
def test_precision_policy_follows_the_tensorrt_version(tmp_path, version, strongly_typed):
    fp32, fp16 = tmp_path / "m.onnx", tmp_path / "m.fp16.onnx"
    assert is_strongly_typed(version) is strongly_typed
    assert engine_source(fp32, fp16, version) == (fp16 if strongly_typed else fp32)


def test_strongly_typed_tensorrt_needs_the_fp16_onnx(tmp_path):
    with pytest.raises(UserError, match="--fp16"):
        engine_source(tmp_path / "m.onnx", None, "11.0.0")


def test_default_profile_is_720p_rounded_to_the_network_multiple():
    assert Profile.default(3, 16).opt == (1, 3, 720, 1280)
    assert Profile.default(3, 12).opt == (1, 3, 720, 1284)   # linear model, 12 px patches
    assert Profile.default(3, 12).min == (1, 3, 264, 264)
    for profile in (Profile.default(3, 16), Profile((1, 3, 8, 8), (1, 3, 8, 12),
                                                    (1, 3, 16, 24), input_name="x")):
        assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    # A sidecar without the input's name: the network's input, "nir"
    assert Profile.from_dict({"min": [1, 3, 8, 8], "opt": [1, 3, 8, 8],
                              "max": [1, 3, 8, 8]}).input_name == "nir"


@pytest.mark.parametrize("profile, words", [
    (Profile((1, 3, 64, 64), (1, 3, 32, 32), (1, 3, 128, 128)),
     "shapes must satisfy min <= opt <= max in every dimension; got min 1x3x64x64, "
     "opt 1x3x32x32, max 1x3x128x128."),
    (Profile((1, 1, 64, 64), (1, 3, 64, 64), (1, 3, 128, 128)),
     "--min-shape 1x1x64x64: the model takes 3 input channels, not 1."),
    (Profile((1, 3, 64, 64), (1, 4, 64, 64), (1, 3, 128, 128)),
     "--opt-shape 1x4x64x64: the model takes 3 input channels, not 4."),
    (Profile((1, 3, 64, 64), (1, 3, 64, 64), (1, 5, 128, 128)),
     "--max-shape 1x5x128x128: the model takes 3 input channels, not 5."),
])
def test_profile_check_names_the_option_and_what_is_wrong(profile, words):
    with pytest.raises(UserError) as caught:
        profile.check(3)
    assert str(caught.value) == words


def test_profile_takes_raw_frame_sizes_that_are_not_multiples():
    """The viewer graph pads to the network's multiple itself, so a 1080p camera's profile
    (1080 is not a multiple of 16) is accepted, and its frame lies inside it."""
    profile = Profile((1, 3, 270, 480), (1, 3, 1080, 1920), (1, 3, 1080, 1920))
    profile.check(3)
    assert profile.accepts((1, 3, 1080, 1920)) and Profile.default(3, 16).accepts(
        (1, 3, 1080, 1920))
    # convert holds the engine only to captures that fit it: outside the profile, or not NCHW
    for shape in [(1, 3, 1088, 1920), (1, 3, 269, 480), (1, 4, 1080, 1920), (3, 1080, 1920)]:
        assert not profile.accepts(shape), shape


@pytest.fixture
def engine_files(tmp_path):
    """An ONNX file, an engine file and the sidecar that says TensorRT 10.3.0 built one from
    the other. The engine bytes are arbitrary: staleness never deserialises the engine."""
    onnx_path, engine = tmp_path / "m.onnx", tmp_path / "m.fp16.engine"
    onnx_path.write_bytes(b"onnx model bytes")
    engine.write_bytes(b"serialized engine bytes")
    write_sidecar(engine, onnx_path, tensorrt_version="10.3.0", strongly_typed=False,
                  profile=Profile.default(3, 16), workspace_mib=512)
    return onnx_path, engine


def test_fresh_engine_is_not_stale(engine_files):
    onnx_path, engine = engine_files
    assert engine_is_stale(engine, onnx_path, "10.3.0") == (False, "up to date")
    # The sidecar is <engine>.json, as docs/convert.md names it
    assert sidecar_path(engine).name == "m.fp16.engine.json"
    record = json.loads(sidecar_path(engine).read_text())
    assert record["tensorrt"] == "10.3.0" and record["precision"] == "fp16-builder-flag"
    assert record["profile"]["opt"] == [1, 3, 720, 1280]


def test_other_tensorrt_version_makes_it_stale(engine_files):
    onnx_path, engine = engine_files
    stale, reason = engine_is_stale(engine, onnx_path, "10.12.0")
    assert stale and "built by TensorRT 10.3.0, this is TensorRT 10.12.0" in reason


def test_changed_onnx_makes_it_stale(engine_files):
    onnx_path, engine = engine_files
    onnx_path.write_bytes(b"a retrained model")
    stale, reason = engine_is_stale(engine, onnx_path, "10.3.0")
    assert stale and "another ONNX" in reason


def test_changed_engine_makes_it_stale(engine_files):
    onnx_path, engine = engine_files
    engine.write_bytes(b"truncated")
    stale, reason = engine_is_stale(engine, onnx_path, "10.3.0")
    assert stale and "changed after it was built" in reason


@pytest.mark.parametrize("damage, words", [
    ("no sidecar", "m.fp16.engine.json is missing or unreadable"),
    ("sidecar not JSON", "m.fp16.engine.json is missing or unreadable (Expecting"),
    ("sidecar a JSON list", "m.fp16.engine.json is missing or unreadable (not an engine sidecar)"),
    ("sidecar of another tool", "m.fp16.engine.json is missing or unreadable (not an engine "
                                "sidecar)"),
    ("no engine", "m.fp16.engine does not exist"),
    ("no onnx", "m.onnx does not exist")])
def test_missing_pieces_make_it_stale(engine_files, damage, words):
    onnx_path, engine = engine_files
    sidecar = sidecar_path(engine)
    if damage == "no sidecar":
        sidecar.unlink()
    elif damage == "sidecar not JSON":
        sidecar.write_text("{")
    elif damage == "sidecar a JSON list":
        sidecar.write_text("[]")
    elif damage == "sidecar of another tool":
        sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "format": "trtexec"}))
    elif damage == "no engine":
        engine.unlink()
    else:
        onnx_path.unlink()
    stale, reason = engine_is_stale(engine, onnx_path, "10.3.0")
    assert stale and words in reason, reason


def test_without_tensorrt_every_engine_is_stale(engine_files):
    if installed_tensorrt_version() is not None:
        pytest.skip("TensorRT is installed here; this case is for machines without it")
    onnx_path, engine = engine_files
    assert engine_is_stale(engine, onnx_path) == (
        True, "TensorRT is not installed, so no engine can run here")


def test_profile_shapes_cover_every_viewer_graph_input():
    """The NCHW profile (trtexec's nir:1x3x720x1280 spelling) becomes one shape range per input
    of the viewer graph, which TensorRT needs for every dynamic input."""
    from device.engines import viewer_io
    from device.engines.trt_build import profile_shapes

    profile = Profile.default(3, 16)
    names = viewer_io.input_names((718, 777, 807))
    shapes = profile_shapes(names, profile)
    assert set(shapes) == set(names)
    assert shapes["raw_777"] == ((256, 256), (720, 1280), (2048, 2048))
    assert shapes["gain"][1] == (3, 720, 1280) and shapes["dark"][2] == (2048, 2048)
    assert shapes["warp"] == ((3, 2, 3),) * 3 and shapes["scale"] == ((3, 1, 1),) * 3
    assert profile_shapes(["nir"], profile) == {"nir": (profile.min, profile.opt, profile.max)}
