"""Every parity bound refuses what it is there to refuse. Each check gets an input just past
its limit (a perturbed output, a perturbed graph, a NaN on one sample among good ones) and must
refuse it naming the sample, and the same input just inside the limit must pass: the limits are
the numbers in convert/bounds.py, convert/verify.py and convert/viewer.py, not looser ones.

The "network" is tanh on onnx.helper's graph (and torch.tanh on the PyTorch side), so the
expected numbers follow in closed form: a constant error d in the network's [-1, 1] range is an
error d/2 in sRGB [0, 1] (to_srgb = 0.5 x + 0.5, and tanh of [-1, 1] stays inside (-0.77,
0.77), so nothing clips): PSNR = -20 log10(d/2)."""
from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from convert import verify, viewer
from convert.bounds import FP16_MIN_PSNR_DB, worst_sample
from convert.viewer_graph import build_viewer_graph
from device.common.errors import UserError
from device.engines import viewer_io
from device.engines.model_card import Affine, load_model_card
from device.simulated.presets import SHIPPED_MODEL

TO_SRGB = Affine(0.5, 0.5)


def tanh_onnx(path, *, add: float = 0.0, nan_where_negative: bool = False):
    """nir -> tanh(nir) + add [+ 0 * log(nir): NaN wherever nir < 0]."""
    nodes = [helper.make_node("Tanh", ["nir"], ["t"]),
             helper.make_node("Add", ["t", "add"], ["rgb" if not nan_where_negative else "u"])]
    inits = [helper.make_tensor("add", TensorProto.FLOAT, [], [add])]
    if nan_where_negative:
        inits.append(helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]))
        nodes += [helper.make_node("Log", ["nir"], ["l"]),
                  helper.make_node("Mul", ["l", "zero"], ["z"]),
                  helper.make_node("Add", ["u", "z"], ["rgb"])]
    dims = ["N", 3, "H", "W"]
    graph = helper.make_graph(nodes, "tanh", [helper.make_tensor_value_info(
        "nir", TensorProto.FLOAT, dims)], [helper.make_tensor_value_info(
            "rgb", TensorProto.FLOAT, dims)], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                                ir_version=8), path)
    return path


def d_for_psnr(db: float) -> float:
    """The constant network-range error whose sRGB PSNR is `db`."""
    return 2 * 10 ** (-db / 20)


def test_the_worst_sample_rule_counts_nan_as_the_worst():
    scores = {"a": 50.0, "nan": float("nan"), "b": 45.0}
    for order in (["a", "nan", "b"], ["nan", "a", "b"], ["a", "b", "nan"]):
        samples = [verify.Sample(label, np.zeros(1)) for label in order]
        worst, label = worst_sample(samples, lambda s: scores[s.label])
        assert (worst, label) == (-math.inf, "nan")
    samples = [verify.Sample(label, np.zeros(1)) for label in ("a", "b")]
    assert worst_sample(samples, lambda s: scores[s.label]) == (45.0, "b")
    with pytest.raises(ValueError, match="^a parity bound needs at least one sample to hold "
                                         "the model to$"):         # no sample is no pass
        worst_sample([], lambda s: 100.0)


def test_onnx_session_is_the_cpu_reference():
    """The reference runs on onnxruntime's CPU provider alone, whatever else is installed
    (a GPU build of onnxruntime would otherwise pick CUDA for the reference too)."""
    import warnings

    from convert.bounds import onnx_session

    with warnings.catch_warnings():
        warnings.simplefilter("error")     # onnxruntime warns of a provider it does not have
        assert onnx_session(SHIPPED_MODEL).get_providers() == ["CPUExecutionProvider"]


@pytest.fixture
def onnxruntime_default_logging():
    """onnxruntime's process-wide log level as a fresh process has it, WARNING (2), whatever
    ran before: importing onnxslim (convert.export does) sets it to ERROR (3) for the whole
    process, and there is no getter. Put back afterwards: 3 once onnxslim is imported."""
    import sys

    import onnxruntime as ort

    ort.set_default_logger_severity(2)
    yield ort
    ort.set_default_logger_severity(3 if "onnxslim" in sys.modules else 2)


def test_onnx_session_keeps_onnxruntimes_warnings_out_of_converts_output(
        tmp_path, capfd, onnxruntime_default_logging):
    """onnxruntime's warning-level notes (FP16 Cast notes on older builds; here one it prints
    for any graph with an unused initializer) are not errors: the reference session keeps them
    off stderr, where convert's own messages go, also in a process that never imported
    onnxslim (`python -m convert.viewer`). The same graph, opened with onnxruntime's defaults,
    shows that the note is printed there (to fd 2, by onnxruntime's C++ logger)."""
    from convert.bounds import onnx_session

    ort = onnxruntime_default_logging
    model = onnx.load(tanh_onnx(tmp_path / "t.onnx"))
    model.graph.initializer.append(helper.make_tensor("unused", TensorProto.FLOAT, [], [1.0]))
    onnx.save(model, tmp_path / "noted.onnx")
    capfd.readouterr()
    ort.InferenceSession(str(tmp_path / "noted.onnx"), providers=["CPUExecutionProvider"])
    assert "Removing initializer 'unused'" in capfd.readouterr().err
    session = onnx_session(tmp_path / "noted.onnx")
    assert capfd.readouterr().err == ""
    x = np.full((1, 3, 2, 2), 0.5, np.float32)
    assert np.allclose(verify.run_onnx(session, x), np.tanh(x))


# -- FP32 ONNX vs PyTorch: max abs error <= FP32_MAX_ABS ------------------------------------------
def test_fp32_bound_refuses_an_error_just_above_it_and_passes_one_below(tmp_path):
    samples = verify.random_samples(3, 16)
    model = torch.nn.Tanh()
    inside = verify.fp32_max_abs_error(model, tanh_onnx(tmp_path / "in.onnx", add=5e-5), samples)
    assert inside == pytest.approx(5e-5, rel=0.05)
    with pytest.raises(UserError, match=r"FP32 ONNX differs from PyTorch by 0\.0002 \(max abs, "
                                        r"on random 2x3x48x80\), above the 0\.0001 allowed"):
        verify.fp32_max_abs_error(model, tanh_onnx(tmp_path / "out.onnx", add=2e-4), samples)


@pytest.mark.parametrize("nan_first", [True, False])
def test_fp32_bound_refuses_nan_on_one_sample_among_exact_ones(tmp_path, nan_first):
    good = verify.Sample("positive", np.full((1, 3, 16, 16), 0.5, np.float32))
    bad = verify.Sample("negative", np.full((1, 3, 16, 16), -0.5, np.float32))
    samples = [bad, good] if nan_first else [good, bad]
    path = tanh_onnx(tmp_path / "nan.onnx", nan_where_negative=True)
    with pytest.raises(UserError, match=r"by inf \(max abs, on negative\)"):
        verify.fp32_max_abs_error(torch.nn.Tanh(), path, samples)
    assert verify.fp32_max_abs_error(torch.nn.Tanh(), path, [good]) < 1e-6


def test_fp32_bound_needs_a_sample(tmp_path):
    """No sample is no pass: the FP32 check follows the same worst-sample rule as the others."""
    with pytest.raises(ValueError, match="needs at least one sample"):
        verify.fp32_max_abs_error(torch.nn.Tanh(), tanh_onnx(tmp_path / "t.onnx"), [])


def test_fp32_check_refuses_a_network_that_itself_outputs_nan(tmp_path):
    class Diverged(torch.nn.Module):
        def forward(self, x):
            return torch.tanh(x) * float("nan")

    with pytest.raises(UserError, match="outputs NaN or infinity on random"):
        verify.fp32_max_abs_error(Diverged(), tanh_onnx(tmp_path / "t.onnx"),
                                  verify.random_samples(3, 16))


# -- FP16 network vs FP32 ONNX: PSNR >= 40 dB ---------------------------------------------------
def test_fp16_bound_is_40_db_of_srgb(tmp_path):
    reference = tanh_onnx(tmp_path / "ref.onnx")
    samples = verify.random_samples(3, 16)
    for db in (40.5, 39.5):
        d = d_for_psnr(db)
        infer = lambda x: np.tanh(x) + d   # noqa: E731  (what an FP16 network off by d gives)
        if db > FP16_MIN_PSNR_DB:
            assert verify.fp16_psnr(reference, infer, samples, TO_SRGB, "FP16") == \
                pytest.approx(db, abs=0.01)
        else:
            with pytest.raises(UserError, match=r"FP16 reaches only 39\.5 dB PSNR against the "
                                                r"FP32 ONNX \(on random 2x3x48x80\), under the "
                                                r"40 dB required"):
                verify.fp16_psnr(reference, infer, samples, TO_SRGB, "FP16")


def test_fp16_bound_passes_exactly_40_db(tmp_path):
    """The bound is >= 40 dB, inclusive. Exactly 40 dB, built to be exact in float arithmetic:
    on a zero output (sRGB 0.5), 12288 of 30000 values off by 2^-5 in the network's range,
    2^-6 in sRGB (both exact in float32), give a squared-error sum of 12288 x 2^-12 = 3 and a
    mean of 3 / 30000 = 1e-4 (division correctly rounded), so PSNR = 10 log10(1 / 1e-4) = 40."""
    assert 10 * np.log10(1.0 / (3.0 / 30000)) == 40.0, "this libm's log10(1e4) is not 4"
    reference = tanh_onnx(tmp_path / "ref.onnx")
    sample = verify.Sample("zeros", np.zeros((1, 3, 100, 100), np.float32))   # tanh(0) = 0

    def infer(x):
        y = np.tanh(x)
        y.ravel()[:12288] = 2.0 ** -5
        return y

    assert verify.fp16_psnr(reference, infer, [sample], TO_SRGB, "FP16") == 40.0


@pytest.mark.parametrize("nan_on", ["first", "last", "every"])
def test_fp16_bound_refuses_nan_on_any_sample(tmp_path, nan_on):
    reference = tanh_onnx(tmp_path / "ref.onnx")
    samples = verify.random_samples(3, 16)
    poisoned = {"first": {0}, "last": {1}, "every": {0, 1}}[nan_on]
    labels = {id(s.nir): i for i, s in enumerate(samples)}

    def infer(x):
        y = np.tanh(x)
        if labels[id(x)] in poisoned:
            y = y.copy()
            y[0, 0, 0, 0] = np.nan         # one NaN pixel is enough
        return y

    # A NaN scores as the worst possible, -inf dB, and the message names a poisoned sample.
    with pytest.raises(UserError, match=r"FP16 reaches only -inf dB .* \(on ("
                                        + "|".join(samples[i].label for i in poisoned) + r")\)"):
        verify.fp16_psnr(reference, infer, samples, TO_SRGB, "FP16")


# -- viewer graph vs the classic path: within one code on >= 99.9 % of pixel channels ----------
@pytest.fixture(scope="module")
def mappings():
    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    return viewer.Mappings(card.wavelengths_nm, card.from_reflectance, card.to_srgb,
                           card.spatial_multiple)


def network(x):
    return np.tanh(x)


def sample_key(feeds, mappings):
    """Which sample a feed dict was made from: its raw frame (calibrated and uncalibrated
    samples share it) and its per-sub-frame scale (1 only when calibrated)."""
    return id(feeds[viewer_io.raw_name(mappings.wavelengths_nm[0])]), \
        feeds[viewer_io.SCALE].tobytes()


@pytest.fixture(scope="module")
def samples_and_classic(mappings):
    samples = viewer.default_samples(mappings.wavelengths_nm)
    classic = {sample_key(viewer.feeds_for(s, mappings.wavelengths_nm), mappings):
               viewer.classic_reference(s, network, mappings) for s in samples}
    assert len(classic) == len(samples)
    return samples, classic


def shifted_classic(mappings, classic, codes: int, fraction: float):
    """A viewer graph's stand-in: the classic path's codes, `codes` higher on the first
    `fraction` of pixel channels of every sample (uint8 clipped)."""
    def infer(feeds):
        expected = classic[sample_key(feeds, mappings)]
        out = expected.astype(np.int16).ravel()
        count = int(round(fraction * out.size))
        out[:count] += codes
        return np.clip(out, 0, 255).astype(np.uint8).reshape(expected.shape)
    return infer


def test_within_one_code_means_one_code_on_999_of_1000(mappings, samples_and_classic):
    samples, classic = samples_and_classic
    check = lambda infer: viewer.within_one_code(infer, network, samples, mappings,  # noqa: E731
                                                 "graph")
    assert check(shifted_classic(mappings, classic, 1, 1.0)) == 1.0      # one code: the rule
    assert check(shifted_classic(mappings, classic, 2, 0.0005)) == pytest.approx(0.9995,
                                                                             abs=1e-4)
    with pytest.raises(UserError, match=r"graph is within one code of the classic path on only "
                                        r"99\.80 % of pixels \(on random \d+x\d+ (un)?calibrated\), "
                                        r"under the 99\.9 % required"):
        check(shifted_classic(mappings, classic, 2, 0.002))


def test_within_one_code_refuses_a_graph_whose_srgb_mapping_is_off(tmp_path, mappings,
                                                                  samples_and_classic):
    """convert's own check of a viewer graph built around the network, right and perturbed:
    sRGB offset by 2 codes (its output mapping off by 2/255) is refused."""
    samples, _ = samples_and_classic
    network_path = tanh_onnx(tmp_path / "net.onnx")
    results = {}
    for label, offset in (("right", 0.0), ("off by two codes", 2 / 255)):
        to_srgb = Affine(mappings.to_srgb.scale, mappings.to_srgb.offset + offset)
        path = tmp_path / f"{label}.onnx"
        onnx.save(build_viewer_graph(onnx.load(network_path), mappings.wavelengths_nm,
                                     mappings.from_reflectance, to_srgb,
                                     spatial_multiple=mappings.spatial_multiple), path)
        try:
            results[label] = viewer.within_one_code(viewer.session_runner(path), network,
                                                    samples, mappings, label)
        except UserError as refused:
            results[label] = str(refused)
    assert results["right"] >= viewer.MIN_WITHIN_ONE_CODE
    assert "off by two codes is within one code of the classic path on only" in \
        results["off by two codes"]


def test_within_one_code_refuses_a_wrong_output_shape(mappings, samples_and_classic):
    samples, classic = samples_and_classic
    with pytest.raises(UserError, match=r"gives \(64, 80\) on random 64x80 calibrated, not "
                                        r"\(64, 80, 3\)"):
        viewer.within_one_code(lambda feeds: shifted_classic(mappings, classic, 0, 0)(feeds)
                               [..., 0], network, samples, mappings, "graph")


# -- FP16 viewer graph (and engine) vs the FP32 viewer graph: PSNR >= 40 dB ---------------------
def test_fp16_viewer_bound_is_40_db_and_refuses_nan(mappings, samples_and_classic):
    samples, classic = samples_and_classic
    fp32 = shifted_classic(mappings, classic, 0, 0.0)
    # A constant error of c codes: PSNR = 20 log10(255 / c); 2 codes 42.1 dB, 3 codes 38.6 dB.
    shifted = lambda c: lambda feeds: fp32(feeds).astype(np.float32) + c   # noqa: E731
    assert viewer.fp16_viewer_psnr(fp32, shifted(2), samples, mappings.wavelengths_nm, "FP16") \
        == pytest.approx(20 * math.log10(255 / 2), abs=1e-6)
    with pytest.raises(UserError, match=r"FP16 reaches only 38\.6 dB PSNR against the FP32 "
                                        r"viewer graph \(on random "):
        viewer.fp16_viewer_psnr(fp32, shifted(3), samples, mappings.wavelengths_nm, "FP16")

    def nan_on_the_last(feeds):       # float32 codes (TensorRT 8.5's output), one NaN
        out = fp32(feeds).astype(np.float32)
        if sample_key(feeds, mappings) == sample_key(
                viewer.feeds_for(samples[-1], mappings.wavelengths_nm), mappings):
            out[0, 0, 0] = np.nan
        return out

    with pytest.raises(UserError, match=rf"FP16 reaches only -inf dB .* \(on "
                                        rf"{samples[-1].label}\)"):
        viewer.fp16_viewer_psnr(fp32, nan_on_the_last, samples, mappings.wavelengths_nm,
                                "FP16")


# -- the samples the bounds are measured on -----------------------------------------------------
def test_random_samples_are_two_batches_at_the_networks_multiple():
    samples = verify.random_samples(3, 16, seed=4)
    assert [s.label for s in samples] == ["random 2x3x48x80", "ramp 1x3x48x80"]
    uniform, ramp = (s.nir for s in samples)
    assert uniform.dtype == ramp.dtype == np.float32 and uniform.shape == (2, 3, 48, 80)
    assert -1 <= uniform.min() < -0.99 and 0.99 < uniform.max() <= 1     # the whole range
    assert np.array_equal(uniform, verify.random_sample_of_shape((2, 3, 48, 80), 4).nir)
    assert np.array_equal(ramp[0, 2, 17], np.linspace(-1, 1, 80, dtype=np.float32))
    assert ramp.flags.c_contiguous
    assert verify.random_samples(3, 5)[0].nir.shape == (2, 3, 50, 80)   # H, W rounded up
    assert verify.random_samples(1, 1)[0].nir.shape == (2, 1, 48, 80)
    # A multiple above 48 x 80: one multiple each way, not more (a 7-level U-Net's 128).
    assert verify.random_samples(1, 96)[0].nir.shape == (2, 1, 96, 96)
    assert verify.random_samples(1, 128)[1].nir.shape == (1, 1, 128, 128)


def test_capture_samples_are_centre_crops_mapped_to_the_networks_range(tiny_capture_set):
    from device.captures import CaptureSet

    mapping = Affine(2.0, -1.0)
    captures = CaptureSet.open(tiny_capture_set)
    samples = verify.capture_samples(tiny_capture_set, [807, 718, 777], mapping, 16)
    split = captures.split
    order = split.get("test", []) + split.get("val", []) + split.get("train", [])
    assert [s.label for s in samples] == [f"capture {scene}"
                                          for scene in order[:verify.REAL_SCENES]]
    first = samples[0]
    nir = captures.load_nir(order[0], [807, 718, 777])         # 64 x 64: no crop needed
    assert first.nir.shape == (1, 3, 64, 64) and first.nir.dtype == np.float32
    np.testing.assert_allclose(first.nir[0], (nir * 2.0 - 1.0).transpose(2, 0, 1), rtol=1e-6)
    # A multiple that does not divide 64: the centred 48 x 48.
    crop = verify.capture_samples(tiny_capture_set, [718], mapping, 24)[0].nir[0, 0]
    np.testing.assert_allclose(crop, captures.load_nir(order[0], [718])[8:56, 8:56, 0] * 2 - 1,
                               rtol=1e-6)
    with pytest.raises(UserError, match=r"capture set has no 850 nm captures, which the "
                                        r"checkpoint takes as input"):
        verify.capture_samples(tiny_capture_set, [718, 850], mapping, 16)
    with pytest.raises(UserError, match=r"capture set has no 850 nm, 910 nm captures, which"):
        verify.capture_samples(tiny_capture_set, [850, 718, 910], mapping, 16)
    with pytest.raises(UserError, match=r"captures of 64x64 px are smaller than the 128 px the "
                                        r"network needs"):
        verify.capture_samples(tiny_capture_set, [718], mapping, 128)


def test_the_centre_crop_of_a_capture_that_is_not_square():
    """Rows and columns each keep the largest multiple that fits the side, centred; a capture
    narrower than one multiple in either direction is refused naming its size."""
    image = np.arange(100 * 60).reshape(100, 60, 1)
    crop = verify._centre_crop(image, 256, 16)           # 96 x 48 out of 100 x 60
    assert np.array_equal(crop, image[2:98, 6:54])
    assert np.array_equal(verify._centre_crop(image, 64, 16), image[18:82, 6:54])
    for shape in ((300, 40, 1), (40, 300, 1)):
        with pytest.raises(UserError, match=rf"^captures of {shape[0]}x{shape[1]} px are smaller "
                                            r"than the 64 px the network needs\.$"):
            verify._centre_crop(np.zeros(shape), 256, 64)


def test_psnr_is_of_the_images_as_shown_clipped_to_the_srgb_range():
    """Values the display clips (below 0 or above 1 in sRGB) differ only where they show."""
    reference = np.array([-3.0, -2.0, 0.0, 2.0, 3.0])          # sRGB -1, -0.5, 0.5, 1.5, 2
    same_on_screen = np.array([-5.0, -1.0, 0.0, 1.0, 9.0])     # sRGB -2, 0, 0.5, 1, 5
    assert verify.psnr_db(reference, same_on_screen, TO_SRGB) == 200.0
    one_step = np.array([-3.0, -2.0, 0.02, 2.0, 3.0])          # 0.01 off in one of five
    assert verify.psnr_db(reference, one_step, TO_SRGB) == pytest.approx(
        10 * math.log10(5 / 0.01 ** 2))
