"""The temporal filter in the shipped viewer graph, driven as the viewer drives it (Colorizer and
onnxruntime, the state kept in the engine), on seeded sim captures of a print: the first frame
is the per-frame one, a still print converges, a cut leaves no ghost, a sliding print is
followed rather than smeared, and with the filter off every frame is the per-frame one. Also the
normalisation following the exposure: the same print at other on-times and gains gives the same
reflectance and the same colours."""
import numpy as np
import pytest

from device.engines import viewer_io
from device.engines.engine import OnnxEngine
from device.engines.model_card import load_model_card
from device.sim import PrintedScene, RigSpec
from device.viewer.colorize import Colorizer
from device.viewer.feeds import ExposureState
from device.viewer.preprocess import Calibration, WhiteNoise
from device.viewer.stats import StageTimes
from device.viewer.strobe import LedExposure, SubFrame
from device.viewer.window import TripletWindow

NIR = (718, 777, 807)
SIZE = (96, 128)
REFERENCE = LedExposure(0.010, 1.0)          # what the calibration's whites were taken at
HISTORY = 0.95


@pytest.fixture(scope="module")
def card(model_onnx):
    return load_model_card(model_onnx.with_suffix(".json"))


def artwork(which: int) -> np.ndarray:
    """Two held-out bundled photos as prints (the alignment needs real structure)."""
    from device.simulated.sim_camera import print_artwork
    from device.viewer.sections import SimConfig

    scene = {1: "astronaut", 2: "coffee"}[which]
    return print_artwork(SimConfig(scene=scene), SIZE, lambda path: path)


class Rig:
    """Seeded sim captures of prints under the 10 ms rig; each sub-frame's exposure is
    `REFERENCE` unless given (its signal then scaled as a linear sensor's)."""

    def __init__(self, seed: int = 0):
        self.rig = RigSpec(leds=NIR, exposure=10.0)
        self.rng = np.random.default_rng(seed)
        self.scenes = {s: PrintedScene(artwork(s), rig=self.rig, seed=0) for s in (1, 2)}
        paper = PrintedScene(np.full((*SIZE, 3), 255, np.uint8), rig=self.rig, seed=0)
        dark = np.mean([paper.dark(self.rng) for _ in range(8)], axis=0).astype(np.float32)
        whites = [{nm: paper.white(nm, self.rng) for nm in NIR} for _ in range(8)]
        self.calibration = Calibration(
            dark, {nm: np.mean([w[nm] for w in whites], axis=0).astype(np.float32)
                   for nm in NIR},
            {nm: REFERENCE for nm in NIR}, {nm: WhiteNoise(0.02, 0.0008) for nm in NIR})
        self.seq = 0

    def subframe(self, nm: int, scene: int = 1, shift: float = 0.0,
                 led: LedExposure = REFERENCE) -> SubFrame:
        motion = np.array([[1.0, 0.0, shift], [0.0, 1.0, 0.0]])
        clean = self.scenes[scene].capture(nm, self.rng, motion).astype(np.float32)
        dark = self.rig.dark_offset
        raw = dark + (clean - dark) * (led.product / REFERENCE.product)
        self.seq += 1
        return SubFrame(nm, np.clip(raw, 0, 4095).astype(np.uint16), self.seq, self.seq,
                        self.seq, led)


def colorizer(card, rig: Rig, history: float, align: str = "none") -> Colorizer:
    return Colorizer(card, OnnxEngine(card.viewer_graph), rig.calibration, align, 0.5,
                     StageTimes(), SIZE, history=history)


def frames(colorize, subs) -> list:
    window = TripletWindow(NIR)
    out = []
    for sub in subs:
        triplet = window.add(sub)
        if triplet is not None:
            out.append(colorize(triplet))
    return out


def per_frame(card, rig: Rig, colored) -> list[np.ndarray]:
    """Each frame again through the graph on its own (history 0, a zero state)."""
    engine = OnnxEngine(card.viewer_graph)
    engine.set_resident(viewer_io.DARK, rig.calibration.dark)
    engine.set_resident(viewer_io.GAIN, np.stack([rig.calibration.gain(nm) for nm in NIR]))
    state = np.zeros(viewer_io.state_shape(3, *SIZE), np.float32)
    return [engine.run(f.feeds | {viewer_io.HISTORY: np.zeros((1, 1, 1), np.float32),
                                  viewer_io.STATE: state})[viewer_io.OUTPUT] for f in colored]


def codes(a, b) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def test_first_frame_per_frame_then_a_still_print_converges(card):
    rig = Rig()
    still = frames(colorizer(card, rig, HISTORY), [rig.subframe(nm) for nm in NIR * 12])
    alone = per_frame(card, rig, still)
    assert np.array_equal(still[0].rgb, alone[0])          # nothing to blend with yet
    # Only the first frame carried a state from the host; the rest lived in the engine.
    assert viewer_io.STATE not in still[1].feeds
    assert all(f.feeds[viewer_io.HISTORY].item() == pytest.approx(HISTORY) for f in still[1:])
    change = [codes(a.rgb, b.rgb) for a, b in zip(still[-6:], still[-5:])]
    change_alone = [codes(a, b) for a, b in zip(alone[-6:], alone[-5:])]
    # measured: about a tenth of the per-frame output's change
    assert np.mean(change) < 0.3 * np.mean(change_alone)


def test_filter_off_is_the_per_frame_path(card):
    rig = Rig(seed=1)
    off = frames(colorizer(card, rig, 0.0), [rig.subframe(nm) for nm in NIR * 4])
    for got, alone in zip(off, per_frame(card, rig, off)):
        assert np.array_equal(got.rgb, alone)


def test_a_cut_leaves_no_ghost(card):
    rig = Rig(seed=2)
    subs = [rig.subframe(nm) for nm in NIR * 8] + [rig.subframe(nm, scene=2) for nm in NIR * 2]
    colored = frames(colorizer(card, rig, HISTORY), subs)
    alone = per_frame(card, rig, colored)
    first_clean = len(colored) - 4          # the first triplet of the new print alone
    assert all(s.seq > subs[-7].seq for s in colored[first_clean].triplet.frames.values())
    # the new print shows as it is, not blended with the old one: measured 100 % of pixels
    # within one code (an unfiltered frame of the old print differs on ~95 % by more)
    near = np.abs(colored[first_clean].rgb.astype(int) - alone[first_clean].astype(int)) <= 1
    assert near.mean() >= 0.99
    old = np.abs(colored[first_clean].rgb.astype(int) - colored[first_clean - 3].rgb.astype(int))
    assert (old > 1).mean() > 0.5                           # the prints do differ


def test_a_sliding_print_is_followed_not_smeared(card):
    """The print slides a pixel per sub-frame (whole pixels: the warps then resample nothing,
    so the frames differ only by noise). Filtered with the state warped by the alignment's
    estimate, its last frame is close to the filtered frame of the print held still where it
    ended (both average the network's noisy outputs there): measured 3.0 codes apart, against
    4.2 for a single noisy frame. A state left where it was, or warped the wrong way, would
    lag the print by a pixel a frame: the filter would reset at every edge and give no more
    than a single frame (or smear, and be further still)."""
    rig = Rig(seed=3)
    slide = frames(colorizer(card, rig, HISTORY, align="ecc"),
                   [rig.subframe(nm, shift=float(i)) for i, nm in enumerate(NIR * 10)])
    rig = Rig(seed=5)
    still = frames(colorizer(card, rig, HISTORY, align="ecc"),
                   [rig.subframe(nm, shift=29.0) for nm in NIR * 10])
    noisy = per_frame(card, rig, still)[-1]
    inner = (slice(8, -8), slice(12, -12))    # away from the border that slides in
    followed = codes(slide[-1].rgb[inner], still[-1].rgb[inner])
    one_frame = codes(noisy[inner], still[-1].rgb[inner])
    assert followed < 0.8 * one_frame


def test_the_normalisation_follows_the_exposure(card):
    """The same print at 10 ms x1, 3 ms x2 and 25 ms x1: the reflectance fed to the network and
    the colours it gives match (within the noise), because each sub-frame's scale is the
    calibration's on-time x gain over its own."""
    rig = Rig(seed=4)
    rig.rig = RigSpec(leds=NIR, exposure=10.0, noise=False)
    rig.scenes = {1: PrintedScene(artwork(1), rig=rig.rig, seed=0)}
    outputs, reflectances = [], []
    for led in (REFERENCE, LedExposure(0.003, 2.0), LedExposure(0.025, 1.0)):
        colored = frames(colorizer(card, rig, 0.0), [rig.subframe(nm, led=led) for nm in NIR])
        outputs.append(colored[-1].rgb)
        reflectances.append(np.stack(colored[-1].nir))
        assert colored[-1].feeds[viewer_io.SCALE].ravel() == pytest.approx(
            [REFERENCE.product / led.product] * 3)
    # Raw codes are whole numbers: the capture rounds (half a code), the rescaled frame rounds
    # again (half a code), and so did the reference frame: 1.5 codes at most, in the dimmest
    # white span, scaled down to 0.6 of it at 3 ms x2.
    span = min((w - rig.calibration.dark).min() for w in rig.calibration.whites.values())
    for r in reflectances[1:]:
        assert np.abs(r - reflectances[0]).max() < 1.5 / (0.6 * span)
    # The network turns those rounding differences into a code or so (measured: under 1 on
    # average); a normalisation that ignored the exposure would be off by the exposure ratio.
    for o in outputs[1:]:
        assert codes(o, outputs[0]) < 1.0
    unscaled = np.stack(reflectances[1]) * (LedExposure(0.003, 2.0).product / REFERENCE.product)
    assert np.abs(unscaled - reflectances[0]).mean() > 0.1


def test_exposure_state_derives_scale_and_noise():
    calibration = Calibration(np.zeros((2, 2), np.float32),
                              {nm: np.ones((2, 2), np.float32) for nm in NIR},
                              {nm: LedExposure(0.010, 1.0) for nm in NIR},
                              {nm: WhiteNoise(0.02, 0.001) for nm in NIR})
    state = ExposureState.of((LedExposure(0.010, 1.0), LedExposure(0.0025, 2.0),
                              LedExposure(0.040, 1.0)), calibration, NIR)
    assert state.scale() == pytest.approx([1.0, 2.0, 0.25])
    shot = np.sqrt(0.02 ** 2 - 0.001 ** 2)
    # a quarter of the photons: twice the shot noise, four times the read noise (gain adds none)
    expected = [0.02, np.hypot(2 * shot, 4 * 0.001), np.hypot(shot / 2, 0.001 / 4)]
    assert state.noise() == pytest.approx(expected, rel=1e-6)
    feeds = state.feeds()
    assert feeds[viewer_io.SCALE].shape == feeds[viewer_io.NOISE].shape == (3, 1, 1)
    unknown = ExposureState.of((None, None, None), calibration, NIR)
    assert unknown.scale() == pytest.approx([1.0] * 3)


def test_frames_the_viewer_skipped_are_bridged_by_one_estimate(card):
    """Real time on a slow engine: the align thread sees only every fourth triplet. The last
    frame's newest sub-frame is then outside the window, so its pose comes from one ECC
    estimate of its own: the state warp still says the print moved 4 px (1 px per sub-frame)
    between the two frames the engine saw."""
    rig = Rig(seed=6)
    colorize = colorizer(card, rig, HISTORY, align="ecc")
    window, shown = TripletWindow(NIR), []
    for i, nm in enumerate(NIR * 8):
        triplet = window.add(rig.subframe(nm, shift=float(i)))
        if triplet is not None and i % 4 == 2:
            shown.append(colorize(triplet))
    for frame in shown[1:]:
        warp = frame.feeds[viewer_io.STATE_WARP]
        # where each pixel lay in the frame before: 4 px to the left
        assert warp[:, 2] == pytest.approx([-4.0, 0.0], abs=0.15)
        assert warp[:, :2] == pytest.approx(np.eye(2), abs=0.01)
