"""The rig as the self-test drives it: the configured LED bank and camera, opened once, through
the very backends `device run` uses, and closed with every LED off however the test ends.

Frames are taken four ways: through the configured strobe (the viewer's own timing), through a
strobe of one phase (one LED alone, or all off, as `device calibrate` takes its references),
with one LED held on across whole frames (every row certainly lit by it: the reference a
strobed sub-frame's rows are compared with), and straight from the camera.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from device.viewer.cameras import Camera, CameraError, Frame
from device.viewer.clock import wait_until
from device.viewer.config import Config
from device.viewer.leds import Leds
from device.viewer.rig import exposure_plan, make_strobe, open_camera, open_leds
from device.viewer.sections import StrobeConfig
from device.viewer.strobe import LedDeadlineGuard, SubFrame


@dataclass(frozen=True)
class TriggerProbe:
    without_pulse: int          # frames that came while no pulse was sent (0 expected)
    waited_s: float             # how long the camera was given to send one
    pulses: int                 # pulses sent
    on_pulses: int              # frames that came on them


class RigOpenError(Exception):
    """The LED bank (`part` "leds") or the camera ("camera") did not open."""

    def __init__(self, part: str, cause: Exception):
        super().__init__(str(cause))
        self.part = part


class RigSession:
    """The LEDs and camera of `config`; `close()` (idempotent) leaves every LED off."""

    def __init__(self, config: Config):
        self.config = config
        self.plan = exposure_plan(config)
        self.leds: Leds | None = None
        self.camera: Camera | None = None
        try:
            self.leds = open_leds(config)
        except Exception as exc:
            raise RigOpenError("leds", exc) from exc
        try:
            self.camera = open_camera(config, self.leds)
        except BaseException as exc:
            self.close()
            if isinstance(exc, Exception):
                raise RigOpenError("camera", exc) from exc
            raise

    @property
    def triggered(self) -> bool:
        """Frames come on trigger pulses (trigger sync, a camera with a trigger input)."""
        return self.config.strobe.sync == "trigger" and self.plan.timing.trigger_input

    def _parts(self) -> tuple[Leds, Camera]:
        if self.leds is None or self.camera is None:
            raise RuntimeError("the rig is closed")
        return self.leds, self.camera

    def one_phase(self, nm: int | None, count: int) -> list[SubFrame]:
        """`count` sub-frames with only LED `nm` lit (None: all off), strobed as the viewer
        strobes (the configured timing, one phase)."""
        return self._strobed(count, dataclasses.replace(
            self.config.strobe, wavelengths=() if nm is None else (nm,), dark_phase=nm is None))

    def cycle(self, count: int) -> list[SubFrame]:
        """`count` sub-frames of the configured strobe: every LED in its order, as `device run`."""
        return self._strobed(count, None)

    def _strobed(self, count: int, phases: StrobeConfig | None) -> list[SubFrame]:
        leds, camera = self._parts()
        strobe = make_strobe(self.config, leds, camera, phases)
        try:
            return [strobe.next() for _ in range(count)]
        finally:
            strobe.close()

    def free_run(self, count: int) -> list[Frame]:
        """`count` frames read straight from the camera, LEDs off (a free-running camera)."""
        leds, camera = self._parts()
        leds.off()
        return [camera.read() for _ in range(count)]

    def steady(self, nm: int, count: int) -> list[Frame]:
        """`count` frames exposed wholly while LED `nm` stays on (settled before row 0 starts,
        on until the last row has ended): every row lit alike, whatever the shutter. The
        strobe's fail-safe guard holds the LED to a deadline all the same."""
        leds, camera = self._parts()
        c = self.config
        settle = c.strobe.settle_ms / 1e3
        frame_s = self.plan.timing.row_span_s + self.plan.sensor_exposure_s
        hold = settle + (count + 3) * (self.plan.period_s + frame_s) + c.camera.timeout_s
        guard = LedDeadlineGuard(leds, c.strobe.realtime)
        frames: list[Frame] = []
        try:
            t_on = guard.light(nm, hold)
            wait_until(t_on + settle)
            next_pulse = 0.0
            while len(frames) < count:
                if self.triggered:
                    wait_until(next_pulse)
                    next_pulse = time.monotonic() + self.plan.period_s
                    leds.pulse_trigger(self.plan.trigger_pulse_s)
                frame = camera.read()
                if frame.exposure_start >= t_on + settle:
                    frames.append(frame)
            if guard.last_fired > t_on:     # this thread was held up for a second or more
                raise RuntimeError(f"the frames under the {nm} nm LED took longer than the "
                                   f"{hold:.2f} s the LED may stay on")
        finally:
            leds.off()
            guard.close()
        return frames

    def probe_trigger(self, pulses: int) -> TriggerProbe:
        """With the LEDs off: does a frame come without a pulse, and one on each pulse? Stops
        at the first pulse without a frame."""
        leds, camera = self._parts()
        leds.off()
        t0 = time.monotonic()
        try:
            camera.read()
            without = 1
        except CameraError:
            without = 0
        waited = time.monotonic() - t0
        sent = came = 0
        while sent < pulses:
            wait_until(time.monotonic() + self.plan.period_s)
            leds.pulse_trigger(self.plan.trigger_pulse_s)
            sent += 1
            try:
                camera.read()
            except CameraError:
                break
            came += 1
        return TriggerProbe(without, waited, sent, came)

    def close_camera(self) -> None:
        camera, self.camera = self.camera, None
        if camera is not None:
            camera.close()

    def close(self) -> None:
        """Every LED off and the bank closed, then the camera; safe to call again."""
        leds, self.leds = self.leds, None
        try:
            if leds is not None:
                try:
                    leds.off()
                finally:
                    leds.close()
        finally:
            self.close_camera()
