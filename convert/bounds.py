"""The parity bounds every converted file is held to, and the worst-sample rule that applies
them. Torch-free: `python -m convert.viewer` uses them on a machine without torch."""
from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

# FP16 forms (network, viewer graph, TensorRT engine) against their FP32 reference, in sRGB.
FP16_MIN_PSNR_DB = 40.0


def worst_sample(samples: Iterable, score: Callable) -> tuple[float, str]:
    """The lowest `score(sample)` and that sample's label; a NaN score (a NaN output) counts
    as the worst possible, so it can never pass a bound."""
    worst, worst_label = float("inf"), ""
    for sample in samples:
        value = score(sample)
        value = value if np.isfinite(value) else -float("inf")
        if value <= worst:
            worst, worst_label = value, sample.label
    return worst, worst_label
