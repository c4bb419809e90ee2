"""Skin: a two-layer model of melanin in the epidermis over blood in the dermis.

The absorbers and the scattering are Jacques' published closed forms and Prahl's haemoglobin
table; the layering is the usual one for skin colour:

- Epidermis: melanosomes (volume fraction `melanin`) absorbing
  μa,mel = 6.6·10¹¹ · λ^-3.33 cm⁻¹ (λ in nm), the rest bloodless tissue absorbing
  μa,base = 0.244 + 85.3 · exp(-(λ - 154) / 66.2) cm⁻¹ (S. L. Jacques, "Skin optics", Oregon
  Medical Laser Center News, Jan 1998). Light crosses it in and out:
  T² = exp(-2 · μa,epi · L) with L the epidermis' thickness (`epidermis_um`).
- Dermis, semi-infinite: blood (volume fraction `blood`, 150 g/L haemoglobin of 64 500 g/mol,
  oxygen saturation `oxygen`, Prahl's molar extinction: `tables.py`), 65 % water (PROSPECT's
  water absorption, `tables.py`) and bloodless tissue. Blood sits in vessels, not spread
  evenly, so where it absorbs strongly (the Soret band, 415 nm) the inside of a vessel is
  shadowed: its absorption is scaled by the packaging factor (1 - exp(-2·μa,blood·r)) /
  (2·μa,blood·r) for vessels of radius r = 15 µm (Svaasand et al., Lasers Med. Sci. 10:55,
  1995; van Veen et al., Proc. SPIE 4431, 2001). Without it the model, fitted to TCS13, drops
  the blood and misses the red step of haemoglobin altogether. Reduced scattering
  μs' = 46.0 · (λ / 500 nm)^-1.421 cm⁻¹ (Jacques, "Optical properties of biological tissues:
  a review", Phys. Med. Biol. 58:R37, 2013, Table 2, skin), times a per-person factor
  (`scattering`). Its diffuse reflectance is the diffusion-theory result for a semi-infinite
  medium (Farrell, Patterson & Wilson, Med. Phys. 19:879, 1992) with the index-mismatch factor
  A of n = 1.4:  R_d = a'/2 · (1 + exp(-4/3 · A · √(3(1-a')))) · exp(-√(3(1-a'))),
  a' = μs' / (μa + μs').
- The surface: a specular share of 3 % (Fresnel at n ≈ 1.4 for diffuse light is 4-6 %, and a
  sphere's 8° measurement catches part of it), then the body reflectance:
  R = 0.03 + 0.97 · T² · R_d.

The prior (`SKIN.sample`): melanin 1.3-43 % (Jacques 1998: light-skinned adults 1.3-6.3 %,
moderately pigmented 11-16 %, darkly pigmented 18-43 %), log-uniform so every tone gets its
share; blood 0.5-5 %; oxygen saturation 60-95 %; epidermis 60-100 µm; scattering ×0.8-1.25
(person-to-person spread of μs'). Daylight lightness L* 25-82: the Monk scale's MST 5-8
(L* 78-31); its MST 1-4 swatches (L* 88-94) are lighter and MST 9-10 (L* 21, 15) darker than
any skin this model makes, so faces painted in them get the nearest skin it has.

Checks (tests/device/sim/test_materials.py): NIST's 100 forearms (Cooksey, Allen & Tsai, J. Res.
NIST 122:26, 2017) span 0.43-0.68 at 780 nm and about 3.7x at 550 nm; the model's skins that
span that 3.7x at 550 nm (the lighter part of the prior: NIST's cohort had no very dark skin)
read within that range at 780 nm. Darker skins, which the prior includes, fall to about 0.25
at 780 nm: an extrapolation of the same physics beyond the check data. CIE TCS13 ("human
complexion", a skin lighter than any of NIST's): the model fitted to it within physiological
bounds misses its steep 560-600 nm rise (rms 0.05 over 400-780 nm, up to 0.14 at 580 nm) but
reads its NIR at 720/775/810 nm within 0.02.
"""
from __future__ import annotations

import numpy as np

from device.sim.materials.family import Family
from device.sim.materials.tables import table
from device.sim.spectra import WAVELENGTHS

HAEMOGLOBIN_G_PER_L = 150.0
HAEMOGLOBIN_G_PER_MOL = 64500.0
DERMIS_WATER = 0.65
SPECULAR = 0.03
VESSEL_RADIUS_CM = 15e-4
_N = 1.4
_R_ID = -1.440 / _N**2 + 0.710 / _N + 0.668 + 0.0636 * _N   # internal diffuse reflection
INDEX_MISMATCH_A = (1 + _R_ID) / (1 - _R_ID)                 # A ≈ 3.25 at n = 1.4


def melanin_absorption(nm=WAVELENGTHS) -> np.ndarray:
    """μa of the melanosome interior, cm⁻¹ (Jacques 1998)."""
    return 6.6e11 * np.asarray(nm, dtype=np.float64) ** -3.33


def baseline_absorption(nm=WAVELENGTHS) -> np.ndarray:
    """μa of bloodless, melanin-free skin, cm⁻¹ (Jacques 1998)."""
    return 0.244 + 85.3 * np.exp(-(np.asarray(nm, dtype=np.float64) - 154.0) / 66.2)


def blood_absorption(oxygen) -> np.ndarray:
    """μa of whole blood (n × len(WAVELENGTHS)), cm⁻¹, at oxygen saturation `oxygen` (n,)."""
    hb = table("hemoglobin")
    per_molar = 2.303 * HAEMOGLOBIN_G_PER_L / HAEMOGLOBIN_G_PER_MOL
    s = np.asarray(oxygen, dtype=np.float64)[:, None]
    return per_molar * (s * hb["oxy"] + (1.0 - s) * hb["deoxy"])


def reduced_scattering(nm=WAVELENGTHS) -> np.ndarray:
    """μs' of skin, cm⁻¹ (Jacques 2013, Table 2)."""
    return 46.0 * (np.asarray(nm, dtype=np.float64) / 500.0) ** -1.421


def diffuse_reflectance(mua: np.ndarray, musp: np.ndarray) -> np.ndarray:
    """Total diffuse reflectance of a semi-infinite turbid medium (Farrell et al. 1992)."""
    albedo = musp / (mua + musp)
    root = np.sqrt(3.0 * (1.0 - albedo))
    return albedo / 2.0 * (1.0 + np.exp(-4.0 / 3.0 * INDEX_MISMATCH_A * root)) * np.exp(-root)


class Skin(Family):
    name = "skin"
    parameters = ("melanin", "blood", "oxygen", "epidermis_um", "scattering")
    # (low, high, log-uniform?) per parameter: see the module docstring for the sources
    PRIOR = ((0.013, 0.43, True), (0.005, 0.05, True), (0.6, 0.95, False),
             (60.0, 100.0, False), (0.8, 1.25, False))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        u = rng.random((n, len(self.PRIOR)))
        out = np.empty_like(u)
        for i, (low, high, log) in enumerate(self.PRIOR):
            out[:, i] = (np.exp(np.log(low) + u[:, i] * np.log(high / low)) if log
                         else low + u[:, i] * (high - low))
        return out

    def reflectance(self, params: np.ndarray) -> np.ndarray:
        p = np.atleast_2d(np.asarray(params, dtype=np.float64))
        melanin, blood, oxygen, epidermis_um, scattering = (p[:, [i]] for i in range(5))
        base = baseline_absorption()
        epidermis = melanin * melanin_absorption() + (1.0 - melanin) * base
        transmitted = np.exp(-2.0 * epidermis * epidermis_um * 1e-4)
        water = table("prospect_d")["water"]
        in_blood = blood_absorption(oxygen[:, 0])
        depth = 2.0 * in_blood * VESSEL_RADIUS_CM
        packaged = in_blood * (-np.expm1(-depth) / depth)
        dermis = (blood * packaged + DERMIS_WATER * water
                  + (1.0 - blood - DERMIS_WATER) * base)
        body = transmitted * diffuse_reflectance(dermis, scattering * reduced_scattering())
        return SPECULAR + (1.0 - SPECULAR) * body


SKIN = Skin()
