"""What a person sees: CIE 1931 2° observer under D65, sRGB, CIELAB and ΔE00.

colour-science is imported inside each function (it takes a second to import and the viewer
never needs it)."""
from __future__ import annotations

import numpy as np

from device.sim.spectra import WAVELENGTHS

OBSERVER = "CIE 1931 2 Degree Standard Observer"
VISIBLE = (WAVELENGTHS >= 380) & (WAVELENGTHS <= 780)


def xyz_weights() -> np.ndarray:
    """len(WAVELENGTHS) × 3 weights so that Σ_λ R(λ)·w(λ) is the XYZ of a surface of
    reflectance R under D65, scaled so that a perfect white diffuser has Y = 1."""
    import colour

    cmfs = colour.MSDS_CMFS[OBSERVER]
    d65 = colour.SDS_ILLUMINANTS["D65"]
    nm = WAVELENGTHS[VISIBLE]
    w = np.zeros((len(WAVELENGTHS), 3))
    w[VISIBLE] = cmfs[nm] * d65[nm][:, None]
    return w / w[:, 1].sum()


def xyz_to_srgb(xyz: np.ndarray, white_xyz: np.ndarray) -> np.ndarray:
    """XYZ of surfaces seen beside a white of `white_xyz` → sRGB in [0, 1] (float32).

    The eye adapts to the paper: `white_xyz` is mapped onto D65 white (Bradford), so bare
    paper shows as sRGB (1, 1, 1) — media-relative colorimetry, as for a print on a desk."""
    import colour

    d65 = colour.xy_to_XYZ(colour.CCS_ILLUMINANTS[OBSERVER]["D65"])
    adapt = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        np.asarray(white_xyz, dtype=np.float64), d65, transform="Bradford")
    to_rgb = colour.RGB_COLOURSPACES["sRGB"].matrix_XYZ_to_RGB @ adapt
    linear = np.clip(xyz.astype(np.float32) @ to_rgb.T.astype(np.float32), 0.0, 1.0)
    return srgb_encode(linear)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 transfer function, float32 (colour's generic version is 10x slower)."""
    curved = np.float32(1.055) * np.power(linear, np.float32(1 / 2.4)) - np.float32(0.055)
    return np.where(linear <= 0.0031308, np.float32(12.92) * linear, curved).astype(np.float32)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB in [0, 1] → CIELAB (D65 white)."""
    import colour

    with colour.utilities.suppress_warnings(colour_usage_warnings=True):
        return colour.XYZ_to_Lab(colour.sRGB_to_XYZ(np.asarray(rgb, dtype=np.float64)))


def delta_e00(rgb_a: np.ndarray, rgb_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between two sRGB images, per pixel (HxW)."""
    return delta_e00_lab(srgb_to_lab(rgb_a), srgb_to_lab(rgb_b))


def delta_e00_lab(lab_a: np.ndarray, lab_b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between CIELAB values, per pixel or row (colour-science)."""
    import colour

    return colour.delta_E(lab_a, lab_b, method="CIE 2000")
