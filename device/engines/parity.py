"""How closely an engine must agree with its reference: the one bound that `convert` holds every
FP16 form to (the FP16 network and viewer graph, the TensorRT engine, each against the FP32
ONNX) and that `device selftest` holds the rig's engine to on a triplet it has just captured.
It lives here, below both, because the viewer may not import `convert`."""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# FP16 forms (network, viewer graph, TensorRT engine) against their FP32 reference, in sRGB:
# 40 dB is an rms error of 2.55 of 255 codes, about one code in three of noise-like rounding.
FP16_MIN_PSNR_DB = 40.0
# Identical images would give infinity, which JSON cannot carry: they score this instead.
IDENTICAL_DB = 200.0


def srgb_psnr_db(reference: NDArray[np.generic], test: NDArray[np.generic]) -> float:
    """PSNR of two 8-bit sRGB images (codes 0-255, any numeric dtype), peak 255."""
    error = reference.astype(np.float64) - test.astype(np.float64)
    mse = max(float(np.mean(error ** 2)) / 255.0 ** 2, 10.0 ** (-IDENTICAL_DB / 10))
    return float(10 * np.log10(1.0 / mse))
