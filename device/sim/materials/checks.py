"""Each material model against its check data (`device sim materials`; the tests assert them).

- skin: NIST's 100 forearms span 0.43-0.68 at 780 nm and about 3.7x at 550 nm (Cooksey, Allen &
  Tsai, "Reference data set of human skin reflectance", J. Res. NIST 122:26, 2017). The model's
  skins that span the same 3.7x at 550 nm, from the lightest down, must read within that range
  at 780 nm: the melanin that darkens the visible must fade into the NIR as measured.
- skin: CIE TCS13 "human complexion" (colour-science), fitted within physiological bounds.
- leaf: CIE TCS14 "leaf green" (colour-science), PROSPECT-D fitted to its whole 400-830 nm
  spectrum within the prior's bounds except brown pigments (up to 2, the prior stops at 1),
  read at 720, 775 and 810 nm.
- cloth: the 99 CIE 2017 colour evaluation samples (colour-science's `load_TCS_CIE2017`):
  their median reflectance at 780 nm against the cloth prior's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.sim.materials.cloth import CLOTH
from device.sim.materials.family import Family
from device.sim.materials.leaf import LEAF
from device.sim.materials.skin import SKIN
from device.sim.spectra import WAVELENGTHS

NIST_780 = (0.43, 0.68)       # Cooksey et al. 2017, 100 forearms
NIST_SPREAD_550 = 3.7
POPULATION = 3000             # prior draws per population check


@dataclass(frozen=True)
class Check:
    family: str
    what: str
    data: float
    model: float
    tolerance: float

    @property
    def passed(self) -> bool:
        return abs(self.model - self.data) <= self.tolerance


def at(spectra: np.ndarray, nm: float) -> np.ndarray:
    return spectra[..., int(np.searchsorted(WAVELENGTHS, nm))]


def _tcs(name: str) -> tuple[np.ndarray, np.ndarray]:
    from colour.quality.datasets.tcs import SDS_TCS

    sd = SDS_TCS["CIE 1995"][name]
    return sd.wavelengths, sd.values


def fit_spectrum(family: Family, nm: np.ndarray, target: np.ndarray, start, low, high
                 ) -> np.ndarray:
    """The family's spectrum (on WAVELENGTHS) least-squares fitted to `target` at `nm`."""
    from scipy.optimize import least_squares

    index = np.searchsorted(WAVELENGTHS, nm)
    result = least_squares(lambda x: family.reflectance(x[None])[0][index] - target, start,
                           bounds=(low, high))
    return family.reflectance(result.x[None])[0]


def skin_nist(seed: int = 1) -> list[Check]:
    spectra = SKIN.reflectance(SKIN.sample(np.random.default_rng(seed), POPULATION))
    r550, r780 = at(spectra, 550), at(spectra, 780)
    cohort = r780[r550 >= r550.max() / NIST_SPREAD_550]
    low, high = NIST_780
    return [Check("skin", "NIST cohort, 780 nm, darkest", low, float(cohort.min()), 0.03),
            Check("skin", "NIST cohort, 780 nm, lightest", high, float(cohort.max()), 0.03),
            Check("skin", "NIST cohort, 780 nm, lightest / darkest", high / low,
                  float(cohort.max() / cohort.min()), 0.2)]


def skin_tcs13() -> list[Check]:
    nm, values = _tcs("TCS13")
    keep = (nm >= 400) & (nm <= 780)
    # bounds: melanin 0.5-45 %, blood 0.1-10 %, saturation 0-1, epidermis 30-150 µm, μs' ×0.5-2
    model = fit_spectrum(SKIN, nm[keep], values[keep], [0.02, 0.02, 0.8, 80, 1.0],
                         [0.005, 0.001, 0.0, 30, 0.5], [0.45, 0.1, 1.0, 150, 2.0])
    rms = float(np.sqrt(np.mean((model[np.searchsorted(WAVELENGTHS, nm[keep])]
                                 - values[keep]) ** 2)))
    return [Check("skin", f"TCS13 at {w} nm", float(np.interp(w, nm, values)),
                  float(at(model, w)), 0.03) for w in (720, 775, 810)] + \
        [Check("skin", "TCS13, rms 400-780 nm", 0.0, rms, 0.06)]


def leaf_tcs14() -> list[Check]:
    nm, values = _tcs("TCS14")
    keep = nm >= 400
    # the prior's bounds (leaf.py), but brown pigments up to 2: TCS14's red edge rises more
    # gently than a fresh leaf's, and brown pigments are what soften it in PROSPECT-D
    model = fit_spectrum(LEAF, nm[keep], values[keep], [1.5, 40, 10, 0.5, 0.2, 0.012, 0.006],
                         [1.2, 1.0, 0.2, 0.0, 0.0, 0.005, 0.002],
                         [2.5, 80.0, 27.0, 15.0, 2.0, 0.03, 0.015])
    return [Check("leaf", f"TCS14 at {w} nm", float(np.interp(w, nm, values)),
                  float(at(model, w)), 0.05) for w in (720, 775, 810)]


def cloth_cie2017(seed: int = 3) -> list[Check]:
    import colour
    from colour.quality.cfi2017 import load_TCS_CIE2017

    samples = load_TCS_CIE2017(colour.SpectralShape(380, 780, 5)).values   # 81 × 99
    spectra = CLOTH.reflectance(CLOTH.sample(np.random.default_rng(seed), POPULATION))
    return [Check("cloth", "CIE 2017 samples, median at 780 nm", float(np.median(samples[-1])),
                  float(np.median(at(spectra, 780))), 0.1)]


def all_checks() -> list[Check]:
    return [*skin_nist(), *skin_tcs13(), *leaf_tcs14(), *cloth_cie2017()]
