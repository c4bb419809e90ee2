"""The parity bounds every converted file is held to, the worst-sample rule that applies
them, and the onnxruntime session they are measured against. Torch-free: `python -m
convert.viewer` uses them on a machine without torch."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

# The FP16 bound is shared with `device selftest`, so it lives in device.engines (device may not
# import convert); re-exported here for convert's modules.
from device.engines.parity import FP16_MIN_PSNR_DB as FP16_MIN_PSNR_DB


def worst_sample(samples: Iterable, score: Callable) -> tuple[float, str]:
    """The lowest `score(sample)` and that sample's label; a NaN score (a NaN output) counts
    as the worst possible, so it can never pass a bound. No samples is an error, not a pass."""
    worst, worst_label = math.inf, None
    for sample in samples:
        value = score(sample)
        value = value if np.isfinite(value) else -math.inf
        if value <= worst:
            worst, worst_label = value, sample.label
    if worst_label is None:
        raise ValueError("a parity bound needs at least one sample to hold the model to")
    return worst, worst_label


def onnx_session(onnx_path: str | Path):
    """A CPU onnxruntime session: the reference everything else is compared with."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3   # the CPU provider's notes about FP16 Casts are not errors
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
