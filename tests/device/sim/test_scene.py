"""PrintedScene end to end: print an image, capture it under the LEDs, normalise, compare."""
import json

import numpy as np
import pytest

from device.common.errors import UserError
from device.captures.references import normalise
from device.sim import (DATASET_LEDS, NIR_LEDS, PrintedScene, RigSpec, random_motion,
                        srgb_to_lab)

WHITE, CYAN, MAGENTA, YELLOW, BLACK, RED = ((255, 255, 255), (0, 255, 255), (255, 0, 255),
                                            (255, 255, 0), (0, 0, 0), (255, 0, 0))
QUIET = RigSpec(noise=False)


def patches(*colours, size=24):
    """A row of solid square patches."""
    return np.concatenate([np.full((size, size, 3), c, np.uint8) for c in colours], axis=1)


def centre(image, index, size=24, margin=6):
    return image[margin:size - margin, index * size + margin:(index + 1) * size - margin]


def measured(scene, nm, rng):
    """What the paper did: capture, then normalise to dark and white references."""
    return normalise(scene.capture(nm, rng), scene.dark(rng), scene.white(nm, rng))


def test_paper_white_normalises_to_one_everywhere():
    scene = PrintedScene(np.full((32, 48, 3), 255, np.uint8))
    rng = np.random.default_rng(0)
    for nm in DATASET_LEDS:
        raw = scene.capture(nm, rng)
        assert raw[0, 0] < raw[16, 24] * 0.9          # vignetting is there in the raw frame ...
        norm = measured(scene, nm, rng)
        assert norm.mean() == pytest.approx(1.0, abs=0.01)          # ... and normalised away
        assert norm[:8, :8].mean() == pytest.approx(1.0, abs=0.03)


def test_a_measured_paper_is_the_white_of_the_references_and_the_truth():
    """A printer with its own paper (e.g. `device sim floor --inks`) normalises to that paper."""
    from device.sim.printing import Printer
    from device.sim.spectra import INKS, SIM_INKS, WAVELENGTHS, InkSpectra

    tables = {name: SIM_INKS.ink(name, WAVELENGTHS) for name in INKS}
    tables["paper"] = 0.6 * SIM_INKS.paper(WAVELENGTHS)    # a darker, grey paper
    scene = PrintedScene(np.full((16, 16, 3), 255, np.uint8), QUIET,
                         printer=Printer(inks=InkSpectra("grey paper", tables)))
    offset = np.full((16, 16), QUIET.dark_offset, np.float32)
    for nm in NIR_LEDS:
        print_of_white = normalise(scene.signal(nm), offset, scene.white(nm, None))
        assert np.allclose(print_of_white, 1.0, atol=2e-3)
    assert np.allclose(scene.ground_truth("human"), 1.0, atol=2e-3)


def test_fixed_pattern_gain_belongs_to_the_camera_and_normalises_away():
    rgb = np.full((16, 16, 3), 255, np.uint8)
    rig = RigSpec(noise=False, prnu=0.02)
    same_a, same_b = PrintedScene(rgb, rig, seed=4), PrintedScene(rgb, rig, seed=4)
    other = PrintedScene(rgb, rig, seed=5)
    assert np.array_equal(same_a.signal(777), same_b.signal(777))
    assert not np.array_equal(same_a.signal(777), other.signal(777))
    assert same_a.signal(777).std() > 0.01 * same_a.signal(777).mean() * 0.5
    offset = np.full((16, 16), rig.dark_offset, np.float32)
    print_of_white = normalise(same_a.signal(777), offset, same_b.white(777, None))
    assert np.allclose(print_of_white, 1.0, atol=2e-3)


@pytest.mark.parametrize("nm, expected", [
    (718, {"cyan": 0.1, "magenta": 0.7, "yellow": 0.9}),
    (777, {"cyan": 0.5, "magenta": 0.7, "yellow": 0.9}),
])
def test_solid_inks_read_the_papers_numbers_through_the_whole_render(nm, expected):
    scene = PrintedScene(patches(CYAN, MAGENTA, YELLOW), seed=3)
    norm = measured(scene, nm, np.random.default_rng(nm))
    for i, ink in enumerate(("cyan", "magenta", "yellow")):
        assert centre(norm, i).mean() == pytest.approx(expected[ink], abs=0.05), ink


def test_black_ink_stays_dark_in_the_nir_while_cmy_do_not():
    scene = PrintedScene(patches(BLACK, YELLOW, MAGENTA))
    rng = np.random.default_rng(1)
    for nm in NIR_LEDS:
        norm = measured(scene, nm, rng)
        assert centre(norm, 0).mean() < 0.1
        assert centre(norm, 1).mean() > 0.8 and centre(norm, 2).mean() > 0.6


@pytest.mark.parametrize("channel", [0, 1, 2])   # a ramp of cyan, magenta or yellow ink
def test_more_coverage_never_reflects_more_under_any_led(channel):
    steps = np.linspace(255, 0, 9).astype(np.uint8)
    rgb = np.full((8, 9 * 8, 3), 255, np.uint8)
    for i, v in enumerate(steps):
        rgb[:, i * 8:(i + 1) * 8, channel] = v
    scene = PrintedScene(rgb, rig=QUIET)
    white = PrintedScene(np.full_like(rgb, 255), rig=QUIET)
    for nm in DATASET_LEDS:
        offset = QUIET.dark_offset
        row = ((scene.signal(nm) - offset) / (white.signal(nm) - offset))[4]
        assert np.all(np.diff(row) <= 1e-5), nm


def test_grey_ramp_looks_neutral_and_monotonic_to_a_person():
    levels = np.linspace(0, 255, 8).astype(np.uint8)
    truth = PrintedScene(patches(*[(v, v, v) for v in levels], size=16)).ground_truth("human")
    lab = srgb_to_lab(np.stack([centre(truth, i, 16, 4).mean(axis=(0, 1)) for i in range(8)]))
    assert np.all(np.diff(lab[:, 0]) > 3)               # lightness rises with every step
    assert np.abs(lab[:, 1:]).max() < 2.0               # a* and b* stay near zero
    assert lab[-1, 0] == pytest.approx(100, abs=0.5)    # paper white is the white point


@pytest.mark.parametrize("mode", ["human", "paper"])
def test_both_ground_truths_see_a_saturated_red(mode):
    truth = PrintedScene(patches(RED, WHITE)).ground_truth(mode)
    assert truth.dtype == np.float32 and truth.shape == (24, 48, 3)
    assert 0.0 <= truth.min() and truth.max() <= 1.0
    r, g, b = centre(truth, 0).mean(axis=(0, 1))
    # the paper's truth reads red through the 604 nm LED, on magenta's rising edge: darker
    assert r > 0.5 and g < 0.3 and b < 0.3
    assert centre(truth, 1).mean() > 0.9


def test_paper_truth_needs_the_visible_leds():
    scene = PrintedScene(patches(RED), rig=RigSpec(leds=NIR_LEDS))
    with pytest.raises(ValueError, match="447"):
        scene.ground_truth("paper")
    with pytest.raises(ValueError, match="mode"):
        scene.ground_truth("daylight")


def test_shot_noise_variance_grows_with_the_signal():
    """Photon (Poisson) noise: the variance in electrons equals the mean, so it grows with
    the light collected; read noise adds a constant floor."""
    flat = dict(blur=0.0, vignetting=0.0, prnu=0.0)
    white = np.full((64, 64, 3), 255, np.uint8)
    for flux in (1200.0, 300.0, 1.0):   # 1.0: ~8 e-, drawn from the exact Poisson branch
        rig = RigSpec(photon_flux=flux, **flat)
        scene = PrintedScene(white, rig=rig)
        raw = scene.capture(529, np.random.default_rng(2)).astype(np.float64)
        mean_e = (scene.signal(529).mean() - rig.dark_offset) * rig.gain_e_per_adu
        var_e = raw.var() * rig.gain_e_per_adu**2
        quantisation = rig.gain_e_per_adu**2 / 12
        assert var_e == pytest.approx(mean_e + rig.read_noise_e**2 + quantisation, rel=0.12)


def test_noise_free_capture_is_the_rounded_signal_and_dark_is_the_offset():
    scene = PrintedScene(patches(CYAN, WHITE), rig=QUIET)
    rng = np.random.default_rng(0)
    assert np.array_equal(scene.capture(777, rng), np.rint(scene.signal(777)).astype(np.uint16))
    noisy = PrintedScene(patches(CYAN), rig=RigSpec())
    dark = noisy.dark(rng).astype(np.float64)
    assert dark.mean() == pytest.approx(RigSpec().dark_offset, abs=0.2)
    assert 0 < dark.std() < 2


def test_captures_are_12_bit_and_reproducible():
    scene = PrintedScene(patches(WHITE, BLACK))
    a = scene.capture(447, np.random.default_rng(7))
    b = scene.capture(447, np.random.default_rng(7))
    assert a.dtype == np.uint16 and a.max() <= 4095 and np.array_equal(a, b)
    assert not np.array_equal(a, scene.capture(447, np.random.default_rng(8)))


def test_motion_moves_the_print_but_not_the_vignetting():
    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[16:32, 16:32] = 255
    scene = PrintedScene(rgb, rig=RigSpec(noise=False, vignetting=0.0))
    shift = np.array([[1.0, 0, 6], [0, 1.0, -3]])
    still = scene.capture(529, None).astype(np.float64)
    moved = scene.capture(529, None, motion=shift).astype(np.float64)

    def centroid(img):
        img = img - img.min()
        ys, xs = np.mgrid[:img.shape[0], :img.shape[1]]
        return (img * xs).sum() / img.sum(), (img * ys).sum() / img.sum()

    (x0, y0), (x1, y1) = centroid(still), centroid(moved)
    assert x1 - x0 == pytest.approx(6, abs=0.3) and y1 - y0 == pytest.approx(-3, abs=0.3)
    blank = PrintedScene(np.full((48, 48, 3), 255, np.uint8), rig=QUIET)
    assert np.array_equal(blank.capture(529, None, motion=shift), blank.capture(529, None))


def test_random_motion_is_small_and_varied():
    rng = np.random.default_rng(0)
    draws = [random_motion(rng, 2.0, 1.0, (64, 80)) for _ in range(50)]
    angles = np.degrees([np.arctan2(m[1, 0], m[0, 0]) for m in draws])
    assert np.abs(angles).max() <= 1.0 and np.ptp(angles) > 0.5
    centre_moves = [m @ np.array([39.5, 31.5, 1.0]) - [39.5, 31.5] for m in draws]
    assert np.abs(centre_moves).max() <= 2.0 + 1e-9 and np.ptp(centre_moves) > 1.0
    assert np.allclose(random_motion(rng, 0, 0, (64, 80)), [[1, 0, 0], [0, 1, 0]])


def test_ambient_light_when_leds_are_off():
    rgb = patches(WHITE)
    rng = np.random.default_rng(0)
    dark_room = PrintedScene(rgb, rig=RigSpec(ambient=0.0))
    assert np.allclose(dark_room.signal(None), RigSpec().dark_offset)
    lit_room = PrintedScene(rgb, rig=RigSpec(ambient=50.0))
    assert lit_room.capture(None, rng).mean() > lit_room.dark(rng).mean() + 20
    assert lit_room.signal(777).mean() > dark_room.signal(777).mean()   # adds to LED frames


def test_signal_is_cached_and_unknown_leds_refused():
    scene = PrintedScene(patches(CYAN))
    assert scene.signal(718) is scene.signal(718)
    with pytest.raises(ValueError, match="no 650 nm LED"):
        scene.signal(650)


def test_palette_leds_render_on_request():
    scene = PrintedScene(patches(CYAN, WHITE), rig=RigSpec(leds=(495, 854, 971)))
    rng = np.random.default_rng(0)
    cyan_495, cyan_854 = (centre(measured(scene, nm, rng), 0).mean() for nm in (495, 854))
    assert cyan_495 > 0.6 and cyan_854 > 0.6   # cyan's visible and NIR maxima


def test_rig_spec_round_trips_through_json_and_refuses_bad_fields():
    rig = RigSpec(leds=(718, 777, 807), exposure=5.0, ambient=3.0)
    assert RigSpec.from_dict(json.loads(json.dumps(rig.to_dict()))) == rig
    with pytest.raises(UserError, match="unknown field"):
        RigSpec.from_dict({"leds": [718], "colour": "red"})
    with pytest.raises(UserError, match="exposure"):
        RigSpec.from_dict({"exposure": -1})
    with pytest.raises(UserError, match="distinct"):
        RigSpec(leds=(718, 718))


def test_process_inks_have_their_hues_to_a_person():
    truth = PrintedScene(patches(CYAN, MAGENTA, YELLOW, BLACK)).ground_truth("human")
    lab = srgb_to_lab(np.stack([centre(truth, i).mean(axis=(0, 1)) for i in range(4)]))
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    assert 180 < hue[0] < 270 and chroma[0] > 30      # cyan: blue-green
    assert 300 < hue[1] < 360 and chroma[1] > 40      # magenta: purple-red
    assert 70 < hue[2] < 110 and chroma[2] > 60       # yellow
    assert lab[3, 0] < 35 and chroma[3] < 3           # black: dark and neutral
