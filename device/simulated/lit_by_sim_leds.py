"""Cameras lit by the simulated LED bank: each frame mixes the per-LED images by how long each
LED was on during its exposure, so a strobe that is late, early or overlapping shows in the
picture. The base of the replay and the simulated camera."""
from __future__ import annotations

import math
import time

import numpy as np

from numpy.typing import NDArray

from device.common.errors import UserError
from device.common.uri import Uri
from device.simulated.sim_leds import SimLeds
from device.viewer.cameras import CameraError, CameraOptions, Frame


def injected_stall(uri: Uri) -> int | None:
    """Fault injection for tests: `?stall_after=N` stops delivering frames after N."""
    return int(uri.params["stall_after"]) if "stall_after" in uri.params else None


class LitBySimLeds:
    """Exposure timing shared by the replay and simulated cameras.

    `trigger` sync: an exposure starts on each trigger pulse of the simulated bank.
    `frame` sync: exposures follow a free-running clock at `fps`. Either way the frame is
    delivered when its exposure ends (real time), mixed from what the LEDs did meanwhile.
    """

    def __init__(self, options: CameraOptions, stall_after: int | None):
        leds, config = options.leds, options.camera
        if not isinstance(leds, SimLeds):
            raise UserError(f"camera.uri {config.uri} needs the simulated LEDs (leds.uri = "
                            "\"sim://\" or --rig sim): it is lit by them.")
        self.leds = leds
        self.exposure_s = config.exposure_ms / 1e3
        self.period_s = 1.0 / config.fps
        self.timeout_s = config.timeout_s
        self.sync = options.sync
        self.frames = 0
        self.stall_after = stall_after       # fault injection: stop delivering after N frames
        self.fail_after: int | None = None   # fault injection: raise inside the loop after N
        self._triggers_seen = leds.triggers
        self._clock0 = time.monotonic()
        self._next_index = 0

    def read(self) -> Frame:
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError(f"injected fault after {self.frames} frames (camera.uri fail_after)")
        if self.stall_after is not None and self.frames >= self.stall_after:
            time.sleep(self.timeout_s)
            raise CameraError(f"camera stopped delivering frames after {self.frames}")
        start = self._trigger_exposure() if self.sync == "trigger" else self._clock_exposure()
        end = start + self.exposure_s
        time.sleep(max(0.0, end - time.monotonic()))
        on = self.leds.on_time(start, end)
        image = self.expose({nm: t / self.exposure_s for nm, t in on.items()}, start)
        self.frames += 1
        return Frame(image, start, end)

    def _trigger_exposure(self) -> float:
        deadline = time.monotonic() + self.timeout_s
        while self.leds.triggers == self._triggers_seen:
            if time.monotonic() > deadline:
                raise CameraError("camera got no trigger pulse")
            time.sleep(0.0002)
        self._triggers_seen = self.leds.triggers
        assert self.leds.last_trigger is not None     # set with the count that just moved
        return self.leds.last_trigger

    def _clock_exposure(self) -> float:
        # A free-running sensor keeps only the newest frame: a late reader skips ahead.
        now = time.monotonic()
        latest_done = math.floor((now - self._clock0 - self.exposure_s) / self.period_s)
        index = max(self._next_index, latest_done)
        self._next_index = index + 1
        return self._clock0 + index * self.period_s

    def close(self) -> None:
        pass

    def expose(self, fractions: dict[int, float], start: float) -> NDArray[np.uint16]:
        """The raw frame exposed from `start` while each LED nm was lit for `fractions[nm]`
        of the exposure."""
        raise NotImplementedError
