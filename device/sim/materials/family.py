"""`Family`: a kind of surface the simulated rig can look at, as a spectral model with a prior.

A family turns a parameter array (one row per surface, columns `parameters`) into absolute
reflectance on the twin's 1 nm grid (`reflectance`), draws surfaces from its prior (`sample`),
and finds the surface of its prior whose daylight colour is nearest to an sRGB colour
(`match`), which is how generated pictures (a Monk skin tone, a leaf green, a shirt colour)
become surfaces of the family.
"""
from __future__ import annotations

import functools

import numpy as np

from device.sim.spectra import SIM_INKS, WAVELENGTHS

MATCH_TABLE = 4096      # prior draws a colour is matched against (per family, cached)
_MATCH_SEED = 0x3A7C


class Family:
    name: str = ""
    parameters: tuple[str, ...] = ()

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n × len(parameters) draws from the family's prior."""
        raise NotImplementedError

    def reflectance(self, params: np.ndarray) -> np.ndarray:
        """n × len(WAVELENGTHS) absolute diffuse reflectance of the surfaces `params`."""
        raise NotImplementedError

    def match(self, rgb: np.ndarray) -> np.ndarray:
        """Parameters (n × P) of the prior surfaces whose daylight colour (CIE 1931, D65,
        relative to the sim's paper) is nearest in CIELAB to each sRGB colour of `rgb`
        (n × 3, [0, 1]): the family's version of a painted colour."""
        params, lab = _match_table(self)
        from device.sim.colorimetry import srgb_to_lab

        target = srgb_to_lab(np.asarray(rgb, dtype=np.float64).reshape(-1, 3))
        # squared distances by expansion: n × MATCH_TABLE without an n × table × 3 temporary
        d = (target ** 2).sum(1)[:, None] - 2.0 * target @ lab.T + (lab ** 2).sum(1)[None, :]
        return params[np.argmin(d, axis=1)]


def daylight_lab(spectra: np.ndarray, paper: np.ndarray | None = None) -> np.ndarray:
    """CIELAB (n × 3) of surfaces of reflectance `spectra` (n × len(WAVELENGTHS)) seen in
    daylight beside white paper: CIE 1931 2° under D65, relative to the paper (default: the
    sim's), clipped to sRGB as the `human` truth is."""
    from device.sim.colorimetry import srgb_to_lab, xyz_to_srgb, xyz_weights

    weights = xyz_weights()
    paper = SIM_INKS.paper(WAVELENGTHS) if paper is None else paper
    return srgb_to_lab(xyz_to_srgb(np.asarray(spectra) @ weights, paper @ weights))


@functools.lru_cache(maxsize=None)
def _match_table(family: Family) -> tuple[np.ndarray, np.ndarray]:
    params = family.sample(np.random.default_rng([_MATCH_SEED]), MATCH_TABLE)
    return params, daylight_lab(family.reflectance(params))
