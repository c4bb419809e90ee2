"""The ink, paper, LED and sensor spectra against every number the paper gives."""
import numpy as np
import pytest

from device.sim.camera import silicon_qe
from device.sim.led_spectra import PALETTE_LEDS, led_emission
from device.sim.readings import led_reading
from device.sim.spectra import INKS, WAVELENGTHS, normalised_reflectance, paper_reflectance

PAPER_NUMBERS = {718: {"cyan": 0.1, "magenta": 0.7, "yellow": 0.9},
                 777: {"cyan": 0.5, "magenta": 0.7, "yellow": 0.9}}


def curve(ink):
    return normalised_reflectance(ink, WAVELENGTHS)


def argmax_between(values, lo, hi):
    window = (WAVELENGTHS >= lo) & (WAVELENGTHS <= hi)
    return WAVELENGTHS[window][np.argmax(values[window])]


@pytest.mark.parametrize("nm", sorted(PAPER_NUMBERS))
def test_led_readings_match_the_papers_numbers(nm):
    for ink, expected in PAPER_NUMBERS[nm].items():
        assert led_reading(ink, nm) == pytest.approx(expected, abs=0.02), ink


def test_peaks_sit_where_the_paper_puts_them():
    assert abs(argmax_between(curve("cyan"), 380, 700) - 495) <= 5
    assert abs(argmax_between(curve("cyan"), 700, 1000) - 854) <= 8
    assert abs(argmax_between(curve("magenta"), 560, 760) - 660) <= 5
    yellow = curve("yellow")
    assert abs(argmax_between(yellow, 560, 640) - 604) <= 5
    assert abs(argmax_between(yellow, 660, 715) - 697) <= 5
    # both yellow peaks are true local maxima: a dip lies between them
    dip = yellow[(WAVELENGTHS > 620) & (WAVELENGTHS < 680)].min()
    assert dip < yellow[WAVELENGTHS == 604][0] and dip < yellow[WAVELENGTHS == 697][0]


def test_cyan_nir_maximum_is_isolated_and_meets_magenta_above_854():
    cyan, magenta = curve("cyan"), curve("magenta")
    peak = cyan[WAVELENGTHS == 854][0]
    assert cyan[WAVELENGTHS == 777][0] < peak - 0.2      # rises steeply into the maximum ...
    assert cyan[WAVELENGTHS == 1000][0] < peak            # ... and falls after it
    beyond = WAVELENGTHS >= 870
    assert np.abs(cyan[beyond] - magenta[beyond]).max() < 0.05


def test_three_nir_leds_see_three_distinct_inks():
    for nm in (718, 777, 807):
        readings = sorted(led_reading(ink, nm) for ink in ("cyan", "magenta", "yellow"))
        assert min(np.diff(readings)) >= 0.08, nm


def test_yellow_and_magenta_reflect_broadly_in_the_nir():
    nir = WAVELENGTHS >= 718
    assert curve("yellow")[nir].min() > 0.85
    assert curve("magenta")[nir].min() > 0.6


def test_black_absorbs_everywhere_including_the_nir():
    assert curve("black").max() < 0.08
    assert max(led_reading("black", nm) for nm in PALETTE_LEDS) < 0.08


def test_paper_is_bright_and_normalises_to_one():
    assert np.all(curve("paper") == 1.0)
    paper = paper_reflectance(WAVELENGTHS)
    assert np.all((paper > 0.7) & (paper < 0.95))
    assert paper[WAVELENGTHS >= 440].min() > 0.85   # only the violet end is darker


def test_every_curve_is_a_reflectance():
    for ink in INKS:
        assert np.all((curve(ink) > 0) & (curve(ink) <= 1)), ink


def test_unknown_ink_is_refused():
    with pytest.raises(KeyError, match="unknown ink"):
        normalised_reflectance("orange", 500)


def test_led_shape_is_ohno_2005_with_the_requested_fwhm():
    colour = pytest.importorskip("colour")
    fine = np.arange(600, 1000, 0.05)
    emission = led_emission(777, 30.0, fine)
    above = fine[emission >= 0.5]
    assert above[-1] - above[0] == pytest.approx(30.0, abs=0.2)
    # same shape as colour-science's Ohno (2005) LED once the width parameter is matched
    delta = 30.0 / (2 * np.sqrt(-np.log(0.808609)))
    shape = colour.SpectralShape(600, 999, 1)
    reference = colour.colorimetry.sd_single_led_Ohno2005(777, delta, shape=shape)
    assert np.allclose(led_emission(777, 30.0, reference.wavelengths), reference.values, atol=1e-4)


def test_silicon_qe_falls_through_the_red_and_nir():
    qe = silicon_qe(np.array([529.0, 604, 718, 777, 807, 950]))
    assert np.all(np.diff(qe) < 0)
    assert qe[0] > 0.6 and qe[-1] < 0.1
