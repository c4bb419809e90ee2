"""LED emission spectra: the paper's six dataset LEDs and its 31-LED palette."""
from __future__ import annotations

import numpy as np

DATASET_LEDS = (447, 529, 604, 718, 777, 807)
VISIBLE_LEDS = (447, 529, 604)      # the paper's ground truth: device.captures.truth
NIR_LEDS = (718, 777, 807)          # the viewer's inputs: the three ink curves do not overlap
PALETTE_LEDS = (397, 408, 427, 447, 466, 480, 495, 507, 519, 529, 530, 562, 594, 604, 618, 630,
                636, 660, 665, 692, 697, 718, 734, 748, 760, 777, 807, 854, 910, 950, 971)
# The paper gives no bandwidths; 30 nm FWHM is typical of single-colour and NIR LEDs.
DEFAULT_FWHM_NM = 30.0

# Ohno (2005) LED shape: s = (g + 2 g^5) / 3 with g = exp(-((λ-λ0)/Δ)^2), the model behind
# colour.sd_single_led_Ohno2005. s = 1/2 where g = _G_HALF (root of g + 2 g^5 = 3/2), so the
# full width at half maximum is 2·Δ·sqrt(-ln _G_HALF).
_G_HALF = 0.808609


def led_emission(centre_nm: float, fwhm_nm: float, nm) -> np.ndarray:
    """Relative spectral power of an LED at wavelengths `nm`, peak 1.0, with the given FWHM."""
    if fwhm_nm <= 0:
        raise ValueError(f"LED bandwidth must be positive, got {fwhm_nm} nm")
    delta = fwhm_nm / (2.0 * np.sqrt(-np.log(_G_HALF)))
    g = np.exp(-(((np.asarray(nm, dtype=np.float64) - centre_nm) / delta) ** 2))
    return (g + 2.0 * g**5) / 3.0
