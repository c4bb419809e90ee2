"""The viewer graph as built: only the operators TensorRT 8.5 parses, a float32-output variant
for 8.5 that gives the same codes, and a network whose names would clash is refused."""
import numpy as np
import onnx
import pytest

from convert.viewer import default_samples, feeds_for, random_samples, session_runner
from convert.viewer_graph import PREFIX, TENSORRT_85_OPS, build_viewer_graph
from device.engines.model_card import load_model_card
from device.simulated.presets import SHIPPED_MODEL


@pytest.fixture(scope="module")
def card():
    return load_model_card(SHIPPED_MODEL.with_suffix(".json"))


def build(card, output_dtype="uint8"):
    return build_viewer_graph(onnx.load(card.onnx), card.wavelengths_nm, card.from_reflectance,
                              card.to_srgb, output_dtype, spatial_multiple=card.spatial_multiple)


def test_only_operators_tensorrt_85_parses(card):
    graph = build(card).graph
    added = {n.op_type for n in graph.node if n.name.startswith(PREFIX)}
    assert added <= TENSORRT_85_OPS and "Gather" in added          # the warp, without GridSample
    network_ops = {n.op_type for n in onnx.load(card.onnx).graph.node}
    assert {n.op_type for n in graph.node} == added | network_ops


def test_float32_output_gives_the_same_codes_without_uint8(card, tmp_path):
    paths = {}
    for dtype in ("uint8", "float32"):
        paths[dtype] = tmp_path / f"{dtype}.onnx"
        onnx.save(build(card, dtype), paths[dtype])
    as_float = onnx.load(paths["float32"])
    types = {t.type.tensor_type.elem_type for t in as_float.graph.output}
    casts = {a.i for n in as_float.graph.node if n.op_type == "Cast" for a in n.attribute}
    assert onnx.TensorProto.UINT8 not in types | casts
    for sample in default_samples(card.wavelengths_nm):      # 64x80 and 57x75, odd
        feeds = feeds_for(sample, card.wavelengths_nm)
        codes = session_runner(paths["float32"])(feeds)
        assert codes.dtype == np.float32 and np.array_equal(codes, np.floor(codes))
        assert np.array_equal(codes.astype(np.uint8), session_runner(paths["uint8"])(feeds))


def test_a_network_using_the_viewer_names_is_refused(card):
    network = onnx.load(card.onnx)
    network.graph.node[0].output[0] = "srgb"
    with pytest.raises(ValueError, match="already uses tensor names"):
        build_viewer_graph(network, card.wavelengths_nm, card.from_reflectance, card.to_srgb,
                           spatial_multiple=card.spatial_multiple)


@pytest.mark.parametrize("size", [(56, 72), (57, 75), (64, 80)])
def test_any_frame_size_comes_out_at_that_size(card, tmp_path, size):
    """The graph pads each side up to the network's multiple and crops back: sizes the
    multiple (16) does not divide run and give H x W x 3, a picture up to the last pixel."""
    path = tmp_path / "viewer.onnx"
    onnx.save(build(card), path)
    feeds = feeds_for(random_samples(card.wavelengths_nm, size=size)[0], card.wavelengths_nm)
    rgb = session_runner(path)(feeds)
    assert rgb.shape == (*size, 3) and rgb.dtype == np.uint8
    assert rgb[-1].std() > 0 and rgb[:, -1].std() > 0      # real picture up to the last pixel
