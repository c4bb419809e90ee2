"""Dyed cloth: fibre reflectance times the transmission of the dye on it, in and out.

    R(λ) = R_fibre(λ) · exp(-2 · Σ_i d_i · band_i(λ))

- The fibre: undyed textile reflects flat through the red and NIR (cellulose, polyester and wool
  absorb only beyond 1100 nm), a little less in the violet (natural fibres are slightly yellow):
  R_fibre = ρ · (1 - 0.15 · exp(-(λ - 380) / 60)). ρ, the fabric's NIR reflectance, spans
  0.45-0.85: a loose single layer over a dark backing to a dense white weave (this project's
  assumption; a fabric's reflectance rises with its thickness and density).
- The dyes: organic textile dyes (reactive, direct, acid, disperse) are single absorption bands
  in the visible, Gaussian in wavelength here, whose tails clear before ~750 nm: "most organic
  dyes become transparent past about 750 nm", which is why a black T-shirt dyed with such dyes
  is bright under NIR light. Seven hues stand for the usual dye palette (yellow 420 nm, orange
  485, red 515, magenta 550, navy 580, blue 605, turquoise 625 + 670 nm: the λmax of common
  reactive and disperse dyes).
- The NIR-dark colorants: carbon black pigment (absorbing evenly from the UV through the NIR,
  falling slowly as λ^-0.5) and IR-absorbing vat dyes (anthraquinone olives and greens, the
  colorants of near-IR camouflage: a broad band centred at 700 nm that still absorbs at 850 nm).

`d_i` is each colorant's peak optical depth per pass (the parameters). The prior: one to three
dyes (40 / 40 / 20 %), each a depth from 0.02 (pastel) to 3 (deep), log-uniform; carbon black in
one garment of ten, an IR vat dye in one of twenty (this project's assumptions: the NIR-dark
colorants are the exception in everyday clothes). Checked against the CIE 2017 colour
evaluation samples (colour-science's `load_TCS_CIE2017`) at 780 nm in
tests/device/sim/test_materials.py.
"""
from __future__ import annotations

import numpy as np

from device.sim.materials.family import Family
from device.sim.spectra import WAVELENGTHS

# (λmax nm, σ nm) of each dye's band(s), 1 at the peak
DYES = {"yellow": ((420.0, 35.0),), "orange": ((485.0, 38.0),), "red": ((515.0, 40.0),),
        "magenta": ((550.0, 40.0),), "navy": ((580.0, 55.0),), "blue": ((605.0, 42.0),),
        "turquoise": ((625.0, 28.0), (670.0, 25.0))}
VAT_BAND = (700.0, 110.0)
DYE_SHARES = (0.4, 0.4, 0.2)          # one, two or three dyes
CARBON_SHARE, VAT_SHARE = 0.10, 0.05
DEPTH_RANGE = (0.02, 3.0)
FIBRE_RANGE = (0.45, 0.85)


def _band(centre: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((WAVELENGTHS - centre) / sigma) ** 2)


def colorant_bands() -> np.ndarray:
    """(len(DYES) + 2) × len(WAVELENGTHS): each dye's band, then carbon black, then the vat dye."""
    bands = [np.max([_band(c, s) for c, s in shape], axis=0) for shape in DYES.values()]
    bands.append((WAVELENGTHS / 550.0) ** -0.5)
    bands.append(_band(*VAT_BAND))
    return np.stack(bands)


class Cloth(Family):
    name = "cloth"
    parameters = ("fibre", *DYES, "carbon_black", "vat")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lo, hi = DEPTH_RANGE
        out = np.zeros((n, len(self.parameters)))
        out[:, 0] = rng.uniform(*FIBRE_RANGE, n)
        count = rng.choice(len(DYE_SHARES), n, p=DYE_SHARES) + 1
        for row, k in enumerate(count):
            dyes = rng.choice(len(DYES), k, replace=False)
            out[row, 1 + dyes] = np.exp(rng.uniform(np.log(lo), np.log(hi), k))
        depth = np.exp(rng.uniform(np.log(lo), np.log(hi), (n, 2)))
        out[:, -2] = np.where(rng.random(n) < CARBON_SHARE, depth[:, 0], 0.0)
        out[:, -1] = np.where(rng.random(n) < VAT_SHARE, depth[:, 1], 0.0)
        return out

    def reflectance(self, params: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(np.asarray(params, dtype=np.float64))
        fibre = p[:, [0]] * (1.0 - 0.15 * np.exp(-(WAVELENGTHS - 380.0) / 60.0))
        return fibre * np.exp(-2.0 * p[:, 1:] @ colorant_bands())


CLOTH = Cloth()
