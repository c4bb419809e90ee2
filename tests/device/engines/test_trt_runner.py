"""The TensorRT runner on every CUDA call path, through the stand-ins in conftest.py: pycuda and
cuda-python, mapped (integrated GPU) and pinned (discrete) memory, TensorRT 8.5's bindings and
TensorRT 10's tensor addresses. Allocation happens once, not per frame; outputs are right."""
from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest

from device.common.errors import UserError
from device.engines.trt_runner import EngineRunner

FRAMES = 20


def frame(rng, h=8, w=12):
    return rng.integers(0, 4096, (1, 3, h, w)).astype(np.uint16)   # 12-bit camera counts


def calibration(rng, h=8, w=12):
    dark = rng.uniform(0, 40, (1, 3, h, w)).astype(np.float32)
    gain = rng.uniform(0.02, 0.08, (1, 3, 1, 1)).astype(np.float16)
    return dark, gain


def check(models, outputs, raw, dark, gain):
    expected = models.reference(raw, dark, gain)
    assert outputs.keys() == expected.keys()
    for name, value in expected.items():
        assert outputs[name].dtype == value.dtype and outputs[name].shape == value.shape
        # uint8 may round differently by one code at a .5 boundary; float16 to its precision.
        np.testing.assert_allclose(outputs[name].astype(np.float32), value.astype(np.float32),
                                   atol=1, rtol=1e-3)


def calibrated_runner(engine_file, models, rng):
    """A runner of the viewer-like engine with a random calibration resident."""
    runner = EngineRunner(engine_file(models.viewer_like()))
    dark, gain = calibration(rng)
    runner.set_resident("dark", dark)
    runner.set_resident("gain", gain)
    return runner, dark, gain


def allocations(gpu):
    return gpu.count("alloc_host") + gpu.count("alloc_device")


def test_twenty_frames_allocate_once_and_copy_only_pinned(gpu, engine_file, models):
    rng = np.random.default_rng(0)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    assert runner._cuda.name == gpu.flavour
    assert runner.mapped is gpu.integrated
    assert runner.input_names == ["raw", "dark", "gain"]
    assert runner.output_names == ["rgb8", "half"]

    after_warmup = None
    for i in range(FRAMES):
        raw = frame(rng)
        check(models, runner.run({"raw": raw}), raw, dark, gain)
        if i == 1:   # both buffer slots have been used once
            after_warmup = allocations(gpu)
    # 2 resident inputs + 2 slots x (raw, rgb8, half); device buffers too where not mapped.
    per_kind = 2 + 2 * 3
    assert gpu.count("alloc_host") == per_kind
    assert gpu.count("alloc_device") == (0 if gpu.integrated else per_kind)
    assert allocations(gpu) == after_warmup
    assert gpu.count("free_host") == gpu.count("free_device") == 0

    launches = [e[1] for e in gpu.log if e[0] == "launch"]
    api = "execute_async_v2" if gpu.trt_version.startswith("8.") else "execute_async_v3"
    assert launches == [api] * FRAMES
    copies = [e for e in gpu.log if e[0].startswith("copy_")]
    if gpu.integrated:
        assert copies == []        # zero-copy: the kernels read and write mapped host memory
    else:
        assert gpu.count("copy_h2d") == 2 + FRAMES          # calibration once, raw per frame
        assert gpu.count("copy_d2h") == 2 * FRAMES
        assert all(pinned for _, _, pinned in copies)     # never through pageable memory
    assert gpu.count("event_create") == 2                 # one per slot, re-recorded per frame
    runner.close()
    # cuda-python destroys them at close; pycuda's Event frees itself when collected.
    assert gpu.count("event_destroy") == (2 if gpu.flavour == "cuda-python" else 0)


def test_a_shape_change_reallocates_once(gpu, engine_file, models):
    rng = np.random.default_rng(1)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    for _ in range(4):
        raw = frame(rng)
        check(models, runner.run({"raw": raw}), raw, dark, gain)
    small = allocations(gpu)

    big_dark, _ = calibration(rng, 16, 24)
    runner.set_resident("dark", big_dark)
    for _ in range(6):
        raw = frame(rng, 16, 24)
        check(models, runner.run({"raw": raw}), raw, big_dark, gain)
    per_buffer = 1 if gpu.integrated else 2             # host, plus device where not mapped
    # dark once, and raw / rgb8 / half once in each of the two slots; gain kept its shape.
    assert allocations(gpu) - small == per_buffer * (1 + 2 * 3)
    assert gpu.count("free_host") == 1 + 2 * 3

    big = allocations(gpu)
    runner.set_resident("dark", dark)
    for _ in range(3):
        raw = frame(rng)
        check(models, runner.run({"raw": raw}), raw, dark, gain)
    assert allocations(gpu) == big
    runner.close()


def test_resident_inputs_upload_once_and_recalibrate_in_place(gpu, engine_file, models):
    rng = np.random.default_rng(2)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    uploads = gpu.count("copy_h2d")
    assert uploads == (0 if gpu.integrated else 2)
    raws = [frame(rng) for _ in range(FRAMES)]
    for raw in raws:
        runner.run({"raw": raw})
    # Each frame uploads its raw sub-frames and nothing else (nothing at all when mapped).
    assert gpu.count("copy_h2d") - uploads == (0 if gpu.integrated else FRAMES)

    before = allocations(gpu)
    new_dark = dark + 25
    runner.set_resident("dark", new_dark)              # recalibrated: same engine, new planes
    check(models, runner.run({"raw": raws[0]}), raws[0], new_dark, gain)
    assert allocations(gpu) == before
    # A per-frame value for a resident input is used for that frame only.
    check(models, runner.run({"raw": raws[1], "dark": dark}), raws[1], dark, gain)
    check(models, runner.run({"raw": raws[2]}), raws[2], new_dark, gain)
    runner.close()


def test_frame_n_plus_1_is_staged_while_frame_n_is_in_flight(gpu, engine_file, models):
    """The stand-in runs queued work only at synchronisation: if both frames shared one
    buffer, frame 1 would come back computed from frame 2's input."""
    rng = np.random.default_rng(3)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    raws = [frame(rng) for _ in range(6)]
    runner.submit({"raw": raws[0]})
    for i in range(1, len(raws)):
        runner.submit({"raw": raws[i]})
        check(models, runner.collect(), raws[i - 1], dark, gain)
    check(models, runner.collect(), raws[-1], dark, gain)

    runner.submit({"raw": raws[0]})
    runner.submit({"raw": raws[1]})
    with pytest.raises(RuntimeError, match=r"^collect\(\) a frame before submitting more than 2$"):
        runner.submit({"raw": raws[2]})
    runner.close()


def test_close_frees_every_buffer_and_the_stream(gpu, engine_file, models):
    rng = np.random.default_rng(4)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    for h, w in ((8, 12), (16, 24)):
        runner.set_resident("dark", calibration(rng, h, w)[0])
        runner.run({"raw": frame(rng, h, w)})
        runner.run({"raw": frame(rng, h, w)})
    assert gpu.live() > 0
    runner.close()
    assert gpu.live() == 0
    assert gpu.count("alloc_host") == gpu.count("free_host")
    assert gpu.count("alloc_device") == gpu.count("free_device")
    if gpu.flavour == "cuda-python":
        assert gpu.queues == {}                      # cudaStreamDestroy
    runner.close()                                   # twice is harmless
    with pytest.raises(RuntimeError, match="^the engine runner is closed$"):
        runner.run({"raw": frame(rng)})


@pytest.mark.parametrize("flavour", ["pycuda", "cuda-python", "cuda-python<12.6"])
def test_a_single_input_network_runs_through_each_cuda_module(install_stand_ins, engine_file,
                                                              models, flavour):
    install_stand_ins(flavour, integrated=False, version="11.0.0")
    x = np.random.default_rng(5).uniform(-2, 2, (2, 3, 8, 16)).astype(np.float32)
    with EngineRunner(engine_file(models.single_input())) as runner:
        y = runner.run({"nir": x})["rgb"]
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, np.tanh(x), rtol=1e-6)


def test_bad_feeds_and_engines_are_refused_in_one_sentence(install_stand_ins, engine_file,
                                                           models, tmp_path):
    install_stand_ins()
    runner = EngineRunner(engine_file(models.viewer_like()))
    rng = np.random.default_rng(6)
    dark, gain = calibration(rng)
    def refusal(call, *args):
        with pytest.raises(UserError) as caught:
            call(*args)
        return str(caught.value)

    assert refusal(runner.run, {"raw": frame(rng)}) == \
        "engine inputs are raw, dark, gain; missing dark, gain."
    runner.set_resident("dark", dark)
    runner.set_resident("gain", gain)
    assert refusal(runner.run, {"raw": frame(rng), "extra": frame(rng), "more": frame(rng)}) \
        == "engine inputs are raw, dark, gain; unknown extra, more."
    assert refusal(runner.run, {"raw": frame(rng).astype(np.float32)}) == \
        "input 'raw': the engine takes int32, not float32."
    assert refusal(runner.set_resident, "rgb8", dark) == \
        "'rgb8' is not an input of this engine (inputs: raw, dark, gain)."
    runner.close()
    broken = tmp_path / "broken.engine"
    broken.write_bytes(b"not an engine")
    assert refusal(EngineRunner, broken) == \
        f"{broken}: TensorRT 10.3.0 cannot load this engine; rebuild it with convert."


def test_a_tensorrt_version_without_a_number_is_refused_before_the_gpu_is_opened(
        install_stand_ins, engine_file, models, monkeypatch):
    gpu = install_stand_ins()
    monkeypatch.setattr(sys.modules["tensorrt"], "__version__", "dev")
    with pytest.raises(UserError) as caught:
        EngineRunner(engine_file(models.viewer_like()))
    assert str(caught.value) == "TensorRT reports a version without a number: 'dev'."
    assert gpu.queues == {}            # no CUDA stream was left behind


def test_converts_engine_check_runs_through_the_same_runner(install_stand_ins, engine_file):
    """convert's engine check as pipeline.build_engine runs it (viewer.fp16_viewer_psnr through
    viewer.engine_runner, calibration planes resident) with the shipped model's viewer graph as
    the stand-in engine: frame sizes change between samples, buffers follow."""
    from convert import viewer
    from device.engines.model_card import load_model_card
    from device.simulated.presets import SHIPPED_MODEL

    gpu = install_stand_ins("pycuda", integrated=True, version="10.3.0")
    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    samples = viewer.default_samples(card.wavelengths_nm)       # 64x80 and 57x75 frames
    reference = viewer.session_runner(card.viewer_onnx)
    with EngineRunner(engine_file(onnx.load(str(card.viewer_onnx)))) as runner:
        engine = viewer.engine_runner(runner)
        psnr = viewer.fp16_viewer_psnr(reference, engine, samples, card.wavelengths_nm,
                                       "stand-in")
        # The same graph on the same runtime behind the runner: bit-exact, not just >= 40 dB
        # (200 dB is psnr's floor for identical images). A byte lost or misplaced in a buffer,
        # a stale resident plane or a frame of the wrong size would show here.
        for sample in samples:
            feeds = viewer.feeds_for(sample, card.wavelengths_nm)
            assert np.array_equal(engine(feeds), reference(feeds)), sample.label
    assert psnr == 200.0
    assert gpu.count("launch") == 2 * len(samples) and gpu.live() == 0


def test_converts_engine_check_refuses_an_engine_off_by_four_codes(install_stand_ins,
                                                                   engine_file):
    """The engine bound (>= 40 dB against the FP32 viewer graph) on an engine whose sRGB
    mapping is off by 4/255: 20 log10(255 / 4) = 36.1 dB where nothing clips."""
    from convert import viewer
    from convert.viewer_graph import build_viewer_graph
    from device.engines.model_card import Affine, load_model_card
    from device.simulated.presets import SHIPPED_MODEL

    install_stand_ins("cuda-python", integrated=False, version="8.5.2.2")
    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    off = build_viewer_graph(onnx.load(str(card.onnx)), card.wavelengths_nm,
                             card.from_reflectance,
                             Affine(card.to_srgb.scale, card.to_srgb.offset + 4 / 255),
                             spatial_multiple=card.spatial_multiple)
    samples = viewer.default_samples(card.wavelengths_nm)
    with EngineRunner(engine_file(off, "off.engine")) as runner:
        with pytest.raises(UserError, match=r"TensorRT engine off\.engine reaches only "
                                            r"3[6-9]\.\d dB PSNR against the FP32 viewer graph"):
            viewer.fp16_viewer_psnr(viewer.session_runner(card.viewer_onnx),
                                    viewer.engine_runner(runner), samples,
                                    card.wavelengths_nm, "TensorRT engine off.engine")


# -- refusals: what the runner does when TensorRT says no ---------------------------------------
# The viewer-like engine "built" for frames from 8x8 to 16x24 (opt 8x12), every input of the
# frame's size; gain is static (1x3x1x1) and so fixed in any profile.
PROFILE = {name: ((1, 3, 8, 8), (1, 3, 8, 12), (1, 3, 16, 24)) for name in ("raw", "dark")}


def test_the_stand_in_reports_its_profile_as_tensorrt_does(install_stand_ins, engine_file,
                                                           models):
    """get_tensor_profile_shape (8.5, 10.x) and get_profile_shape (8.5) give [min, opt, max];
    set_input_shape says False outside it and keeps the shape it had."""
    install_stand_ins(version="8.5.2.2")
    import tensorrt as trt

    engine = trt.Runtime(trt.Logger()).deserialize_cuda_engine(
        engine_file(models.viewer_like(), profile=PROFILE).read_bytes())
    assert engine.get_tensor_profile_shape("raw", 0) == list(PROFILE["raw"])
    assert engine.get_profile_shape(0, 0) == list(PROFILE["raw"])
    assert engine.get_tensor_profile_shape("gain", 0) == [(1, 3, 1, 1)] * 3
    context = engine.create_execution_context()
    assert context.set_input_shape("raw", (1, 3, 16, 24)) is True
    for shape in ((1, 3, 16, 25), (1, 3, 4, 12), (2, 3, 8, 12), (1, 3, 8)):
        assert context.set_input_shape("raw", shape) is False
    assert context.get_tensor_shape("raw") == (1, 3, 16, 24)
    assert context.set_binding_shape(2, (1, 3, 2, 2)) is False        # gain is static


def test_a_frame_outside_the_profile_is_refused_and_nothing_runs(gpu, engine_file, models):
    rng = np.random.default_rng(7)
    runner = EngineRunner(engine_file(models.viewer_like(), profile=PROFILE))
    dark, gain = calibration(rng)
    runner.set_resident("gain", gain)
    runner.set_resident("dark", dark)
    raw = frame(rng)
    check(models, runner.run({"raw": raw}), raw, dark, gain)             # 8x12: inside
    for h, w in ((32, 48), (4, 4), (8, 25)):
        big_dark = calibration(rng, h, w)[0]
        with pytest.raises(UserError, match=rf"input '(raw|dark)' of shape 1x3x{h}x{w} is outside "
                                            r"the engine's optimisation profile"):
            runner.run({"raw": frame(rng, h, w), "dark": big_dark})
    # TensorRT kept the last good shape; had the runner gone on, it would have run the new
    # frame's buffers as 8x12 and returned a picture of the wrong size.
    assert gpu.count("launch") == 1 and gpu.count("trt_error") == 3
    raw = frame(rng, 16, 24)                                             # max: inside
    big_dark = calibration(rng, 16, 24)[0]
    check(models, runner.run({"raw": raw, "dark": big_dark}), raw, big_dark, gain)
    runner.close()


def test_a_failed_execute_is_refused_and_the_next_frame_runs(gpu, engine_file, models):
    rng = np.random.default_rng(8)
    runner, dark, gain = calibrated_runner(engine_file, models, rng)
    gpu.fail_execute = True
    with pytest.raises(UserError, match=r"^TensorRT failed to run the engine \(see its messages "
                                        r"above\)\.$"):
        runner.run({"raw": frame(rng)})
    with pytest.raises(RuntimeError, match="^collect\\(\\) without a submitted frame$"):
        runner.collect()                       # the failed frame left nothing to wait for
    for _ in range(3):                         # and no slot stuck: both slots cycle again
        raw = frame(rng)
        check(models, runner.run({"raw": raw}), raw, dark, gain)
    runner.close()
    assert gpu.live() == 0


# -- recurrent pairs: the temporal filter's state stays on the device ---------------------------
RECURRENT = {"state": "state_next"}


def test_a_recurrent_state_stays_on_the_device_and_swaps_every_frame(gpu, engine_file, models):
    """Ten frames, two of them in flight at a time: y = x + state, the state fed back each
    frame from the last frame's output without a copy either way; fed again, it starts over."""
    rng = np.random.default_rng(9)
    runner = EngineRunner(engine_file(models.recurrent()), recurrent=RECURRENT)
    assert runner.recurrent == RECURRENT
    xs = [rng.uniform(0, 1, (1, 6, 10)).astype(np.float32) for _ in range(10)]
    start = np.full((1, 6, 10), 4.0, np.float32)
    expected = models.recurrent_reference(xs, start)
    got = []
    runner.submit({"x": xs[0], "state": start})
    for x in xs[1:]:
        runner.submit({"x": x})                      # frame N+1 queued before N is collected
        got.append(runner.collect())
    got.append(runner.collect())
    assert all(set(out) == {"y"} for out in got)     # the state is not handed back
    for out, want in zip(got, expected):
        np.testing.assert_allclose(out["y"], want, rtol=1e-6)
    # Copies: the starting state once and x every frame up, y every frame down; nothing else.
    if gpu.integrated:
        assert gpu.count("copy_h2d") == gpu.count("copy_d2h") == 0
    else:
        assert gpu.count("copy_h2d") == 1 + len(xs) and gpu.count("copy_d2h") == len(xs)
    # two state buffers, allocated once
    assert gpu.count("alloc_host") == 2 + 2 * 2      # state x2, and x and y per slot
    zeros = np.zeros_like(start)
    out = runner.run({"x": xs[0], "state": zeros})   # start over
    np.testing.assert_allclose(out["y"], xs[0], rtol=1e-6)
    np.testing.assert_allclose(runner.run({"x": xs[1]})["y"], xs[1] + xs[0], rtol=1e-6)
    runner.close()
    assert gpu.live() == 0


def test_a_recurrent_input_never_fed_is_missing(install_stand_ins, engine_file, models):
    install_stand_ins()
    runner = EngineRunner(engine_file(models.recurrent()), recurrent=RECURRENT)
    with pytest.raises(UserError, match="missing state"):
        runner.run({"x": np.zeros((1, 4, 4), np.float32)})
    out = runner.run({"x": np.ones((1, 4, 4), np.float32),
                      "state": np.zeros((1, 4, 4), np.float32)})
    assert out["y"].tolist() == np.ones((1, 4, 4)).tolist()
    runner.close()


def test_onnxruntime_keeps_the_state_in_ortvalues(models, tmp_path):
    """The same through onnxruntime's IO binding: OrtValues swap every run, and run() hands
    back only y."""
    from device.engines.engine import OnnxEngine

    path = tmp_path / "recurrent.onnx"
    onnx.save(models.recurrent(), path)
    engine = OnnxEngine(path)
    assert engine.recurrent == RECURRENT
    rng = np.random.default_rng(10)
    xs = [rng.uniform(0, 1, (1, 5, 7)).astype(np.float32) for _ in range(6)]
    start = np.full((1, 5, 7), 2.0, np.float32)
    with pytest.raises(UserError, match="no value for input state"):
        engine.run({"x": xs[0]})
    outs = [engine.run({"x": xs[0], "state": start})] + [engine.run({"x": x}) for x in xs[1:]]
    assert all(set(out) == {"y"} for out in outs)
    for out, want in zip(outs, models.recurrent_reference(xs, start)):
        np.testing.assert_allclose(out["y"], want, rtol=1e-6)
    read, written = engine._state["state"]           # the values kept are distinct buffers
    assert read is not written


def test_the_viewer_graphs_filter_runs_the_same_on_both_backends(gpu, engine_file):
    """The shipped viewer graph with its temporal filter, driven by the viewer's Colorizer for
    eight noisy frames of a still print: through the TensorRT runner (the state in its two
    device buffers) every frame is the one onnxruntime gives (the state in OrtValues)."""
    from convert import viewer
    from device.engines import viewer_io
    from device.engines.engine import OnnxEngine
    from device.engines.model_card import load_model_card
    from device.simulated.presets import SHIPPED_MODEL
    from device.viewer.colorize import Colorizer
    from device.viewer.stats import StageTimes
    from device.viewer.strobe import SubFrame
    from device.viewer.window import TripletWindow

    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    sample = viewer.random_samples(card.wavelengths_nm)[0]          # 64x80, calibrated
    runner = EngineRunner(engine_file(onnx.load(str(card.viewer_onnx))),
                          recurrent=viewer_io.RECURRENT)

    class Trt:                        # the TrtEngine's own two lines around the runner
        name = "stand-in"
        input_names, output_names = tuple(runner.input_names), tuple(runner.output_names)
        set_resident, run = runner.set_resident, runner.run

    rng = np.random.default_rng(11)
    subs = [SubFrame(nm, np.clip(sample.raws[nm] + rng.normal(0, 8, sample.raws[nm].shape), 0,
                                 4095).astype(np.uint16), i, i, i)
            for i, nm in enumerate(card.wavelengths_nm * 4)]
    outputs = {}
    for label, engine in (("onnxruntime", OnnxEngine(card.viewer_onnx)), ("tensorrt", Trt())):
        colorizer = Colorizer(card, engine, sample.calibration, "none", 0.5, StageTimes(),
                              (64, 80), history=0.9)
        window, frames = TripletWindow(card.wavelengths_nm), []
        for sub in subs:
            triplet = window.add(sub)
            if triplet is not None:
                frames.append(colorizer(triplet).rgb)
        outputs[label] = frames
    assert len(outputs["tensorrt"]) == 10
    for a, b in zip(outputs["onnxruntime"], outputs["tensorrt"]):
        assert np.array_equal(a, b)
    assert not np.array_equal(outputs["tensorrt"][-1], outputs["tensorrt"][-2])   # it ran
    if not gpu.integrated:            # the state never came back to the host
        assert gpu.count("copy_d2h") == 10
    runner.close()


def test_a_state_that_does_not_come_back_in_its_shape_is_refused(install_stand_ins,
                                                                  engine_file, models):
    """The state given back must have the shape of the state fed in, or the next frame would
    read it as something else: a graph whose `state_next` follows the frame's size, fed a
    1 x 1 x 1 state, is refused naming both shapes and what to do."""
    install_stand_ins()
    runner = EngineRunner(engine_file(models.recurrent_pair([1, "h", "w"], True)),
                          recurrent=RECURRENT)
    assert runner.recurrent == RECURRENT
    with pytest.raises(UserError) as refused:
        runner.run({"x": np.ones((1, 4, 4), np.float32),
                    "state": np.zeros((1, 1, 1), np.float32)})
    assert str(refused.value) == ("'state_next' comes out (1, 4, 4) but 'state' is (1, 1, 1): "
                                  "feed 'state' again.")
    runner.close()


def test_a_state_input_without_its_output_is_fed_every_frame(install_stand_ins, engine_file,
                                                             models):
    """Only both halves of a pair make a recurrent state: a graph that takes a `state` but gives
    none back has it as a plain input, needed with every frame."""
    install_stand_ins()
    runner = EngineRunner(engine_file(models.recurrent_pair([1, "H", "W"], False)),
                          recurrent=RECURRENT)
    assert runner.recurrent == {}
    x, state = np.ones((1, 2, 3), np.float32), np.full((1, 2, 3), 2.0, np.float32)
    assert runner.run({"x": x, "state": state})["y"].tolist() == (x + state).tolist()
    with pytest.raises(UserError, match="missing state"):
        runner.run({"x": x})
    runner.close()
