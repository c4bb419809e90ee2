"""Preprocessing: alignment recovers known motion, calibration round-trips, normalisation maps
paper white to 1, and the triplet window's rate."""
import cv2
import numpy as np
import pytest

from device.common.errors import UserError
from device.viewer.strobe import LedExposure
from device.viewer.preprocess import Aligner, Calibration, Normaliser, WhiteNoise, estimate_shift
from device.viewer.strobe import SubFrame
from device.viewer.window import TripletWindow


def textured(size=(96, 128), seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.random((size[0] // 8, size[1] // 8)).astype(np.float32)
    return cv2.resize(noise, size[::-1], interpolation=cv2.INTER_CUBIC)


@pytest.mark.parametrize("method", ["phase", "ecc"])
def test_alignment_recovers_a_shift_despite_a_brightness_change(method):
    ref = textured()
    shifted = np.float32([[1, 0, 3.0], [0, 1, -2.0]])
    moving = cv2.warpAffine(ref, shifted, ref.shape[::-1], borderMode=cv2.BORDER_REFLECT101)
    moving = 0.6 * moving + 0.1                      # another LED: another brightness
    warp = estimate_shift(ref, moving, method, 0.5)
    assert warp[:, 2] == pytest.approx([-3.0, 2.0], abs=0.5)
    aligned = Aligner(method, 0.5)({1: moving, 2: ref})[1]
    inner = (slice(8, -8), slice(8, -8))
    before = np.corrcoef(ref[inner].ravel(), moving[inner].ravel())[0, 1]
    after = np.corrcoef(ref[inner].ravel(), aligned[inner].ravel())[0, 1]
    assert after > 0.98 > before


def test_aligner_composes_cached_pairs_along_the_sliding_window():
    base = textured()
    h, w = base.shape
    # The print drifts 1.5 px right per sub-frame; each LED sees its own brightness.
    frames = {seq: cv2.warpAffine(base, np.float32([[1, 0, 1.5 * seq], [0, 1, 0]]), (w, h),
                                  borderMode=cv2.BORDER_REFLECT101) * (0.5 + 0.2 * (seq % 3))
              for seq in range(1, 7)}
    aligner = Aligner("ecc", 0.5)
    inner = (slice(10, -10), slice(12, -12))
    for newest in range(3, 7):
        window = {s: frames[s] for s in (newest - 2, newest - 1, newest)}
        aligned = aligner(window)
        assert aligned[newest] is frames[newest]
        for seq in (newest - 2, newest - 1):
            # undo the brightness, compare with the newest frame's picture
            scale = (0.5 + 0.2 * (newest % 3)) / (0.5 + 0.2 * (seq % 3))
            error = np.abs(aligned[seq][inner] * scale - frames[newest][inner]).mean()
            assert error < 0.02 * frames[newest][inner].mean()


def test_calibration_round_trip_and_refusals(tmp_path):
    dark = np.full((4, 6), 64, np.float32)
    exposures = {718: LedExposure(0.012, 1.0), 777: LedExposure(0.025, 1.5)}
    noise = {718: WhiteNoise(0.018, 0.001), 777: WhiteNoise(0.022, 0.002)}
    cal = Calibration(dark, {718: dark + 300, 777: dark + 200}, exposures, noise)
    cal.save(tmp_path / "cal.npz")
    back = Calibration.load(tmp_path / "cal.npz", (718, 777), (4, 6))
    assert np.array_equal(back.whites[777], dark + 200)
    assert back.exposures == exposures and back.noise == noise
    with pytest.raises(UserError, match="lacks white_807"):
        Calibration.load(tmp_path / "cal.npz", (718, 777, 807), (4, 6))
    with pytest.raises(UserError, match="camera is 8x4"):
        Calibration.load(tmp_path / "cal.npz", (718, 777), (4, 8))
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(UserError, match="not a readable calibration"):
        Calibration.load(tmp_path / "bad.npz", (718,), (4, 6))


def test_calibration_from_before_automatic_exposure_is_refused_in_one_sentence(tmp_path):
    """A file of the earlier format (dark and whites only) cannot say at which exposure its
    whites were taken, so the viewer cannot scale a sub-frame to it: refused, with the fix."""
    dark = np.full((4, 6), 64, np.float32)
    with open(tmp_path / "old.npz", "wb") as f:
        np.savez_compressed(f, dark=dark, white_718=dark + 300)
    with pytest.raises(UserError) as caught:
        Calibration.load(tmp_path / "old.npz", (718,), (4, 6))
    sentence = str(caught.value)
    assert sentence.count(". ") == 0 and sentence.endswith("run `device calibrate` again.")
    assert "records no exposure and gain" in sentence and "old.npz" in sentence


def test_normaliser_maps_white_to_one_and_dark_to_zero():
    dark = np.full((4, 4), 64, np.float32)
    white = np.full((4, 4), 464, np.float32)
    norm = Normaliser(Calibration(dark, {718: white}))
    raw = np.array([[64, 264, 464, 464]] * 4, np.uint16)
    assert norm(raw, 718, None)[0] == pytest.approx([0.0, 0.5, 1.0, 1.0])
    # Uncalibrated: the brightest paper counts as white.
    assert Normaliser(None)(raw, 718, None).max() == pytest.approx(1.0, abs=0.01)


def sub(nm, seq):
    return SubFrame(nm, np.zeros((2, 2), np.uint16), seq, seq + 0.5, seq)


def test_sliding_window_gives_a_triplet_per_subframe_fixed_one_per_cycle():
    nms = [718, 777, 807] * 4
    sliding, fixed = TripletWindow((718, 777, 807), True), TripletWindow((718, 777, 807), False)
    out_s = [sliding.add(sub(nm, i)) for i, nm in enumerate(nms)]
    out_f = [fixed.add(sub(nm, i)) for i, nm in enumerate(nms)]
    assert [t is not None for t in out_s] == [False, False] + [True] * 10
    assert [t is not None for t in out_f] == [False, False, True] * 4
    for t in filter(None, out_s):
        assert sorted(t.frames) == [718, 777, 807]
        seqs = sorted(s.seq for s in t.frames.values())
        assert seqs[-1] - seqs[0] == 2 and t.newest.seq == seqs[-1]   # the latest three
