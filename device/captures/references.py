"""A capture set's dark and white references: how they are made, and how raw camera values
become reflectance against them.

Every channel of a capture set is read this way (the set's contract), and so is the paper's
ground truth. Every rig (simulated, real, `device calibrate`) makes its references here.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

# References are averaged over several frames so their noise does not imprint on every scene.
REFERENCE_FRAMES = 8


def mean_reference(frames: Iterable[np.ndarray]) -> np.ndarray:
    """The reference from raw frames of one kind (dark, or white under one LED): uint16 mean."""
    return np.asarray(np.round(np.mean(list(frames), axis=0)), np.uint16)


def normalise(raw: np.ndarray, dark: np.ndarray, white: np.ndarray) -> np.ndarray:
    """(raw - dark) / (white - dark) as float32: reflectance relative to paper white (1.0)."""
    dark = dark.astype(np.float32)
    span = np.maximum(white.astype(np.float32) - dark, 1.0)
    return (raw.astype(np.float32) - dark) / span
