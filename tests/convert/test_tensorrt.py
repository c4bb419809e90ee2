"""Build and run a real FP16 engine (Jetson or any CUDA machine with TensorRT)."""
from __future__ import annotations

import json

import pytest

trt = pytest.importorskip("tensorrt", reason="TensorRT ships with JetPack; absent on this machine")

pytestmark = pytest.mark.cuda   # a real engine on a real GPU (docs/testing.md)

from convert.pipeline import Options, convert_checkpoint  # noqa: E402
from convert.verify import FP16_MIN_PSNR_DB  # noqa: E402
from device.engines.model_card import load_model_card  # noqa: E402
from device.engines.trt_build import (card_engine_source, engine_is_stale,  # noqa: E402
                                      ensure_engine, is_strongly_typed, sidecar_path)


def test_convert_builds_a_verified_engine_and_rebuilds_it_when_stale(make_checkpoint, tmp_path):
    cache = tmp_path / "timing.cache"
    out = convert_checkpoint(
        make_checkpoint("edge"),
        Options(fp16=True, timing_cache=cache,
                profile={"min": (1, 3, 64, 64), "opt": (1, 3, 128, 128), "max": (2, 3, 256, 256)}),
        log=print)
    assert out.engine == tmp_path / "edge.fp16.engine" and out.engine.is_file()
    assert out.numbers["engine_psnr_db"] >= FP16_MIN_PSNR_DB
    assert cache.stat().st_size > 0

    record = json.loads(sidecar_path(out.engine).read_text())
    assert record["tensorrt"] == trt.__version__
    assert record["precision"] == ("fp16-strongly-typed" if is_strongly_typed(trt.__version__)
                                   else "fp16-builder-flag")
    card = load_model_card(out.card)
    source = card_engine_source(card, trt.__version__)     # the viewer graph
    assert source.name.startswith("edge.viewer.")
    assert engine_is_stale(out.engine, source) == (False, "up to date")

    # An engine from "another TensorRT": the viewer's entry point rebuilds it.
    record["tensorrt"] = "8.5.2"
    sidecar_path(out.engine).write_text(json.dumps(record))
    assert engine_is_stale(out.engine, source)[0]
    ensure_engine(card, out.engine, log=print)
    assert engine_is_stale(out.engine, source) == (False, "up to date")
    assert json.loads(sidecar_path(out.engine).read_text())["profile"]["max"] == [2, 3, 256, 256]
