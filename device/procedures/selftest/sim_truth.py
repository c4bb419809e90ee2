"""On the simulated rig, what really lit each row of a sub-frame: the simulated camera keeps a
record of it (device.simulated.row_light reads the same), which confirms step 4's row profiles."""
from __future__ import annotations

from typing import Sequence

from device.simulated.lit_by_sim_leds import LitBySimLeds
from device.simulated.row_light import RowLightMeter
from device.viewer.cameras import Camera
from device.viewer.strobe import SubFrame


def simulated_rows(camera: Camera | None,
                   subs: Sequence[SubFrame]) -> tuple[int, int, float] | None:
    """(rows, rows mixed, largest spread of the light over a frame's rows) over `subs`, each
    judged against the LED that gave it most light (a swapped or dead LED is step 3's
    finding, not a mixed row); None when the camera is not simulated."""
    if not isinstance(camera, LitBySimLeds):
        return None
    rows = mixed = 0
    spread = 0.0
    for sub in subs:
        light = camera.row_light.get(sub.exposure_start)
        if light is None:
            continue
        totals = {nm: float(seconds.sum()) for nm, seconds in light.items()}
        dominant = max(totals, key=lambda nm: totals[nm]) if totals else None
        intended = None if sub.nm is None else dominant
        r, m, s = RowLightMeter.judge(intended, light, len(camera.row_starts))
        rows, mixed, spread = rows + r, mixed + m, max(spread, s)
    return rows, mixed, spread
