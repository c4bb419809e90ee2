"""The self-test's judgements on frames made here with known content: each threshold fires on
the fault it is for and not on noise of the size the simulated rig has."""
import math

import numpy as np
import pytest

from device.procedures.selftest import judge
from device.simulated.expected_light import paper_white_signal

QE = {718: 1.0, 777: 0.68, 807: 0.54}      # the simulated rig's white paper (test below)


def test_the_rate_is_the_median_interval_so_a_late_read_does_not_lower_it():
    starts = [0.0, 1 / 30, 2 / 30, 4 / 30, 5 / 30, 6 / 30]      # one frame skipped
    assert judge.delivered_fps(starts) == pytest.approx(30.0)
    assert judge.rate_ok(27.1, 30.0) and not judge.rate_ok(26.9, 30.0)
    assert not judge.rate_ok(15.0, 30.0)                        # another mode


def test_dark_noise_is_the_per_pixel_temporal_rms_not_the_fixed_pattern():
    rng = np.random.default_rng(0)
    pattern = rng.uniform(50, 80, (48, 64))                     # fixed per pixel
    frames = [pattern + rng.normal(0, 2.0, pattern.shape) for _ in range(4)]
    stats = judge.dark_stats(frames)
    assert stats.level == pytest.approx(float(pattern.mean()), abs=0.1)
    assert stats.noise == pytest.approx(2.0, rel=0.05)
    assert stats.lit_threshold == pytest.approx(judge.LIT_MIN_SNR * stats.noise)


def test_the_expected_paper_ratios_are_what_the_simulated_rig_renders():
    expected = paper_white_signal((718, 777, 807))
    # Rises measured on the simulated rig's paper (128x96, 8 ms, gain 1): 907 / 618 / 493
    # codes above dark (`device selftest --rig sim`, step 3, within a few codes run to run).
    assert expected[777] == pytest.approx(618 / 907, rel=0.01)
    assert expected[807] == pytest.approx(493 / 907, rel=0.01)


def test_the_configured_order_passes_and_every_swap_of_two_is_named():
    assert judge.led_order({718: 907, 777: 618, 807: 493}, QE).swapped == {}
    for a, b in ((718, 777), (777, 807), (718, 807)):
        measured = {nm: 1000 * QE[nm] for nm in QE}
        measured[a], measured[b] = measured[b], measured[a]
        order = judge.led_order(measured, QE)
        assert order.swapped == {a: b, b: a}, (a, b)
        assert order.misfit > judge.ORDER_TOLERANCE and order.best_misfit < 1e-9


def test_brightness_a_few_percent_off_is_no_swap():
    # Each LED 5 % off its expected share: within the tolerance, whatever fits best.
    measured = {718: 1000 * 1.05, 777: 680 * 0.95, 807: 540 * 1.05}
    order = judge.led_order(measured, QE)
    assert order.misfit < judge.ORDER_TOLERANCE and order.swapped == {}


def test_leds_too_alike_to_tell_apart_are_listed():
    assert judge.indistinct(QE) == []
    assert judge.indistinct({730: 1.0, 760: 0.9, 850: 0.4}) == [(730, 760)]


def _paper(h=48, w=64, level=500.0):
    y, x = np.mgrid[0:h, 0:w]
    r2 = ((y - h / 2) / (h / 2)) ** 2 / 2 + ((x - w / 2) / (w / 2)) ** 2 / 2
    return level * (1 - 0.2 * r2)                     # vignetted, as the simulated paper


def test_rows_lit_alike_pass_and_a_rolling_band_is_found():
    rng = np.random.default_rng(1)
    dark = np.full((48, 64), 64.0)
    steady = dark + _paper()
    clean = dark + 0.6 * _paper() + rng.normal(0, 5, (48, 64))   # shorter LED, same shape
    rows = judge.row_deviation(clean, steady, dark, 4095)
    assert rows.bad == 0 and rows.deviation < 0.02 and rows.judged == 48
    band = np.linspace(1.0, 0.8, 48)[:, None]                     # lower rows lose 20 %
    banded = dark + _paper() * band + rng.normal(0, 5, (48, 64))
    rows = judge.row_deviation(banded, steady, dark, 4095)
    assert rows.bad > 10 and rows.deviation == pytest.approx(0.1, abs=0.02)


def test_rows_are_judged_on_unclipped_pixels_only():
    dark = np.full((48, 64), 64.0)
    steady = dark + _paper(level=5000)                 # the centre clips in both
    sub = steady.copy()
    steady, sub = np.minimum(steady, 4095), np.minimum(sub, 4095)
    rows = judge.row_deviation(sub, steady, dark, 4095)
    assert rows.bad == 0 and rows.judged < 48          # the rows clipped across are left out


def test_a_dark_phase_that_saw_an_led_is_found():
    dark = np.full((48, 64), 64.0)
    assert judge.dark_rows(dark + 1.0, dark, 500).bad == 0
    leak = dark.copy()
    leak[:10] += 100                                   # the top rows got a fifth of an LED
    assert judge.dark_rows(leak, dark, 500).bad == 10


def test_clipping_counts_full_scale_and_a_pile_up_below_the_assumed_one():
    stats = judge.DarkStats(64.0, 1.0)
    rng = np.random.default_rng(2)
    paper = 64 + _paper(level=2000) + rng.normal(0, 15, (48, 64))
    assert not judge.clipping(np.round(paper), 4095, stats).clipped
    clipped = judge.clipping(np.minimum(np.round(paper * 2.2), 4095), 4095, stats)
    assert clipped.clipped and clipped.pile_up is None and clipped.share > 0.3
    # A 10-bit sensor in a 16-bit frame clips at 1023, not the 4095 assumed.
    ten_bit = judge.clipping(np.minimum(np.round(paper / 2), 1023), 4095, stats)
    assert ten_bit.clipped and ten_bit.pile_up == 1023
    # Few pixels on the top code of an unclipped frame are no pile-up.
    assert judge.clipping(np.round(paper / 4), 4095, stats).pile_up is None


def test_misfit_ignores_a_common_scale():
    assert judge.log_misfit([2, 4, 6], [1, 2, 3]) == pytest.approx(0.0, abs=1e-12)
    assert judge.log_misfit([1, 1], [1, math.e ** 0.2]) == pytest.approx(0.1)
