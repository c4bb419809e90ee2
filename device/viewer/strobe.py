"""The strobe sequencer: one LED per sub-frame (718 -> 777 -> 807 [-> dark]), timed to the camera.

`trigger` sync: LED on, settle, GPIO pulse on the camera's trigger input, expose, LED off, read
the frame. `frame` sync: the camera runs freely; the LED switches right after a frame arrives and
any frame whose exposure began before the switch has settled is dropped (it saw two LEDs).
A fail-safe thread forces the LED off once its window plus a margin has passed, so a stalled
loop or camera can never leave an LED burning. Both read an injected clock
(`device.viewer.clock`), so their timing logic is tested on a clock the test moves.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from device.viewer.cameras import Camera, Frame
from device.viewer.clock import Clock, Sleep, precise_sleep, wait_until
from device.viewer.config import StrobeConfig
from device.viewer.leds import Leds

log = logging.getLogger(__name__)
STROBE_PRIORITY, FAILSAFE_PRIORITY = 50, 60   # SCHED_FIFO, when `strobe.realtime` is on


def try_realtime_priority(priority: int = STROBE_PRIORITY) -> bool:
    """SCHED_FIFO for the calling thread; without the privilege, say so and carry on."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError) as exc:
        log.info("real-time priority not granted (%s); strobing at normal priority", exc)
        return False
    log.info("%s runs at SCHED_FIFO priority %d", threading.current_thread().name, priority)
    return True


@dataclass
class SubFrame:
    """One camera frame taken under one LED (nm None: the dark phase, all LEDs off)."""
    nm: int | None
    image: np.ndarray
    exposure_start: float
    exposure_end: float
    seq: int


class FailSafe:
    """One thread that switches all LEDs off when an armed deadline passes unanswered.

    Deadlines are on `clock`; `check()` is the decision the thread takes each time it wakes
    (tests that move the clock call it to stand for the thread getting the CPU)."""

    def __init__(self, leds: Leds, realtime: bool = False, clock: Clock = time.monotonic):
        self._leds = leds
        self._realtime = realtime
        self.clock = clock
        self._cv = threading.Condition()
        self._deadline: float | None = None
        self._closed = False
        self.fired = 0
        self.last_fired = float("-inf")     # clock time of the latest forced switch-off
        self._thread = threading.Thread(target=self._watch, name="led-failsafe", daemon=True)
        self._thread.start()

    def light(self, nm: int | None, window_s: float) -> float:
        """Light `nm` and arm the deadline `window_s` later, as one step: had the guard fired
        between a separate arm and switch-on, the LED would burn unguarded. Returns the time
        the LED went on."""
        with self._cv:
            self._leds.set(nm)
            t_on = self.clock()
            self._deadline = t_on + window_s
            self._cv.notify()
        return t_on

    def arm(self, deadline: float) -> None:
        with self._cv:
            self._deadline = deadline
            self._cv.notify()

    def disarm(self) -> None:
        with self._cv:
            self._deadline = None

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout=1.0)

    def check(self) -> float | None:
        """Switch all LEDs off if the armed deadline has passed. Returns the seconds left until
        it (None: nothing armed)."""
        with self._cv:
            if self._deadline is None:
                return None
            late = self.clock() - self._deadline
            if late < 0:
                return -late
            self._deadline = None
            self._leds.off()
            self.fired += 1
            self.last_fired = self.clock()
        # The first time is news; after that the periodic statistics count them.
        log.log(logging.WARNING if self.fired == 1 else logging.DEBUG,
                "LED fail-safe: forced all LEDs off %.1f ms past the deadline "
                "(the strobe loop was held up)", late * 1e3)
        return None

    def _watch(self) -> None:
        if self._realtime:    # above the strobe thread: the guard must run when the loop stalls
            try_realtime_priority(FAILSAFE_PRIORITY)
        with self._cv:
            while not self._closed:
                if self._deadline is None:
                    self._cv.wait()
                    continue
                left = self.check()
                if left is not None:
                    self._cv.wait(left)


class Jitter:
    """Running timing-error statistics (seconds in, milliseconds out)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def add(self, seconds: float) -> None:
        self.values.append(seconds)

    def take_summary(self) -> str:
        if not self.values:
            return "n/a"
        ms = np.abs(np.asarray(self.values)) * 1e3
        self.values.clear()
        return f"mean {ms.mean():.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.3f} ms"


class Strobe:
    """Runs the phases in turn; `next()` returns the next clean sub-frame."""

    def __init__(self, leds: Leds, camera: Camera, config: StrobeConfig, exposure_s: float,
                 frame_period_s: float, clock: Clock = time.monotonic,
                 sleep: Sleep = precise_sleep):
        self.leds, self.camera, self.config = leds, camera, config
        self.clock, self._sleep = clock, sleep
        self.phases: tuple[int | None, ...] = tuple(config.wavelengths) + (
            (None,) if config.dark_phase else ())
        self.exposure_s = exposure_s
        self.settle_s = config.settle_ms / 1e3
        self.margin_s = config.margin_ms / 1e3
        self.frame_period_s = frame_period_s
        self.failsafe = FailSafe(leds, config.realtime, clock)
        self.jitter = Jitter()   # trigger: LED on-time minus plan; frame: switch delay after a frame
        self.dropped_across_switch = 0
        self.spoiled = 0                 # exposures cut short by the fail-safe, dropped
        self._phase = 0
        self._seq = 0
        self._last_frame_end: float | None = None
        self._next_trigger = 0.0

    def close(self) -> None:
        try:
            self.leds.off()
        finally:
            self.failsafe.close()

    def next(self) -> SubFrame:
        nm = self.phases[self._phase]
        while True:
            frame = (self._trigger_phase(nm) if self.config.sync == "trigger"
                     else self._frame_phase(nm))
            if frame is not None:
                break
            self.spoiled += 1
        self._phase = (self._phase + 1) % len(self.phases)
        self._seq += 1
        return SubFrame(nm, frame.image, frame.exposure_start, frame.exposure_end, self._seq)

    def _trigger_phase(self, nm: int | None) -> Frame | None:
        """One triggered exposure under `nm`; None when the fail-safe cut it short (the loop
        was held up for longer than the margin, so the LED did not span the exposure)."""
        window = self.settle_s + self.exposure_s
        # A camera takes triggers no faster than its fps.
        wait_until(self._next_trigger, self.clock, self._sleep)
        self._next_trigger = self.clock() + self.frame_period_s
        try:
            t_on = self.failsafe.light(nm, window + self.margin_s)
            wait_until(t_on + self.settle_s, self.clock, self._sleep)
            self.leds.pulse_trigger()
            t_trigger = self.clock()
            wait_until(t_trigger + self.exposure_s, self.clock, self._sleep)
        finally:
            self.leds.off()
            self.failsafe.disarm()
        self.jitter.add(self.clock() - t_on - window)
        frame = self.camera.read()
        return None if self.failsafe.last_fired > t_on else frame

    def _frame_phase(self, nm: int | None) -> Frame | None:
        """Switch to `nm`, then keep the first frame exposed wholly after the switch settled;
        None when the fail-safe switched the LED off before one came."""
        # The LED stays lit while waiting for a clean frame (at most ~two frame periods) and
        # until the next phase switches it, so the fail-safe stays armed across phases.
        hold = self.settle_s + 2 * self.frame_period_s + self.exposure_s + self.margin_s
        try:
            t_switch = self.failsafe.light(nm, hold)
            if self._last_frame_end is not None:   # the readout gap the switch must fall into
                self.jitter.add(t_switch - self._last_frame_end)
            while True:
                frame = self.camera.read()
                if self.failsafe.last_fired > t_switch:
                    return None
                if frame.exposure_start >= t_switch + self.settle_s:
                    break
                self.dropped_across_switch += 1
        except BaseException:
            self.leds.off()
            self.failsafe.disarm()
            raise
        self.failsafe.arm(self.clock() + hold)
        self._last_frame_end = frame.exposure_end
        return frame
