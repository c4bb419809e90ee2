"""Raw camera values -> reflectance, against a capture set's dark and white references.

Every channel of a capture set is read this way (the set's contract), and so is the paper's
ground truth; the simulator uses it for the same references it renders.
"""
from __future__ import annotations

import numpy as np


def normalise(raw: np.ndarray, dark: np.ndarray, white: np.ndarray) -> np.ndarray:
    """(raw - dark) / (white - dark) as float32: reflectance relative to paper white (1.0)."""
    dark = dark.astype(np.float32)
    span = np.maximum(white.astype(np.float32) - dark, 1.0)
    return (raw.astype(np.float32) - dark) / span
