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
        self.unknown = 0                   # sub-frames the camera kept no record of
        # per kept sub-frame: exposure start and end, rows, mixed rows, intended-light spread
        self.records: list[tuple[float, float, int, int, float]] = []

    def __call__(self, sub: SubFrame) -> SubFrame:
        camera = self.camera_of()
        light = (camera.row_light.get(sub.exposure_start)
                 if isinstance(camera, LitBySimLeds) else None)
        if light is None or not isinstance(camera, LitBySimLeds):
            self.unknown += 1
            return sub
        rows, mixed, spread = self.judge(sub.nm, light, len(camera.row_starts))
        self.records.append((sub.exposure_start, sub.exposure_end, rows, mixed, spread))
        return sub

    @staticmethod
    def judge(nm: int | None, light: dict[int, np.ndarray], rows: int) -> tuple[int, int, float]:
        """(rows, rows mixed, spread) of one sub-frame meant for LED `nm` (None: dark):
        a row is mixed when more than 0.1 % of its LED light came from another LED, or none
        from the intended one; spread is (max - min) / max of the intended light."""
        total = np.zeros(rows)
        for seconds in light.values():
            total = total + seconds
        intended = light.get(nm, np.zeros(rows)) if nm is not None else np.zeros(rows)
        if nm is None:
            mixed = total > 0
        else:
            mixed = (intended <= 0) | (total - intended > MIXED_SHARE * total)
        spread = (float(np.ptp(intended) / intended.max())
                  if nm is not None and intended.max() > 0 else 0.0)
        return rows, int(np.count_nonzero(mixed)), spread

    def kept(self, until: float = float("inf")) -> list[tuple[float, float, int, int, float]]:
        """The sub-frames exposed by `until` (the run's end: a stop switches the LEDs off under
        the exposure in flight, which then shows no LED and feeds no colour frame)."""
        return [r for r in self.records if r[1] <= until]

    def mixed_share(self, until: float = float("inf")) -> float:
        kept = self.kept(until)
        rows = sum(r[2] for r in kept)
        return sum(r[3] for r in kept) / rows if rows else 0.0

    def spread(self, until: float = float("inf")) -> float:
        return max((r[4] for r in self.kept(until)), default=0.0)

    def fps(self, until: float = float("inf")) -> float:
        """Kept sub-frames per second on the camera's clock (their exposure starts)."""
        starts = [r[0] for r in self.kept(until)]
        if len(starts) < 2:
            return 0.0
        return (len(starts) - 1) / (max(starts) - min(starts))
