"""Every registered model converts, and its ONNX computes what the checkpoint computes."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from convert.pipeline import Options, convert_checkpoint
from convert.verify import FP16_MIN_PSNR_DB, FP32_MAX_ABS, onnx_session, run_onnx
from device.engines.model_card import load_model_card
from train.checkpoint import load_checkpoint
from train.models import MODEL_NAMES


@pytest.mark.slow
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_converts_with_parity(make_checkpoint, tmp_path, name):
    ckpt = make_checkpoint(name)
    out = convert_checkpoint(ckpt, Options(fp16=True), log=lambda _: None)

    assert out.numbers["fp32_max_abs_error"] <= FP32_MAX_ABS
    assert out.numbers["fp16_psnr_db"] >= FP16_MIN_PSNR_DB
    card = load_model_card(tmp_path / f"{name}.json")
    assert (card.onnx, card.fp16_onnx) == (out.onnx.resolve(), out.fp16_onnx.resolve())
    assert card.wavelengths_nm == (718, 777, 807)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{name}.pt", f"{name}.onnx", f"{name}.fp16.onnx", f"{name}.json",
         f"{name}.viewer.onnx", f"{name}.viewer.fp16.onnx"])
    # The viewer graphs were held to the classic path and to each other.
    assert out.numbers["viewer_within_one_code"] >= 0.999
    assert out.numbers["viewer_fp16_psnr_db"] >= FP16_MIN_PSNR_DB
    # ... and its temporal filter checked: a still sequence converges, a cut leaves no ghost
    assert out.numbers["filter_still_change_ratio"] <= 0.5
    assert out.numbers["filter_cut_within_one_code"] >= 0.99
    viewer = onnx.load(out.viewer_onnx).graph
    assert [i.name for i in viewer.input] == ["raw_718", "raw_777", "raw_807", "dark", "gain",
                                              "scale", "warp", "noise", "history", "state_warp",
                                              "state"]
    assert [o.name for o in viewer.output] == ["srgb", "state_next"]
    assert viewer.output[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8

    graph = onnx.load(out.onnx).graph
    assert "BatchNormalization" not in {n.op_type for n in graph.node}
    assert [i.name for i in graph.input] == ["nir"] and [o.name for o in graph.output] == ["rgb"]
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 3, "H", "W"]
    assert onnx.load(out.onnx).opset_import[0].version == 17

    # A batch and a size the export never saw: the dynamic axes really are dynamic.
    model, config = load_checkpoint(ckpt)
    m = config["spatial_multiple"]
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, 2 * m, 5 * m)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = run_onnx(onnx_session(out.onnx), x)
    assert got.shape == (3, 3, 2 * m, 5 * m)
    assert np.abs(got - expected).max() <= FP32_MAX_ABS


def test_fp16_onnx_is_half_inside_and_float_at_the_edges(make_checkpoint):
    out = convert_checkpoint(make_checkpoint("unet"), Options(fp16=True), log=lambda _: None)
    half = onnx.load(out.fp16_onnx)
    io_types = {v.type.tensor_type.elem_type for v in [*half.graph.input, *half.graph.output]}
    weight_types = {t.data_type for t in half.graph.initializer if len(t.dims) == 4}
    assert io_types == {onnx.TensorProto.FLOAT}
    assert weight_types == {onnx.TensorProto.FLOAT16}
    # Half the bytes, give or take the graph itself.
    assert out.fp16_onnx.stat().st_size < 0.6 * out.onnx.stat().st_size


def test_out_folder_receives_the_files(make_checkpoint, tmp_path):
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    out = convert_checkpoint(make_checkpoint("linear"), Options(out_dir=out_dir),
                             log=lambda _: None)
    assert sorted(p.name for p in out_dir.iterdir()) == ["linear.json", "linear.onnx",
                                                         "linear.viewer.onnx"]
    assert out.fp16_onnx is None and "fp16_onnx" not in json.loads(out.card.read_text())
