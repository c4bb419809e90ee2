"""What each row of each kept sub-frame was lit by, on the simulated camera: the check that a
strobe timing gives clean sub-frames on a rolling shutter.

`RowLightMeter` is a sub-frame stage (`Pipeline(..., stages=[meter])`): for every sub-frame the
strobe keeps it looks up the simulated camera's per-row light record and counts the rows that got
more than 0.1 % of their LED light from another LED than the intended one (or no light from it),
the spread of the intended light over the rows (bands), and the rate of kept sub-frames on the
camera's clock.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from device.simulated.lit_by_sim_leds import LitBySimLeds
from device.viewer.cameras import Camera
from device.viewer.strobe import SubFrame

MIXED_SHARE = 1e-3       # a row with more than this share of its LED light from another LED


class RowLightMeter:
    name = "row light"

    def __init__(self, camera_of: Callable[[], Camera | None]):
        self.camera_of = camera_of         # the pipeline's camera (it may be reconnected)
        self.rows = 0
        self.mixed_rows = 0
        self.spread = 0.0                  # largest (max - min) / max of intended light
        self.unknown = 0                   # sub-frames the camera kept no record of
        self.starts: list[float] = []

    def __call__(self, sub: SubFrame) -> SubFrame:
        camera = self.camera_of()
        light = (camera.row_light.get(sub.exposure_start)
                 if isinstance(camera, LitBySimLeds) else None)
        if light is None:
            self.unknown += 1
            return sub
        rows = len(camera.row_starts) if isinstance(camera, LitBySimLeds) else 0
        self.count(sub.nm, light, rows)
        self.starts.append(sub.exposure_start)
        return sub

    def count(self, nm: int | None, light: dict[int, np.ndarray], rows: int) -> None:
        """Add one sub-frame meant for LED `nm` (None: dark) whose rows got `light`."""
        total = np.zeros(rows)
        for seconds in light.values():
            total = total + seconds
        intended = light.get(nm, np.zeros(rows)) if nm is not None else np.zeros(rows)
        if nm is None:
            mixed = total > 0
        else:
            mixed = (intended <= 0) | (total - intended > MIXED_SHARE * total)
        self.rows += rows
        self.mixed_rows += int(np.count_nonzero(mixed))
        if nm is not None and intended.max() > 0:
            self.spread = max(self.spread, float(np.ptp(intended) / intended.max()))

    @property
    def mixed_share(self) -> float:
        return self.mixed_rows / self.rows if self.rows else 0.0

    @property
    def fps(self) -> float:
        """Kept sub-frames per second on the camera's clock (their exposure starts)."""
        if len(self.starts) < 2:
            return 0.0
        return (len(self.starts) - 1) / (max(self.starts) - min(self.starts))
