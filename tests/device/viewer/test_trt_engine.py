"""`trt://` on a machine with TensorRT (a Jetson): a stale engine is rebuilt from the viewer graph
beside it and then agrees with onnxruntime running the same graph to FP16 precision."""
import shutil

import numpy as np
import pytest

trt = pytest.importorskip("tensorrt", reason="TensorRT ships with JetPack; absent on this machine")

pytestmark = pytest.mark.cuda   # a real engine on a real GPU (docs/testing.md)

from device.engines import trt_build, viewer_io  # noqa: E402
from device.engines.engine import OnnxEngine, TrtEngine  # noqa: E402
from device.engines.model_card import load_model_card  # noqa: E402


def test_stale_engine_is_rebuilt_and_matches_onnx(tmp_path, model_onnx):
    for path in model_onnx.parent.glob("edge*"):
        if path.suffix in (".onnx", ".json"):
            shutil.copy(path, tmp_path / path.name)
    card = load_model_card(tmp_path / "edge.json")
    engine_path = tmp_path / "edge.viewer.fp16.engine"
    statuses = []
    engine = TrtEngine(engine_path, card, statuses.append)
    assert any(s.startswith(f"rebuilding {engine_path.name}") for s in statuses)
    assert set(engine.input_names) == set(viewer_io.input_names(card.wavelengths_nm))
    h, w = 256, 256
    rng = np.random.default_rng(0)
    residents = {viewer_io.DARK: np.full((h, w), 64, np.float32),
                 viewer_io.GAIN: np.full((3, h, w), 1 / 900, np.float32)}
    feeds = {viewer_io.raw_name(nm): rng.uniform(64, 964, (h, w)).astype(np.float32)
             for nm in card.wavelengths_nm}
    feeds.update({viewer_io.SCALE: np.ones((3, 1, 1), np.float32),
                  viewer_io.WARP: viewer_io.identity_warps(3)})
    reference = OnnxEngine(card.viewer_onnx)
    for name, plane in residents.items():
        engine.set_resident(name, plane)
        reference.set_resident(name, plane)
    got = engine.run(feeds)[viewer_io.OUTPUT].astype(int)
    assert np.abs(got - reference.run(feeds)[viewer_io.OUTPUT].astype(int)).mean() < 2
    statuses.clear()
    TrtEngine(engine_path, card, statuses.append)          # up to date: loaded, not rebuilt
    assert statuses == []
