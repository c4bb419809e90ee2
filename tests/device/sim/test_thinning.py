"""Binomial thinning of a raw frame (`device.sim.thinning`) against the closed form of the sim
camera's noise: a frame thinned to a fraction f of its photons has mean f·μ electrons and
variance f·μ + σ_read² + g²/12 (shot, read noise, the target ADC's rounding), as a frame taken
at that light does."""
import numpy as np
import pytest

from device.captures.format import Exposure
from device.sim import RigSpec
from device.sim.camera import read_out
from device.sim.thinning import photon_fraction, thin_raw

RIG = RigSpec()
SOURCE = RIG.under(Exposure(10.0, gain=1.0, light=2.0))   # the training captures' light
SHAPE = (200, 250)                                        # 50 000 pixels per moment
N = SHAPE[0] * SHAPE[1]


def _electrons(raw: np.ndarray, rig: RigSpec) -> np.ndarray:
    return (raw.astype(np.float64) - rig.dark_offset) * rig.gain_e_per_adu


def _moments_within_sampling_error(e: np.ndarray, mean: float, var: float) -> None:
    # The sample mean's standard error is sqrt(var / N); the sample variance's, for
    # near-Gaussian counts, var·sqrt(2 / N) (0.63 % at N = 50 000): 5 of each.
    assert abs(e.mean() - mean) < 5 * np.sqrt(var / N), (e.mean(), mean)
    assert abs(e.var() - var) < 5 * var * np.sqrt(2 / N), (e.var(), var)


@pytest.mark.parametrize("mu", [6000.0, 300.0, 20.0, 2.0])   # white at 718 nm ... deep black
@pytest.mark.parametrize("fraction,gain", [(0.5, 1.0), (1 / 32, 1.0), (0.1, 4.0)])
def test_thinned_frame_has_the_closed_form_mean_and_variance(mu, fraction, gain):
    target = RIG.under(Exposure(10.0, gain=gain, light=2.0 * fraction))
    assert photon_fraction(SOURCE, target) == pytest.approx(fraction)
    rng = np.random.default_rng(7)
    raw = read_out(np.full(SHAPE, mu, np.float32), SHAPE, SOURCE, rng)
    thinned = _electrons(thin_raw(raw, SOURCE, target, rng), target)
    g = target.gain_e_per_adu
    _moments_within_sampling_error(thinned, fraction * mu,
                                   fraction * mu + RIG.read_noise_e ** 2 + g * g / 12)


def test_thinned_frame_matches_a_frame_taken_at_that_light():
    """Same moments as the sim camera's own frame at the dimmer light (not only the formula)."""
    target = RIG.under(Exposure(10.0, light=1 / 8))
    rng = np.random.default_rng(3)
    mu = np.full(SHAPE, 3000.0, np.float32)                 # at the source's light
    thinned = _electrons(thin_raw(read_out(mu, SHAPE, SOURCE, rng), SOURCE, target, rng), target)
    direct = _electrons(read_out(mu / 16, SHAPE, target, rng), target)
    _moments_within_sampling_error(thinned, direct.mean(), direct.var())


def test_two_draws_of_one_frame_are_independent():
    target = RIG.under(Exposure(10.0, light=0.25))
    rng = np.random.default_rng(5)
    raw = read_out(np.full(SHAPE, 4000.0, np.float32), SHAPE, SOURCE, rng)
    a, b = (_electrons(thin_raw(raw, SOURCE, target, rng), target) for _ in range(2))
    # They share the source's noise thinned by f = 1/8 (covariance f²·(μ + σ_read²) ≈ 63 of a
    # variance of ~506): correlation ≈ 0.12; fresh shot and read noise dominate.
    corr = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    assert 0.08 < corr < 0.17, corr


def test_more_gain_clips_the_highlights_at_the_top_code():
    target = RIG.under(Exposure(10.0, gain=4.0, light=1.0))   # white 718 nm: 3114 e⁻ × 4 > 10500
    rng = np.random.default_rng(0)
    raw = read_out(np.full(SHAPE, 6228.0, np.float32), SHAPE, SOURCE, rng)
    assert raw.max() < RIG.adc_max                           # the source is not clipped
    assert np.all(thin_raw(raw, SOURCE, target, rng) == RIG.adc_max)


def test_thinning_refuses_more_light_and_another_camera():
    rng = np.random.default_rng(0)
    raw = np.full((4, 4), 1000, np.uint16)
    with pytest.raises(ValueError, match="fraction"):
        thin_raw(raw, SOURCE, RIG.under(Exposure(10.0, light=4.0)), rng)
    other = RigSpec(read_noise_e=1.0).under(Exposure(10.0, light=1.0))
    with pytest.raises(ValueError, match="read_noise_e"):
        thin_raw(raw, SOURCE, other, rng)
