"""`trt://` on a machine with TensorRT (a Jetson): a stale engine is rebuilt from the ONNX beside
it and then agrees with onnxruntime to FP16 precision."""
import shutil

import numpy as np
import pytest

trt = pytest.importorskip("tensorrt", reason="TensorRT ships with JetPack; absent on this machine")

from device.engines import trt_build  # noqa: E402
from device.engines.engine import OnnxEngine, TrtEngine  # noqa: E402
from device.engines.model_card import load_model_card  # noqa: E402


def test_stale_engine_is_rebuilt_and_matches_onnx(tmp_path, model_onnx):
    for name in (model_onnx.name, model_onnx.with_suffix(".json").name):
        shutil.copy(model_onnx.with_name(name), tmp_path / name)
    card = load_model_card(tmp_path / "edge.json")
    if trt_build.is_strongly_typed(trt.__version__) and card.fp16_onnx is None:
        pytest.skip(f"TensorRT {trt.__version__} builds only from an FP16 ONNX (convert --fp16)")
    engine_path = tmp_path / "edge.fp16.engine"
    statuses = []
    engine = TrtEngine(engine_path, card, statuses.append)
    assert any(s.startswith(f"rebuilding {engine_path.name}") for s in statuses)
    source = trt_build.engine_source(card.onnx, card.fp16_onnx, trt.__version__)
    assert trt_build.engine_is_stale(engine_path, source)[0] is False
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 256, 256)).astype(np.float32)
    reference = OnnxEngine(card.onnx, card).infer(x)
    assert np.abs(engine.infer(x) - reference).max() < 0.05
    statuses.clear()
    TrtEngine(engine_path, card, statuses.append)          # up to date: loaded, not rebuilt
    assert statuses == []
