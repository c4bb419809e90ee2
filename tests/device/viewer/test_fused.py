"""The viewer graph against the classic per-pixel path, on real sim captures: the shipped edge
model's viewer graph (onnxruntime) gives the classic path's 8-bit pixels, recalibrates without
a rebuild, works uncalibrated, and is what the viewer runs."""
import numpy as np
import pytest

from convert.viewer import (FP16_MIN_PSNR_DB, MIN_WITHIN_ONE_CODE, Mappings, ViewerSample,
                            capture_samples, first_frame_feeds, fp16_viewer_psnr, srgb_psnr_db,
                            within_one_code)
from device.captures import CaptureSet
from device.common.errors import UserError
from device.engines import viewer_io
from device.engines.engine import OnnxEngine
from device.engines.model_card import load_model_card
from device.viewer.classic import ClassicColorizer
from device.viewer.colorize import Colorizer
from device.viewer.preprocess import Calibration, Normaliser
from device.viewer.stats import StageTimes
from device.viewer.strobe import SubFrame
from device.viewer.window import Triplet


@pytest.fixture(scope="module")
def card(model_onnx):
    return load_model_card(model_onnx.with_suffix(".json"))


@pytest.fixture(scope="module")
def engines(card):
    """(network, FP32 viewer graph, FP16 viewer graph), each in onnxruntime."""
    return OnnxEngine(card.onnx), OnnxEngine(card.viewer_onnx), OnnxEngine(card.viewer_fp16_onnx)


def calibration_of(captures, wavelengths) -> Calibration:
    refs = captures.references()
    return Calibration(refs["dark"], {nm: refs["white"][nm] for nm in wavelengths})


def triplets(captures, wavelengths):
    """Each scene's raw captures as the camera gives them (uint16), as one triplet."""
    seq = 0
    for scene in captures.scenes:
        frames = {}
        for nm in wavelengths:
            seq += 1
            frames[nm] = SubFrame(nm, captures.load_raw(scene, nm), seq * 0.01, seq * 0.01, seq)
        yield scene, Triplet(frames, frames[wavelengths[-1]])


def side_by_side(card, engines, calibration, captures, viewer):
    """(scene, fused rgb, classic rgb) per scene, alignment off on both paths (the estimate is
    not per-pixel work; the warp itself is held to cv2 in the next test)."""
    network, *_ = engines
    fused = Colorizer(card, viewer, calibration, "none", 0.25, StageTimes(), captures.size)
    classic = ClassicColorizer(card, network, Normaliser(calibration), "none", 0.25,
                               StageTimes())
    for scene, triplet in triplets(captures, card.wavelengths_nm):
        yield scene, fused(triplet).rgb, classic(triplet).rgb


@pytest.mark.parametrize("calibrated", [True, False])
def test_fused_fp32_matches_the_classic_path_on_sim_captures(card, engines, tiny_capture_set,
                                                             calibrated):
    captures = CaptureSet.open(tiny_capture_set)
    calibration = calibration_of(captures, card.wavelengths_nm) if calibrated else None
    fractions = []
    for scene, got, expected in side_by_side(card, engines, calibration, captures, engines[1]):
        assert got.dtype == np.uint8 and got.shape == (*captures.size, 3)
        fractions.append(np.mean(np.abs(got.astype(int) - expected.astype(int)) <= 1))
    # measured: 100 % of pixels within one code on every scene (max difference 1)
    assert min(fractions) >= MIN_WITHIN_ONE_CODE


def test_fused_fp16_within_the_fp16_bound_on_sim_captures(card, engines, tiny_capture_set):
    captures = CaptureSet.open(tiny_capture_set)
    calibration = calibration_of(captures, card.wavelengths_nm)
    psnr = [srgb_psnr_db(expected, got) for _, got, expected
            in side_by_side(card, engines, calibration, captures, engines[2])]
    assert min(psnr) >= FP16_MIN_PSNR_DB


def test_in_graph_warp_matches_cv2_on_sim_captures(card, engines, tiny_capture_set):
    """Real captures moved by known sub-pixel shifts: the graph's warp against cv2.warpAffine,
    in FP32 (one code) and FP16 (PSNR)."""
    network, fp32, fp16 = engines
    samples = capture_samples(tiny_capture_set, card.wavelengths_nm, card.spatial_multiple)
    mappings = Mappings(card.wavelengths_nm, card.from_reflectance, card.to_srgb,
                        card.spatial_multiple)
    run = lambda engine: lambda feeds: engine.run(feeds)[viewer_io.OUTPUT]   # noqa: E731
    assert within_one_code(run(fp32), network.infer, samples, mappings, "fp32") \
        >= MIN_WITHIN_ONE_CODE
    assert fp16_viewer_psnr(run(fp32), run(fp16), samples, card.wavelengths_nm, "fp16") \
        >= FP16_MIN_PSNR_DB


ODD_SIZE = (50, 61)     # H, W inside the 64x64 captures; 16 divides neither


def crop_triplet(triplet: Triplet, size) -> Triplet:
    h, w = size
    frames = {nm: SubFrame(sub.nm, sub.image[:h, :w], sub.exposure_start, sub.exposure_end,
                           sub.seq) for nm, sub in triplet.frames.items()}
    return Triplet(frames, frames[triplet.newest.nm])


@pytest.mark.parametrize("calibrated", [True, False])
def test_fused_pads_a_frame_size_off_the_multiple_as_the_classic_path(card, engines,
                                                                      tiny_capture_set,
                                                                      calibrated):
    """A camera whose frame the network's multiple does not divide (1080 rows, 16): the graph
    pads to 64x64 with the replicated border and crops back, as the classic path does with
    cv2.copyMakeBorder; both give H x W x 3 within one code."""
    captures = CaptureSet.open(tiny_capture_set)
    h, w = ODD_SIZE
    assert h % card.spatial_multiple and w % card.spatial_multiple
    calibration = None
    if calibrated:
        full = calibration_of(captures, card.wavelengths_nm)
        calibration = Calibration(full.dark[:h, :w], {nm: white[:h, :w]
                                                      for nm, white in full.whites.items()})
    network, viewer, _ = engines
    fused = Colorizer(card, viewer, calibration, "none", 0.25, StageTimes(), ODD_SIZE)
    classic = ClassicColorizer(card, network, Normaliser(calibration), "none", 0.25,
                               StageTimes())
    fractions = []
    for _, triplet in triplets(captures, card.wavelengths_nm):
        triplet = crop_triplet(triplet, ODD_SIZE)
        got, expected = fused(triplet).rgb, classic(triplet).rgb
        assert got.shape == expected.shape == (h, w, 3) and got.dtype == np.uint8
        fractions.append(np.mean(np.abs(got.astype(int) - expected.astype(int)) <= 1))
    assert min(fractions) >= MIN_WITHIN_ONE_CODE


def test_in_graph_warp_pads_the_warped_planes_at_a_size_off_the_multiple(card, engines,
                                                                         tiny_capture_set):
    """With sub-pixel warps the pad must repeat the *warped* last row and column (what the
    classic path pads after cv2.warpAffine), not sample the plane beyond the frame."""
    network, fp32, _ = engines
    h, w = ODD_SIZE
    samples = [ViewerSample(s.label, {nm: raw[:h, :w] for nm, raw in s.raws.items()},
                            Calibration(s.calibration.dark[:h, :w],
                                        {nm: white[:h, :w]
                                         for nm, white in s.calibration.whites.items()}),
                            s.onto_newest)
               for s in capture_samples(tiny_capture_set, card.wavelengths_nm,
                                        card.spatial_multiple)]
    mappings = Mappings(card.wavelengths_nm, card.from_reflectance, card.to_srgb,
                        card.spatial_multiple)
    assert within_one_code(lambda feeds: fp32.run(feeds)[viewer_io.OUTPUT], network.infer,
                           samples, mappings, "fp32") >= MIN_WITHIN_ONE_CODE


def test_recalibration_changes_the_picture_without_a_rebuild(card, engines, tiny_capture_set):
    captures = CaptureSet.open(tiny_capture_set)
    network, viewer, _ = engines
    first = calibration_of(captures, card.wavelengths_nm)
    # A recalibration: the 718 nm LED has aged and gives 30 % less light.
    second = Calibration(first.dark, {**first.whites,
                                      718: first.dark + 0.7 * (first.whites[718] - first.dark)})
    fused = Colorizer(card, viewer, first, "none", 0.25, StageTimes(), captures.size)
    session = viewer._session
    _, triplet = next(triplets(captures, card.wavelengths_nm))
    before = fused(triplet).rgb
    fused.recalibrate(second)
    after = fused(triplet).rgb
    assert fused.engine is viewer and viewer._session is session       # same engine, same session
    assert np.abs(after.astype(int) - before.astype(int)).mean() > 2
    expected = ClassicColorizer(card, network, Normaliser(second), "none", 0.25,
                                StageTimes())(triplet).rgb
    assert np.mean(np.abs(after.astype(int) - expected.astype(int)) <= 1) >= MIN_WITHIN_ONE_CODE


def test_resident_inputs_stay_until_set_again(card):
    engine = OnnxEngine(card.viewer_onnx)
    h, w = 32, 48
    raw = {viewer_io.raw_name(nm): np.full((h, w), 500, np.float32) for nm in card.wavelengths_nm}
    frame = {**raw, viewer_io.SCALE: np.ones((3, 1, 1), np.float32),
             viewer_io.WARP: viewer_io.identity_warps(3), **first_frame_feeds(3, (h, w))}
    with pytest.raises(UserError, match="no value for input dark, gain"):
        engine.run(frame)
    engine.set_resident(viewer_io.DARK, np.full((h, w), 100, np.float32))
    engine.set_resident(viewer_io.GAIN, np.full((3, h, w), 1 / 400, np.float32))   # white 1.0
    white = engine.run(frame)[viewer_io.OUTPUT]
    assert engine.run(frame)[viewer_io.OUTPUT].tolist() == white.tolist()   # kept between runs
    engine.set_resident(viewer_io.GAIN, np.full((3, h, w), 1 / 4000, np.float32))  # grey 0.1
    assert white.mean() > engine.run(frame)[viewer_io.OUTPUT].mean() + 50
    with pytest.raises(UserError, match="no input 'nir'"):
        engine.set_resident("nir", np.zeros(1, np.float32))
