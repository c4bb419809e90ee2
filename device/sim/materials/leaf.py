"""Leaves: PROSPECT-D, the plate model of leaf optics.

A leaf is N (`structure`) layers of absorbing plates. Each plate's absorption is the sum of its
constituents' contents times their specific absorption coefficients (Féret et al., "PROSPECT-D:
towards modeling leaf optical properties through a complete lifecycle", Remote Sens. Environ.
193:204-215, 2017; coefficients from the authors' MIT-licensed distribution, `tables.py`):

    k(λ) = (Cab·k_chl + Car·k_car + Anth·k_ant + Cbrown·k_brown + Cw·k_water + Cm·k_dry) / N

A plate transmits τ = (1 - k)·e^-k + k²·E1(k) of diffuse light (Allen et al., J. Opt. Soc. Am.
59:1376, 1969); its faces reflect by Fresnel at the leaf material's index n(λ), averaged over
incidence angles with Stern's formula (Appl. Opt. 3:111, 1964) over a cone of 40° for the
first face (light arrives nearly collimated) and 90° inside; the N - 1 further layers combine by
Stokes' pile-of-plates equations (Proc. R. Soc. Lond. 11:545, 1862), N real. This module is our
own numpy implementation of those published equations, vectorised over leaves and wavelengths.

The reflectance is that of one leaf over black, as leaf spectra are measured (LOPEX, CIE TCS14).

The prior (`LEAF.sample`): green leaves mostly, some autumn and dry ones: structure N 1.2-2.5;
chlorophyll a+b 10-80 µg/cm² (a fifth of the leaves 1-15: senescent), carotenoids a fifth to a
third of it; anthocyanins 0-2 µg/cm² (a tenth up to 15: red leaves); brown pigments 0 (a fifth
0-1: dry leaves); water 0.005-0.03 g/cm²; dry matter 0.002-0.015 g/cm² (Féret et al. 2017's
calibration sets span these). Checked against CIE TCS14 "leaf green" at 720/775/810 nm in
tests/device/sim/test_materials.py.
"""
from __future__ import annotations

import numpy as np

from device.sim.materials.family import Family
from device.sim.materials.tables import table

_CONSTITUENTS = ("chl", "car", "ant", "brown", "water", "dry_matter")


def stern_tav(alpha_deg: float, n: np.ndarray) -> np.ndarray:
    """Transmissivity of a dielectric plane surface of index n, averaged over all directions of
    incidence within a cone of half-angle `alpha_deg` and over polarisations (Stern 1964)."""
    n = np.asarray(n, dtype=np.float64)
    n2 = n * n
    np_, nm = n2 + 1.0, n2 - 1.0
    a = (n + 1.0) ** 2 / 2.0
    k = -(n2 - 1.0) ** 2 / 4.0
    sa2 = np.sin(np.deg2rad(alpha_deg)) ** 2
    b1 = 0.0 if alpha_deg == 90 else np.sqrt((sa2 - np_ / 2.0) ** 2 + k)
    b = b1 - (sa2 - np_ / 2.0)
    ts = (k * k / (6.0 * b ** 3) + k / b - b / 2.0) - (k * k / (6.0 * a ** 3) + k / a - a / 2.0)
    tp1 = -2.0 * n2 * (b - a) / np_ ** 2
    tp2 = -2.0 * n2 * np_ * np.log(b / a) / nm ** 2
    tp3 = n2 * (1.0 / b - 1.0 / a) / 2.0
    tp4 = (16.0 * n2 ** 2 * (n2 ** 2 + 1.0) * np.log((2.0 * np_ * b - nm ** 2)
                                                     / (2.0 * np_ * a - nm ** 2))
           / (np_ ** 3 * nm ** 2))
    tp5 = (16.0 * n2 ** 3 * (1.0 / (2.0 * np_ * b - nm ** 2) - 1.0 / (2.0 * np_ * a - nm ** 2))
           / np_ ** 3)
    return (ts + tp1 + tp2 + tp3 + tp4 + tp5) / (2.0 * sa2)


def prospect(structure: np.ndarray, contents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reflectance, transmittance), each n × len(WAVELENGTHS), of leaves with N = `structure`
    (n,) and `contents` (n × 6: chlorophyll a+b, carotenoids, anthocyanins in µg/cm², brown
    pigments, water and dry matter in g/cm²)."""
    from scipy.special import exp1

    constants = table("prospect_d")
    specific = np.stack([constants[c] for c in _CONSTITUENTS])            # 6 × λ
    big_n = np.asarray(structure, dtype=np.float64)[:, None]
    k = np.asarray(contents, dtype=np.float64) @ specific / big_n
    k = np.maximum(k, 1e-12)     # no constituent absorbs at all: the plate is clear (τ = 1)
    tau = (1.0 - k) * np.exp(-k) + k * k * exp1(k)
    n = constants["nrefrac"]
    t_alpha, t12 = stern_tav(40.0, n), stern_tav(90.0, n)
    r_alpha, r12 = 1.0 - t_alpha, 1.0 - t12
    t21 = t12 / n ** 2
    r21 = 1.0 - t21
    # one plate: light entering through the top (Ta, Ra) and diffuse light inside (t, r)
    denom = 1.0 - r21 * r21 * tau * tau
    ta = t_alpha * tau * t21 / denom
    ra = r_alpha + r21 * tau * ta
    t = t12 * tau * t21 / denom
    r = r12 + r21 * tau * t
    # the N - 1 layers beneath, by Stokes' equations
    d = np.sqrt(np.maximum((1 + r + t) * (1 + r - t) * (1 - r + t) * (1 - r - t), 0.0))
    a = (1.0 + r * r - t * t + d) / (2.0 * r)
    b = (1.0 - r * r + t * t + d) / (2.0 * t)
    b_n1 = b ** (big_n - 1.0)
    b_n2 = b_n1 ** 2
    denom = a * a * b_n2 - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        r_sub = a * (b_n2 - 1.0) / denom
        t_sub = b_n1 * (a * a - 1.0) / denom
    clear = r + t >= 1.0 - 1e-12     # no absorption: Stokes' limit
    t_clear = t / (t + (1.0 - t) * (big_n - 1.0))
    t_sub = np.where(clear, t_clear, t_sub)
    r_sub = np.where(clear, 1.0 - t_clear, r_sub)
    denom = 1.0 - r_sub * r
    return ra + ta * r_sub * t / denom, ta * t_sub / denom


class Leaf(Family):
    name = "leaf"
    parameters = ("structure", "chlorophyll", "carotenoids", "anthocyanins", "brown", "water",
                  "dry_matter")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random((n, 9))
        structure = 1.2 + 1.3 * u[:, 0]
        senescent = u[:, 1] < 0.2
        chlorophyll = np.where(senescent, 1.0 + 14.0 * u[:, 2], 10.0 + 70.0 * u[:, 2])
        carotenoids = chlorophyll * (0.2 + (1 / 3 - 0.2) * u[:, 3])
        red = u[:, 4] < 0.1
        anthocyanins = np.where(red, 15.0, 2.0) * u[:, 5]
        brown = np.where(u[:, 6] < 0.2, u[:, 7], 0.0)
        water = 0.005 + 0.025 * rng.random(n)
        dry = 0.002 + 0.013 * u[:, 8]
        return np.stack([structure, chlorophyll, carotenoids, anthocyanins, brown, water, dry],
                        axis=1)

    def reflectance(self, params: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(np.asarray(params, dtype=np.float64))
        return prospect(p[:, 0], p[:, 1:])[0]


LEAF = Leaf()
