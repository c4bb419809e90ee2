"""The printer: separation, Demichel weights and the Yule–Nielsen spectral Neugebauer model."""
import itertools

import numpy as np
import pytest

from device.sim.camera import silicon_qe
from device.sim.led_spectra import DATASET_LEDS, led_emission
from device.sim.printing import (PrintedSpectra, Printer, SpectralProjection, as_float_rgb,
                                 demichel_weights, primary_reflectance, separate_cmyk)
from device.sim.spectra import INKS, WAVELENGTHS, normalised_reflectance, paper_reflectance


def led_projection(nm):
    return SpectralProjection.from_density(led_emission(nm, 30.0, WAVELENGTHS)
                                           * silicon_qe(WAVELENGTHS))


def test_separation_of_pure_colours_and_greys():
    rgb = np.array([[[0, 1, 1], [1, 0, 1], [1, 1, 0], [1, 1, 1], [0, 0, 0], [0.5, 0.5, 0.5],
                     [1, 0, 0]]], np.float32)
    cmyk = separate_cmyk(rgb, gcr=1.0)[0]
    assert np.allclose(cmyk[:5], [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0],
                                  [0, 0, 0, 1]])
    assert np.allclose(cmyk[5], [0, 0, 0, 0.5])          # full GCR: a grey is black ink only
    assert np.allclose(cmyk[6], [0, 1, 1, 0])            # red = magenta over yellow
    assert np.allclose(separate_cmyk(rgb[:, 5:6], gcr=0.0)[0, 0], [0.5, 0.5, 0.5, 0])


def test_demichel_weights_are_the_product_of_independent_screens():
    rng = np.random.default_rng(1)
    coverage = rng.random((4, 50)).astype(np.float32)
    weights = demichel_weights(coverage)
    assert np.allclose(weights.sum(axis=0), 1.0, atol=1e-6)
    for p in range(16):
        expected = np.prod([coverage[i] if p >> i & 1 else 1 - coverage[i] for i in range(4)],
                           axis=0)
        assert np.allclose(weights[p], expected, atol=1e-6)


def test_primaries_are_paper_times_their_inks():
    table = primary_reflectance(WAVELENGTHS)
    paper = paper_reflectance(WAVELENGTHS)
    assert np.allclose(table[0], paper)
    assert np.allclose(table[0b0101], paper * normalised_reflectance("cyan", WAVELENGTHS)
                       * normalised_reflectance("yellow", WAVELENGTHS))


def test_quadrature_matches_the_full_1nm_integral():
    projection = led_projection(777)
    weight = led_emission(777, 30.0, WAVELENGTHS) * silicon_qe(WAVELENGTHS)
    table = primary_reflectance(WAVELENGTHS)
    for p in (0, 1, 2, 4, 8, 15):
        exact = weight @ table[p]
        approx = projection.node_weights[:, 0] @ primary_reflectance(projection.nodes)[p]
        assert approx == pytest.approx(exact, rel=0.01)
    assert len(projection.nodes) < 20   # the point of the quadrature: few nodes per LED


def test_yule_nielsen_n_models_dot_gain():
    """A 50 % tint reflects the area average with n = 1 (Murray–Davies) and less with n = 2,
    because light scattered in the paper is filtered by the dots it exits under."""
    half = np.full((1, 1, 3), 0.5, np.float32)
    projection = led_projection(529)
    paper = PrintedSpectra.from_rgb(np.ones((1, 1, 3), np.float32)).project(projection)[0, 0, 0]
    solid = PrintedSpectra.from_rgb(np.zeros((1, 1, 3), np.float32)).project(projection)[0, 0, 0]
    linear = PrintedSpectra.from_rgb(half, Printer(yule_nielsen_n=1.0)).project(projection)
    yn = PrintedSpectra.from_rgb(half, Printer(yule_nielsen_n=2.0)).project(projection)
    assert linear[0, 0, 0] == pytest.approx((paper + solid) / 2, rel=1e-4)
    assert solid < yn[0, 0, 0] < linear[0, 0, 0]


@pytest.mark.parametrize("ink", INKS)
def test_more_ink_never_reflects_more(ink):
    """Coverage ramps of each ink alone and over a mid-grey of the others: every LED band
    reading falls (or stays) as coverage grows."""
    ramp = np.linspace(0, 1, 21, dtype=np.float32)
    index = INKS.index(ink)
    for background in (0.0, 0.4):
        cmyk = np.full((1, ramp.size, 4), background, np.float32)
        cmyk[0, :, index] = ramp
        spectra = PrintedSpectra(cmyk)
        for nm in DATASET_LEDS:
            band = spectra.project(led_projection(nm))[0, :, 0]
            assert np.all(np.diff(band) <= 1e-6), (ink, background, nm)


def test_overprints_are_darker_than_each_ink():
    for a, b in itertools.combinations(range(4), 2):
        table = primary_reflectance(WAVELENGTHS)
        both = (1 << a) | (1 << b)
        assert np.all(table[both] <= table[1 << a] + 1e-12)
        assert np.all(table[both] <= table[1 << b] + 1e-12)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4)), "HxWx3"),
    (np.full((2, 2, 3), 1.5), r"\[0, 1\]"),
    (np.full((2, 2, 3), np.nan), "finite"),
])
def test_bad_artwork_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        as_float_rgb(bad)


def test_integer_artwork_is_scaled():
    assert as_float_rgb(np.full((1, 1, 3), 255, np.uint8)).max() == 1.0
    assert as_float_rgb(np.full((1, 1, 3), 65535, np.uint16)).max() == 1.0


def test_colorimetric_quadrature_matches_the_full_1nm_integral():
    from device.sim.colorimetry import xyz_weights

    weights = xyz_weights()
    projection = SpectralProjection.from_density(weights)
    table = primary_reflectance(WAVELENGTHS)
    for p in range(16):
        exact = table[p] @ weights
        approx = primary_reflectance(projection.nodes)[p] @ projection.node_weights
        assert np.allclose(approx, exact, rtol=0.02, atol=2e-4), p
