"""What `device demo --json` and the video tests measure on a run of the simulated rig: colour
error against the eye's truth, shimmer, recovery after a scene cut, settling of automatic
exposure after a light step, clipped pixels. Plain functions of frames and numbers, so the
tests hold them to hand-made cases."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from device.simulated.presets import EDGE_PX


def delta_e00_map(rgb8: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """CIEDE2000 per pixel between a color frame (uint8) and a reference (float sRGB, or
    uint8), the border (EDGE_PX) left out."""
    from device.sim import delta_e00

    e = EDGE_PX
    ref = reference.astype(np.float32) / (255.0 if reference.dtype == np.uint8 else 1.0)
    return delta_e00(rgb8[e:-e, e:-e].astype(np.float32) / 255.0, ref[e:-e, e:-e])


def shimmer(frames: Sequence[np.ndarray]) -> float:
    """The mean CIEDE2000 of each frame to the frames' temporal mean (sRGB): on a print that
    does not move, how much the colours boil from frame to frame."""
    if len(frames) < 2:
        raise ValueError("shimmer needs two frames at least")
    mean = np.mean([f.astype(np.float32) / 255.0 for f in frames], axis=0)
    return float(np.mean([delta_e00_map(f, mean).mean() for f in frames]))


def recovery_frames(errors: Sequence[float], steady: float, tolerance: float = 1.0) -> int:
    """How many frames it takes until every later one is within `tolerance` of `steady`:
    1 when the first already is; len + 1 when the last still is not."""
    within = np.abs(np.asarray(errors, np.float64) - steady) <= tolerance
    outside = np.flatnonzero(~within)
    return 1 if outside.size == 0 else int(outside[-1]) + 2


def settle_frames(products: Sequence[float], final: float, tolerance: float = 0.1) -> int:
    """Frames until an exposure stays within `tolerance` (relative) of its final value, counted
    as in `recovery_frames`."""
    values = np.asarray(products, np.float64)
    within = np.abs(values / final - 1.0) <= tolerance
    outside = np.flatnonzero(~within)
    return 1 if outside.size == 0 else int(outside[-1]) + 2


def clipped_fraction(images: Sequence[np.ndarray], saturation: float) -> float:
    """The share of raw pixels at or above the sensor's saturation code."""
    if not images:
        return 0.0
    return float(np.mean([np.count_nonzero(i >= saturation) / i.size for i in images]))
