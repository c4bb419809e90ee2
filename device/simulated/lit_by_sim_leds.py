"""Cameras lit by the simulated LED bank: each frame mixes the per-LED images by how long each
LED was on during its exposure, so a strobe that is late, early or overlapping shows in the
picture. The base of the replay and the simulated camera.

The sensor follows the strobe's timing plan (device.viewer.exposure_plan): its exposure, and its
shutter. On a rolling shutter row r starts one line time after row r - 1, so each row integrates
what the LEDs did in its own window and a mistimed strobe shows as bands: the rows' light is
computed for all rows at once (a vector of row start times against the few lit stretches).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import OrderedDict
from typing import Callable

import numpy as np

from numpy.typing import NDArray

from device.common.errors import UserError
from device.common.uri import Uri
from device.simulated.sim_leds import SimLeds
from device.viewer.cameras import CameraError, CameraOptions, Frame
from device.viewer.exposure_plan import ROLLING, ExposurePlan, global_plan

LIGHT_HISTORY = 256      # frames whose per-row light is kept for the row-light meter
RowLight = dict[int, NDArray[np.float64]]   # nm -> seconds lit, one value per row
# nm -> share of the exposure the LED lit: one number, or one per row (rows x 1)
Fractions = dict[int, "float | NDArray[np.float64]"]


class RenderedOnUse(Frame):
    """A simulated frame whose picture is rendered when first looked at: the light it got is
    fixed when it is delivered, but a frame the strobe throws away (it saw the wrong LED)
    costs no rendering, as a real camera's DMA costs the reader nothing."""

    def __init__(self, render: Callable[[], NDArray[np.uint16]], start: float, end: float):
        self._render: Callable[[], NDArray[np.uint16]] | None = render
        self._image: NDArray[np.uint16] | None = None
        self.exposure_start, self.exposure_end = start, end

    @property
    def image(self) -> NDArray[np.uint16]:
        if self._image is None:
            assert self._render is not None
            self._image, self._render = self._render(), None
        return self._image

    @image.setter
    def image(self, value: NDArray[np.uint16]) -> None:
        self._image, self._render = value, None


def injected_stall(uri: Uri) -> int | None:
    """Fault injection for tests: `?stall_after=N` stops delivering frames after N."""
    return int(uri.params["stall_after"]) if "stall_after" in uri.params else None


def injected_rolling(uri: Uri) -> float | None:
    """Fault injection: `?rolling_us=T` makes the simulated sensor a rolling shutter with rows
    T us apart whatever the config says, i.e. a rolling shutter strobed without its timing."""
    return float(uri.params["rolling_us"]) * 1e-6 if "rolling_us" in uri.params else None


def _sensor_plan(options: CameraOptions, rolling_line_s: float | None) -> ExposurePlan:
    config = options.camera
    plan = options.plan or global_plan(options.sync, config.exposure_ms / 1e3, 1.0 / config.fps)
    if rolling_line_s is None:
        return plan
    timing = dataclasses.replace(plan.timing, shutter=ROLLING, line_time_s=rolling_line_s)
    return dataclasses.replace(plan, timing=timing)


class LitBySimLeds:
    """Exposure timing shared by the replay and simulated cameras.

    `trigger` sync on a camera with a trigger input: an exposure starts on each trigger pulse
    of the simulated bank. Otherwise the sensor runs freely at `fps` (a camera without a trigger
    input ignores the pulses, as a real one would). Either way the frame is delivered when its
    last row has been exposed (real time), mixed from what the LEDs did meanwhile. With
    `sensor-strobe` timing the camera's strobe output gates the simulated LEDs.
    """

    render_on_use = True     # False: the picture depends on the frame count when delivered

    def __init__(self, options: CameraOptions, stall_after: int | None,
                 rolling_line_s: float | None = None):
        leds, config = options.leds, options.camera
        if not isinstance(leds, SimLeds):
            raise UserError(f"camera.uri {config.uri} needs the simulated LEDs (leds.uri = "
                            "\"sim://\" or --rig sim): it is lit by them.")
        self.leds = leds
        self.plan = plan = _sensor_plan(options, rolling_line_s)
        self.exposure_s = plan.sensor_exposure_s
        self.period_s = 1.0 / config.fps
        self.rows = config.height
        self.row_starts = (np.arange(self.rows) * plan.timing.line_time_s
                           if plan.timing.rolling else np.zeros(self.rows))
        self.timeout_s = config.timeout_s
        self.triggered = options.sync == "trigger" and plan.timing.trigger_input
        self.frames = 0
        self.stall_after = stall_after       # fault injection: stop delivering after N frames
        self.fail_after: int | None = None   # fault injection: raise inside the loop after N
        self.row_light: OrderedDict[float, RowLight] = OrderedDict()   # start -> per-row light
        self._triggers_seen = leds.triggers
        self._clock0 = time.monotonic()
        self._next_index = 0
        if options.sync == "sensor-strobe" and plan.timing.strobe_output:
            leds.gate = self.strobe_output

    @property
    def frame_s(self) -> float:
        """From row 0 starting to the last row's exposure ending."""
        return float(self.row_starts[-1]) + self.exposure_s

    def read(self) -> Frame:
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError(f"injected fault after {self.frames} frames (camera.uri fail_after)")
        if self.stall_after is not None and self.frames >= self.stall_after:
            time.sleep(self.timeout_s)
            raise CameraError(f"camera stopped delivering frames after {self.frames}")
        start = self._trigger_exposure() if self.triggered else self._clock_exposure()
        end = start + self.frame_s
        time.sleep(max(0.0, end - time.monotonic()))
        light = self.rows_lit(start)
        self._keep(start, light)
        fractions: Fractions = {nm: (t / self.exposure_s)[:, None] for nm, t in light.items()}
        if not self.render_on_use:
            image = self.expose(fractions, start)
            self.frames += 1
            return Frame(image, start, end)
        self.frames += 1
        return RenderedOnUse(lambda: self.expose(fractions, start), start, end)

    def rows_lit(self, start: float) -> RowLight:
        """Seconds each LED lit each row of the frame whose row 0 started at `start`."""
        row_on = start + self.row_starts
        row_off = row_on + self.exposure_s
        light: RowLight = {}
        for nm, on, off in self.leds.lit_intervals(start, start + self.frame_s):
            overlap = np.clip(np.minimum(off, row_off) - np.maximum(on, row_on), 0.0, None)
            light[nm] = light[nm] + overlap if nm in light else overlap
        return light

    def strobe_output(self, start: float, end: float) -> list[tuple[float, float]]:
        """When the camera's strobe output was high within [start, end]: every free-running
        frame's flash window (on a global shutter, its exposure)."""
        plan = self.plan
        first = math.floor((start - self._clock0 - plan.window_open_s - plan.window_s)
                           / self.period_s)
        last = math.ceil((end - self._clock0 - plan.window_open_s) / self.period_s)
        high = []
        for k in range(max(0, first), last + 1):
            opens = self._clock0 + k * self.period_s + plan.window_open_s
            if opens < end and opens + plan.window_s > start:
                high.append((max(start, opens), min(end, opens + plan.window_s)))
        return high

    def _keep(self, start: float, light: RowLight) -> None:
        self.row_light[start] = light
        while len(self.row_light) > LIGHT_HISTORY:
            self.row_light.popitem(last=False)

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
        latest_done = math.floor((now - self._clock0 - self.frame_s) / self.period_s)
        index = max(self._next_index, latest_done)
        self._next_index = index + 1
        return self._clock0 + index * self.period_s

    def close(self) -> None:
        if self.leds.gate == self.strobe_output:
            self.leds.gate = None

    def expose(self, fractions: Fractions, start: float) -> NDArray[np.uint16]:
        """The raw frame exposed from `start` while LED nm lit each row for `fractions[nm]`
        of the exposure (one share for all rows, or rows x 1)."""
        raise NotImplementedError
