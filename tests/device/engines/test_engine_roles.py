"""The engine role (device/engines/engine.py) as the viewer opens it: onnxruntime's session as
the viewer needs it, resident inputs, which graph a URI names, and `trt://` through the
TensorRT and CUDA stand-ins (conftest.py): built when missing, run like onnxruntime, and the
fallback to ONNX when TensorRT cannot start, with the reason in the status line."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from device.common.errors import UserError
from device.engines.engine import OnnxEngine, viewer_onnx


def minus_dark_onnx() -> onnx.ModelProto:
    """y = x - dark on float32 H x W planes: a frame input and a resident one."""
    planes = ["H", "W"]
    graph = helper.make_graph(
        [helper.make_node("Sub", ["x", "dark"], ["y"])], "minus_dark",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, planes),
         helper.make_tensor_value_info("dark", TensorProto.FLOAT, planes)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, planes)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture
def minus_dark(tmp_path):
    path = tmp_path / "minus_dark.onnx"
    onnx.save(minus_dark_onnx(), str(path))
    return path


def test_the_session_is_set_up_for_the_live_loop(minus_dark):
    """Every core (onnxruntime's 0), full graph optimisation, only errors logged, and idle pool
    threads that sleep instead of spinning (a spinning pool starves the strobe thread)."""
    engine = OnnxEngine(minus_dark)
    options = engine._session.get_session_options()
    assert options.intra_op_num_threads == 0
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.log_severity_level == 3
    assert engine.name == "onnxruntime (CPUExecutionProvider, minus_dark.onnx)"
    assert engine.input_names == ("x", "dark") and engine.output_names == ("y",)


def test_a_resident_input_is_kept_as_the_graphs_float32(minus_dark):
    """Calibration planes come as float64 from numpy arithmetic; the engine keeps them as the
    graph's float32 and uses them for every later frame."""
    engine = OnnxEngine(minus_dark)
    rng = np.random.default_rng(0)
    dark = rng.uniform(0, 64, (6, 8))                 # float64
    engine.set_resident("dark", dark)
    for _ in range(2):
        x = rng.uniform(0, 1023, (6, 8)).astype(np.float32)
        np.testing.assert_array_equal(engine.run({"x": x})["y"], x - dark.astype(np.float32))


def test_refusals_are_one_sentence(minus_dark, tmp_path):
    with pytest.raises(UserError) as caught:
        OnnxEngine(tmp_path / "absent.onnx")
    assert str(caught.value) == f"{tmp_path / 'absent.onnx'}: ONNX model not found."
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(UserError, match=rf"^{broken}: onnxruntime cannot load it \(.+\)\.$"):
        OnnxEngine(broken)
    engine = OnnxEngine(minus_dark)
    with pytest.raises(UserError) as caught:
        engine.set_resident("gain", np.ones((6, 8), np.float32))
    assert str(caught.value) == f"{minus_dark}: the graph has no input 'gain' (it takes x, dark)."
    with pytest.raises(UserError) as caught:
        engine.run({})
    assert str(caught.value) == f"{minus_dark}: no value for input x, dark."


def test_a_uri_naming_the_fp16_viewer_graph_runs_it(card):
    """The FP16 viewer graph where the URI names it; the FP32 one for anything else (the CPU
    runs FP32 faster), a URI naming the network included."""
    assert viewer_onnx(card, card.viewer_fp16_onnx) == card.viewer_fp16_onnx
    assert viewer_onnx(card, card.onnx) == card.viewer_graph
    assert viewer_onnx(card) == card.viewer_graph


@pytest.fixture
def card():
    from device.engines.model_card import load_model_card
    from device.simulated.presets import SHIPPED_MODEL
    return load_model_card(SHIPPED_MODEL.with_suffix(".json"))


# -- trt:// through the stand-ins -----------------------------------------------------------------


def other_graph_with_the_viewer_outputs() -> onnx.ModelProto:
    """Two of the viewer graph's inputs (dark, scale) straight to its two outputs."""
    from device.engines import viewer_io

    inputs = [helper.make_tensor_value_info("dark", TensorProto.FLOAT, ["H", "W"]),
              helper.make_tensor_value_info("scale", TensorProto.FLOAT, [3, 1, 1])]
    srgb, state_next = viewer_io.output_names()
    outputs = [helper.make_tensor_value_info(srgb, TensorProto.FLOAT, ["H", "W"]),
               helper.make_tensor_value_info(state_next, TensorProto.FLOAT, [3, 1, 1])]
    nodes = [helper.make_node("Identity", ["dark"], [srgb]),
             helper.make_node("Identity", ["scale"], [state_next])]
    graph = helper.make_graph(nodes, "other", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def open_trt(card, engine_path, said):
    from device.engines.engine import ENGINES, EngineOptions, open_trt_engine

    options = EngineOptions(card, resolve=lambda target: engine_path.parent / target,
                            status=said.append)
    return open_trt_engine(ENGINES.parse(f"trt://{engine_path.name}", registered=False),
                           options)


def viewer_feeds(card):
    from convert import viewer
    from device.engines import viewer_io

    # the default profile's smallest frame (an engine refuses a frame outside its profile)
    sample = viewer.random_samples(card.wavelengths_nm, size=(256, 256))[0]
    feeds = viewer.feeds_for(sample, card.wavelengths_nm)
    resident = {n: feeds.pop(n) for n in viewer_io.RESIDENT}
    return resident, feeds


def test_trt_builds_a_missing_engine_and_runs_like_onnxruntime(install_stand_ins, card,
                                                               tmp_path, caplog):
    """Two frames: the second without the state, which the engine carries over itself as
    onnxruntime does. What the build says goes to the status line and to the log."""
    import logging

    from device.engines import viewer_io
    from device.engines.engine import TrtEngine

    caplog.set_level(logging.INFO, logger="device.engines.engine")
    gpu = install_stand_ins("pycuda", integrated=True, version="10.3.0")
    engine_path, said = tmp_path / "edge.fp16.engine", []
    engine = open_trt(card, engine_path, said)
    assert isinstance(engine, TrtEngine) and engine.name == "TensorRT (edge.fp16.engine)"
    assert said[0] == f"rebuilding edge.fp16.engine: {engine_path} does not exist"
    assert caplog.messages == said
    assert set(engine.input_names) == set(viewer_io.input_names(card.wavelengths_nm))
    reference = OnnxEngine(card.viewer_graph)
    resident, feeds = viewer_feeds(card)
    for name, plane in resident.items():
        engine.set_resident(name, plane)
        reference.set_resident(name, plane)
    for frame in range(2):
        out = engine.run(feeds)[viewer_io.OUTPUT]
        # the same graph on the same runtime behind the stand-in engine: bit-exact
        np.testing.assert_array_equal(out, reference.run(feeds)[viewer_io.OUTPUT])
        feeds = {n: a for n, a in feeds.items() if n not in viewer_io.RECURRENT}
    assert gpu.count("build") == 1 and gpu.count("launch") == 2


def test_onnx_runs_the_graph_the_uri_names(card):
    from device.engines.engine import ENGINES, EngineOptions, open_onnx_engine

    options = EngineOptions(card, resolve=lambda target: card.path.parent / target,
                            status=print)
    engine = open_onnx_engine(ENGINES.parse(f"onnx://{card.viewer_fp16_onnx.name}",
                                            registered=False), options)
    assert engine.path == card.viewer_fp16_onnx


@pytest.mark.parametrize("failure", ["no GPU", "not the card's graph"])
def test_trt_falls_back_to_onnx_and_says_why(install_stand_ins, card, tmp_path, models,
                                             failure):
    from device.engines.trt_build import build_engine, write_sidecar

    engine_path, said = tmp_path / "edge.fp16.engine", []
    if failure == "no GPU":
        install_stand_ins("pycuda", present=False)
        why = ("TensorRT failed (pycuda cannot open the GPU (cuInit failed: no CUDA-capable "
               "device is detected))")
    else:
        # An engine of another graph, with a sidecar that says it is the card's: it loads,
        # and its inputs give it away (its outputs have the viewer graph's names).
        install_stand_ins(version="10.3.0")
        other = tmp_path / "other.onnx"
        onnx.save(other_graph_with_the_viewer_outputs(), str(other))
        from device.engines.trt_build import Profile
        build_engine(other, engine_path, profile=Profile.default(3), log=lambda line: None)
        write_sidecar(engine_path, card.viewer_graph, tensorrt_version="10.3.0",
                      strongly_typed=False, profile=Profile.default(3), workspace_mib=1024)
        why = (f"TensorRT failed ({engine_path}: not an engine of {card.viewer_graph.name} "
               f"(its inputs are dark, scale); delete it to have it rebuilt.)")
    engine = open_trt(card, engine_path, said)
    assert isinstance(engine, OnnxEngine) and engine.path == card.viewer_graph
    assert said[-1] == f"{why}; using ONNX {card.viewer_graph.name}"


def test_a_state_fed_in_any_float_layout_starts_the_filter(models, tmp_path):
    """The state the viewer feeds to start over may come as float64 or as a transposed view;
    onnxruntime's recurrent pair starts from its float32, C-ordered copy and carries it on."""
    path = tmp_path / "recurrent.onnx"
    onnx.save(models.recurrent(), str(path))
    engine = OnnxEngine(path)
    rng = np.random.default_rng(2)
    xs = [rng.uniform(0, 1, (1, 4, 6)).astype(np.float32) for _ in range(3)]
    start = rng.uniform(0, 1, (1, 6, 4)).transpose(0, 2, 1)          # float64, not C-ordered
    outs = [engine.run({"x": xs[0], "state": start})["y"]] + \
        [engine.run({"x": x})["y"] for x in xs[1:]]
    for out, want in zip(outs, models.recurrent_reference(xs, start.astype(np.float32))):
        np.testing.assert_allclose(out, want, rtol=1e-6)


def test_a_state_input_without_its_output_is_not_carried_over(models, tmp_path):
    """Only a graph with both halves of a recurrent pair (`state` in, `state_next` out) has its
    state kept in the engine. A graph that takes a `state` but gives none back treats it as a
    plain input: it must come with every frame, and a frame without it is refused (rather than
    run on a state nobody wrote)."""
    path = tmp_path / "takes_a_state.onnx"
    onnx.save(models.recurrent_pair([1, "H", "W"], False), str(path))
    engine = OnnxEngine(path)
    assert engine.recurrent == {} and engine.output_names == ("y",)
    x, s = np.ones((1, 2, 3), np.float32), np.full((1, 2, 3), 2.0, np.float32)
    np.testing.assert_array_equal(engine.run({"x": x, "state": s})["y"], x + s)
    with pytest.raises(UserError, match="no value for input state"):
        engine.run({"x": x})
