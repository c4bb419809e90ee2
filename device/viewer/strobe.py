"""The strobe sequencer: one LED per sub-frame (718 -> 777 -> 807 [-> dark]), timed to the camera.

How a phase is timed is the config's `strobe.sync`, one entry of `STROBE_TIMINGS`:
- `trigger`: LED on, settle, GPIO pulse on the camera's trigger input, the LED's on-time, LED
  off, read the frame once the sensor's exposure window has ended (`TriggeredExposure`);
- `frame`: the camera runs freely; the LED switches right after a frame arrives and any frame
  whose exposure began before the switch has settled is dropped, it saw two LEDs
  (`FrameSwitchedExposure`);
- `flash-window`: a free-running rolling shutter; the LED is lit only inside each frame's flash
  window, while every row integrates (`FlashWindowExposure`);
- `sensor-strobe`: the camera's strobe output gates the LED driver, the GPIOs only select the
  next LED between frames (`SensorStrobeExposure`).
When the LED may be on, how long and at what rate is device.viewer.exposure_plan's rule (the
`ExposurePlan` in the kit); `led_on_time_range` here, built on its `longest_led_on_s`, is what
exposure control asks.
A guard thread (`LedDeadlineGuard`) forces the LED off once its window plus a margin has passed,
so a stalled loop or camera can never leave an LED burning.

Each phase is exposed with an `LedExposure` (the LED's on-time within the sensor's exposure
window, and the camera's analogue gain) that an `LedPlan` gives: the configured LED time and
gain, or what automatic exposure (device.viewer.exposure) chose. The strobe owns the timing:
`led_on_time_range` says which on-times a timing mode and camera allow (from the timing rule's
`longest_led_on_s`), and it is the one place automatic exposure asks. All read an injected clock
(`device.viewer.clock`), so their timing logic is tested on a clock the test moves.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from device.viewer.cameras import Camera, Frame
from device.viewer.clock import Clock, Sleep, precise_sleep, wait_until
from device.viewer.exposure_plan import ExposurePlan, global_plan, plan_exposure
# Exposure control asks the strobe module (led_on_time_range below) for the LED on-times the
# camera and its timing allow at the configured rate (the flash window on a rolling shutter).
from device.viewer.exposure_plan import longest_led_on_s as longest_led_on_s
from device.viewer.leds import TRIGGER_PULSE_S, Leds
from device.viewer.sections import CameraConfig, StrobeConfig

log = logging.getLogger(__name__)
STROBE_PRIORITY, GUARD_PRIORITY = 50, 60   # SCHED_FIFO, when `strobe.realtime` is on


def try_realtime_priority(priority: int = STROBE_PRIORITY) -> bool:
    """SCHED_FIFO for the calling thread; without the privilege, say so and carry on."""
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except (PermissionError, AttributeError, OSError) as exc:
        log.info("real-time priority not granted (%s); strobing at normal priority", exc)
        return False
    log.info("%s runs at SCHED_FIFO priority %d", threading.current_thread().name, priority)
    return True


@dataclass(frozen=True)
class LedExposure:
    """What one sub-frame is exposed with: the LED's on-time within the sensor's exposure
    window, and the camera's analogue gain. Their product sets the signal."""
    on_s: float
    gain: float = 1.0

    @property
    def product(self) -> float:
        return self.on_s * self.gain


@dataclass
class SubFrame:
    """One camera frame taken under one LED (nm None: the dark phase, all LEDs off). `led`: the
    on-time (measured on the strobe's clock) and gain it was taken with; None where unknown,
    which the viewer reads as the calibration's own."""
    nm: int | None
    image: NDArray[np.uint16]
    exposure_start: float
    exposure_end: float
    seq: int
    led: LedExposure | None = None


@dataclass(frozen=True)
class OnTimeRange:
    shortest_s: float
    longest_s: float


# How long a trigger pulse or a switch-off may take beyond itself before the on-time of that
# exposure counts as unknown (the strobe thread was pre-empted between reading the clock and
# writing the line, or waited for the GIL) and the exposure is taken again: a GPIO write takes
# microseconds. 1 % of the on-time (an error the normalisation then carries, far below the
# noise), and never less than 0.1 ms (Python's own call overhead on a loaded core).
TIMING_SLACK_FRACTION, TIMING_SLACK_MIN_S = 0.01, 0.1e-3


def timing_slack(on_s: float) -> float:
    """The most a measured on-time of `on_s` may be off before the exposure is taken again."""
    return max(TIMING_SLACK_MIN_S, TIMING_SLACK_FRACTION * on_s)


# The shortest on-time worth timing: the strobe's sleep-then-spin is good to a few microseconds
# (device.viewer.clock), a GPIO write takes tens of microseconds on a Jetson header.
SHORTEST_ON_S = 50e-6
# The timing modes whose LED the strobe lights for an on-time of its choosing within the sensor's
# exposure; in the others the LED is lit through whole frames (`frame`) or gated by the sensor
# (`sensor-strobe`), and its on-time is the configured one whatever is asked.
CHOSEN_ON_TIME = ("trigger", "flash-window")


def led_on_time_range(camera: CameraConfig, strobe: StrobeConfig) -> OnTimeRange:
    """The LED on-times this camera and strobe timing allow, per sub-frame: the single place
    automatic exposure asks (it adds the LEDs' own duty and eye-safety caps). The longest is
    the configured LED time (`camera.exposure_ms`: the sensor's exposure and the flash window
    are set for it) within the timing rule's longest at this frame rate (`longest_led_on_s`:
    a frame period less the readout; on a rolling shutter, the flash window). Fixed where the
    strobe cannot choose: `frame`, `sensor-strobe`, and a pulse-width trigger (the exposure is
    the pulse, lit throughout)."""
    plan = plan_exposure(camera, strobe)
    configured = camera.exposure_ms / 1e3
    if strobe.sync not in CHOSEN_ON_TIME or plan.trigger_pulse_s > TRIGGER_PULSE_S:
        return OnTimeRange(configured, configured)
    longest = max(SHORTEST_ON_S, min(configured, longest_led_on_s(camera, strobe)))
    return OnTimeRange(min(SHORTEST_ON_S, longest), longest)


class LedPlan(Protocol):
    """What each phase is exposed with (nm None: the dark phase)."""

    def setting(self, nm: int | None) -> LedExposure: ...


class FixedExposure:
    """The same on-time and gain for every phase (`exposure.mode = "fixed"`)."""

    def __init__(self, setting: LedExposure):
        self.fixed = setting

    def setting(self, nm: int | None) -> LedExposure:
        return self.fixed


@runtime_checkable
class GainControl(Protocol):
    """A camera whose analogue gain the strobe may set per exposure (the simulated camera: at
    once; V4L2: after the driver's delay)."""

    def set_gain(self, gain: float) -> None: ...


class LedDeadlineGuard:
    """One thread that switches all LEDs off when an armed deadline passes unanswered: the
    per-exposure guard of the strobe (the process-level one, device.service.failsafe, switches
    the bank off after the viewer is gone).

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
        self._thread = threading.Thread(target=self._watch, name="led-guard", daemon=True)
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
            try_realtime_priority(GUARD_PRIORITY)
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


@dataclass(frozen=True)
class ExposureKit:
    """What a timing mode works with: the bank, its guard, the clock and the times."""
    leds: Leds
    guard: LedDeadlineGuard
    jitter: Jitter                     # the mode's timing error, for the statistics line
    clock: Clock
    sleep: Sleep
    exposure_s: float                  # the sensor's exposure window (the camera's setting)
    settle_s: float                    # LED rise time before an exposure may start
    margin_s: float                    # the guard fires this long after an LED's window
    frame_period_s: float
    plan: ExposurePlan | None = None   # the timing rule's numbers (None: a global shutter)

    def timing_plan(self, sync: str) -> ExposurePlan:
        """The plan, or today's assumption (a global shutter at these times) without one."""
        if self.plan is not None:
            return self.plan
        return global_plan(sync, self.exposure_s, self.frame_period_s)


class StrobeTiming(Protocol):
    """How one phase is exposed: light `nm` (None: all off) for `on_s` and return a frame of
    `camera` exposed under it alone with the on-time it really got, or None when the guard cut
    the exposure short (it is taken again)."""
    discarded: int                     # frames read but thrown away (they saw two LEDs)

    def expose(self, nm: int | None, camera: Camera,
               on_s: float) -> tuple[Frame, float] | None: ...


class TriggeredExposure:
    """`trigger` sync: each exposure starts on a pulse on the camera's trigger input."""

    def __init__(self, kit: ExposureKit):
        self.kit = kit
        self.discarded = 0             # none: every triggered exposure is under one LED
        self._next_trigger = 0.0
        # An edge trigger takes a short pulse; a pulse-width trigger (IMX296's XTR) exposes
        # for as long as the pulse lasts, plus its offset (the plan's trigger_pulse_s).
        self._pulse_s = TRIGGER_PULSE_S if kit.plan is None else kit.plan.trigger_pulse_s

    def expose(self, nm: int | None, camera: Camera,
               on_s: float) -> tuple[Frame, float] | None:
        """One triggered exposure under `nm`, the LED lit from the trigger for `on_s` (at most
        the sensor's window; a pulse-width trigger keeps it lit for the whole pulse); the frame
        and the on-time within the window. None when the guard
        cut it short (the loop was held up for longer than the margin) or when the trigger or
        the switch-off took so long that the on-time is not known (the thread was pre-empted
        there): it is taken again, since the normalisation divides by that on-time."""
        kit = self.kit
        on_s = min(on_s, kit.exposure_s)
        window = kit.settle_s + on_s
        # A camera takes triggers no faster than its fps.
        wait_until(self._next_trigger, kit.clock, kit.sleep)
        self._next_trigger = kit.clock() + kit.frame_period_s
        try:
            # The guard's deadline covers exactly this exposure's on-time: whatever on-time
            # the plan chose, the LED cannot outlast it by more than the margin.
            t_on = kit.guard.light(nm, window + kit.margin_s)
            wait_until(t_on + kit.settle_s, kit.clock, kit.sleep)
            t_trigger = kit.clock()
            kit.leds.pulse_trigger(self._pulse_s)
            t_triggered = kit.clock()
            wait_until(t_trigger + on_s, kit.clock, kit.sleep)
        finally:
            t_stop = kit.clock()
            kit.leds.off()
            t_off = kit.clock()
            kit.guard.disarm()
        kit.jitter.add(t_off - t_on - window)
        frame = camera.read()
        slack = timing_slack(on_s)
        uncertain = t_triggered - t_trigger - self._pulse_s > slack or t_off - t_stop > slack
        if kit.guard.last_fired > t_on or uncertain:
            return None
        return frame, min(t_off - t_trigger, kit.exposure_s)


class FrameSwitchedExposure:
    """`frame` sync: the camera runs freely and the LED switches between its frames."""

    def __init__(self, kit: ExposureKit):
        self.kit = kit
        self.discarded = 0             # exposed across a switch
        self._last_frame_end: float | None = None

    def expose(self, nm: int | None, camera: Camera,
               on_s: float) -> tuple[Frame, float] | None:
        """Switch to `nm`, then keep the first frame exposed wholly after the switch settled
        (lit through all of its exposure, whatever `on_s` asks: see led_on_time_range); None
        when the guard switched the LED off before one came."""
        kit = self.kit
        # The LED stays lit while waiting for a clean frame (at most ~two frame periods) and
        # until the next phase switches it, so the guard stays armed across phases.
        hold = self._hold()
        try:
            t_switch = kit.guard.light(nm, hold)
            if self._last_frame_end is not None:   # the readout gap the switch must fall into
                kit.jitter.add(t_switch - self._last_frame_end)
            while True:
                frame = camera.read()
                if kit.guard.last_fired > t_switch:
                    return None
                if self._clean(frame, t_switch):
                    break
                self.discarded += 1
        except BaseException:
            kit.leds.off()
            kit.guard.disarm()
            raise
        kit.guard.arm(kit.clock() + hold)
        self._last_frame_end = frame.exposure_end
        return frame, self._on_time(frame)

    def _on_time(self, frame: Frame) -> float:
        """The LED lights the whole exposure."""
        return frame.exposure_end - frame.exposure_start

    def _clean(self, frame: Frame, t_switch: float) -> bool:
        """Exposed under the new LED alone: every row (all start at or after row 0) began
        after the switch had settled."""
        return frame.exposure_start >= t_switch + self.kit.settle_s

    def _hold(self) -> float:
        """How long the guard lets one LED burn while a clean frame is awaited: up to two
        frame periods, the wait for the last row of a rolling shutter included."""
        kit = self.kit
        row_span = 0.0 if kit.plan is None else kit.plan.timing.row_span_s
        return (kit.settle_s + 2 * kit.frame_period_s + kit.exposure_s + row_span
                + kit.margin_s)


class FlashWindowExposure:
    """`flash-window` sync: a free-running rolling shutter. The LED is lit only while every row
    of the target frame integrates (its flash window), so each row gets the same light from one
    LED; the windows are timed from the frames' row-0 start times and the frame period."""

    LEAD_S = 0.3e-3                    # the least time to get ready for the next window
    LIGHT_TOLERANCE = 0.01             # a pulse this much off its length is taken again

    def __init__(self, kit: ExposureKit):
        self.kit = kit
        self.plan = kit.timing_plan("flash-window")
        self.discarded = 0             # frames read that were not lit (a window missed)
        self._row0: float | None = None    # the latest frame's row-0 start: the frame clock
        self._last_off = -math.inf         # when the latest pulse ended

    def expose(self, nm: int | None, camera: Camera,
               on_s: float) -> tuple[Frame, float] | None:
        """Light `nm` for `on_s` (at most the plan's LED time) inside the next frame's flash
        window and return that frame and the on-time; None when the LED went outside the
        window or off its length (the thread was held up), so the rows differ."""
        on_s = min(on_s, self.plan.led_on_s)
        if self._row0 is None:         # lock onto the camera's frame clock first
            self._row0 = camera.read().exposure_start
            self.discarded += 1
        while True:
            target = self._next_target()
            clean = self._light(nm, target + self.plan.window_open_s, on_s)
            frame = self._read_until(camera, target)
            if frame is not None:
                return (frame, on_s) if clean else None
            self.discarded += 1        # the camera delivered a later frame: light the next one

    def _next_target(self) -> float:
        """Row-0 start of the first frame whose window opens far enough ahead, and whose rows
        all start after the last pulse ended (a late pulse may reach into the next frame)."""
        plan, row0 = self.plan, self._row0
        assert row0 is not None
        earliest = max(self.kit.clock() + self.LEAD_S - plan.window_open_s - plan.guard_s,
                       self._last_off)
        return row0 + max(1, math.ceil((earliest - row0) / plan.period_s)) * plan.period_s

    def _light(self, nm: int | None, window_open: float, on_s: float) -> bool:
        """The LED on `guard` after the window opens, for `on_s`. True when the pulse was
        inside the window (every row saw all of it) and as long as asked: the LED time is each
        row's light here, so a pulse cut short or held long would be a brighter or darker
        sub-frame. Each switch is bracketed by clock readings before and after it, so a thread
        held up between a switch and its reading cannot hide a longer pulse."""
        kit, plan = self.kit, self.plan
        wait_until(window_open + plan.guard_s, kit.clock, kit.sleep)
        on_before = kit.clock()
        try:
            on_after = kit.guard.light(nm, on_s + plan.guard_s + kit.margin_s)
            wait_until(on_after + on_s, kit.clock, kit.sleep)
        finally:
            off_before = kit.clock()
            kit.leds.off()
            off_after = self._last_off = kit.clock()   # before the guard's lock holds us up
            kit.guard.disarm()
        longest, shortest = off_after - on_before, off_before - on_after
        kit.jitter.add(longest - on_s)
        tolerance = self.LIGHT_TOLERANCE * on_s
        return (window_open <= on_before and off_after <= window_open + plan.window_s
                and longest - on_s <= tolerance and on_s - shortest <= tolerance
                and kit.guard.last_fired <= on_before)

    def _read_until(self, camera: Camera, target: float) -> Frame | None:
        """The frame whose row 0 started at `target` (earlier ones were not lit); None when
        the camera delivered a later one instead."""
        half = self.plan.period_s / 2
        while True:
            frame = camera.read()
            self._row0 = frame.exposure_start
            if frame.exposure_start < target - half:
                self.discarded += 1
                continue
            return frame if frame.exposure_start <= target + half else None


class SensorStrobeExposure(FrameSwitchedExposure):
    """`sensor-strobe` sync: the camera's strobe output gates the LED driver, high while every
    row integrates (on a rolling shutter, its flash window), so the light is timed by the sensor
    whatever Python does. The GPIOs only select which LED the next window lights: a frame is
    clean when its window opened after the selection."""

    def __init__(self, kit: ExposureKit):
        super().__init__(kit)
        self.plan = kit.timing_plan("sensor-strobe")

    def _clean(self, frame: Frame, t_switch: float) -> bool:
        return frame.exposure_start + self.plan.window_open_s >= t_switch

    def _on_time(self, frame: Frame) -> float:
        """The sensor's strobe output lights the LED for the plan's window."""
        return self.plan.led_on_s


# `strobe.sync` -> the timing mode; the config accepts exactly these names.
STROBE_TIMINGS: dict[str, Callable[[ExposureKit], StrobeTiming]] = {
    "trigger": TriggeredExposure,
    "frame": FrameSwitchedExposure,
    "flash-window": FlashWindowExposure,
    "sensor-strobe": SensorStrobeExposure,
}


class Strobe:
    """Runs the phases in turn; `next()` returns the next clean sub-frame. `plan`: the timing
    rule's numbers for the camera (None: a global shutter at these times); `exposures`: what
    each phase is exposed with (default: the LED time `exposure_s`, at gain `gain`)."""

    def __init__(self, leds: Leds, camera: Camera, config: StrobeConfig, exposure_s: float,
                 frame_period_s: float, clock: Clock = time.monotonic,
                 sleep: Sleep = precise_sleep, plan: ExposurePlan | None = None,
                 exposures: LedPlan | None = None, gain: float = 1.0):
        self.leds, self.camera, self.config = leds, camera, config
        if plan is not None:
            log.info("%s", plan.describe())
            if plan.problems:   # a config refuses these; a demo or a fault injection runs them
                log.warning("strobe timing %s cannot give clean sub-frames: %s", config.sync,
                            "; ".join(plan.problems))
        self.exposures: LedPlan = exposures or FixedExposure(LedExposure(exposure_s, gain))
        self._opened_gain = gain         # what the camera was opened with
        self._gain: float | None = None  # what this strobe last set (None: not yet)
        self.phases: tuple[int | None, ...] = tuple(config.wavelengths) + (
            (None,) if config.dark_phase else ())
        self.guard = LedDeadlineGuard(leds, config.realtime, clock)
        # trigger: LED on-time minus plan; frame: switch delay after a frame
        self.jitter = Jitter()
        self.timing = STROBE_TIMINGS[config.sync](ExposureKit(
            leds, self.guard, self.jitter, clock, sleep, exposure_s, config.settle_ms / 1e3,
            config.margin_ms / 1e3, frame_period_s, plan))
        self.spoiled = 0                 # exposures cut short by the guard (or of an unknown
        #                                  on-time), dropped and taken again
        self._phase = 0
        self._seq = 0

    @property
    def dropped_across_switch(self) -> int:
        return self.timing.discarded

    def use_camera(self, camera: Camera, gain: float) -> None:
        """Strobe `camera` from the next phase on (a reconnected one, opened at `gain`); the
        caller has closed the one before."""
        self.camera = camera
        self._opened_gain, self._gain = gain, None

    def close(self) -> None:
        try:
            self.leds.off()
        finally:
            self.guard.close()

    def next(self) -> SubFrame:
        nm = self.phases[self._phase]
        setting = self.exposures.setting(nm)
        gain = self._set_gain(setting.gain)
        while True:
            exposed = self.timing.expose(nm, self.camera, setting.on_s)
            if exposed is not None:
                break
            self.spoiled += 1
        frame, on_s = exposed
        self._phase = (self._phase + 1) % len(self.phases)
        self._seq += 1
        return SubFrame(nm, frame.image, frame.exposure_start, frame.exposure_end, self._seq,
                        LedExposure(on_s, gain))

    def _set_gain(self, gain: float) -> float:
        """The camera's gain for the next exposure: `gain` where the camera takes one (set
        when it changes, and always first: a camera another strobe used may hold another),
        else what it was opened with."""
        if not isinstance(self.camera, GainControl):
            return self._opened_gain
        if gain != self._gain:
            self.camera.set_gain(gain)
            self._gain = gain
        return gain
