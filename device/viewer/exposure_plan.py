"""The timing rule: from the camera (its profile or figures) and the strobe's config, when the
sensor exposes, when the LED may be lit, how long, and at what frame rate, for each kind of
sensor. The strobe times the LEDs by it and the simulated camera exposes by it, so both read the
same numbers; a config that cannot give clean sub-frames is refused with the limit that would.

Times are seconds; "row 0 starts" is the start of a frame's first row exposure, the time a
Frame's exposure_start carries. A rolling shutter starts row r at r x tRow, so its H rows all
integrate together only inside the flash window: it opens tRow x (H - 1) after row 0 starts and
is E - tRow x (H - 1) wide for a sensor exposure E (Basler ace USB 3.0 manual, 6.6.2.3).

- `trigger`: a triggered global shutter; the LED is on for settle + exposure around the trigger.
  The sensor reads out after the exposure before it takes the next trigger, so a frame takes
  exposure + H x tRow (VEYE's trigger-mode notes: Ttgmin = Texp + Ttrans).
- `frame`: a free-running camera, the LED switched between frames; a frame is clean when it
  started (row 0) after the switch had settled, so frames are kept every period when the gap
  between one frame's last row and the next frame's first row fits the switch, else every other.
- `flash-window`: a free-running rolling shutter; the LED is lit only inside each frame's flash
  window, with `strobe.window_guard_ms` of room for the strobe thread's timing on either side.
- `sensor-strobe`: the camera's strobe output (high during the flash window; on a global shutter,
  while exposing) gates the LED driver; the GPIOs only select the next LED between windows.

`longest_led_on_s` answers "how long may an LED light one sub-frame" for exposure control: what
each row can integrate at the configured frame rate in the configured timing mode.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from device.viewer.camera_profiles import PROFILES
from device.viewer.leds import TRIGGER_PULSE_S
from device.viewer.sections import CameraConfig, StrobeConfig

GLOBAL, ROLLING = "global", "rolling"


@dataclass(frozen=True)
class SensorTiming:
    """The sensor figures the timing depends on, for this config's frame size."""
    name: str                  # the profile's name, or "the camera" for figures in the config
    shutter: str
    line_time_s: float         # from one row starting to the next
    rows: int                  # rows read per frame (camera.height: a crop reads only those)
    max_fps: float             # the sensor mode's fastest rate (inf: not known)
    exposure_margin_s: float   # the exposure may last at most a frame period minus this
    trigger_input: bool
    strobe_output: bool
    trigger_offset_s: float = 0.0   # pulse-width triggers: exposure = pulse + this

    @property
    def rolling(self) -> bool:
        return self.shutter == ROLLING

    @property
    def row_span_s(self) -> float:
        """From row 0 starting to the last row starting: 0 on a global shutter."""
        return (self.rows - 1) * self.line_time_s if self.rolling else 0.0

    @property
    def readout_s(self) -> float:
        return self.rows * self.line_time_s


def sensor_timing(camera: CameraConfig) -> SensorTiming:
    """The figures of `camera.profile` (its mode for the frame size), or those in the config."""
    profile = PROFILES.get(camera.profile)
    if profile is None:
        line_s = camera.line_time_us * 1e-6
        return SensorTiming("the camera", camera.shutter, line_s, camera.height, math.inf, 0.0,
                            camera.trigger_input, camera.strobe_output)
    mode = profile.mode_for(camera.width, camera.height)
    line_s = mode.line_time_us * 1e-6
    return SensorTiming(profile.name, profile.shutter, line_s, camera.height, mode.max_fps,
                        profile.exposure_margin_lines * line_s, bool(profile.trigger_input),
                        bool(profile.strobe_output), profile.trigger_exposure_offset_us * 1e-6)


@dataclass(frozen=True)
class ExposurePlan:
    sync: str
    timing: SensorTiming
    led_on_s: float            # LED light each row integrates: what the model sees
    sensor_exposure_s: float   # what the camera's exposure is set to
    window_open_s: float       # the LED (or strobe output) window opens this long after row 0
    window_s: float            # and stays open this long
    guard_s: float             # flash-window: room for the strobe thread on either side
    period_s: float            # the camera's frame period
    kept_every: int            # 1: every camera frame is a sub-frame; 2: every other one
    longest_led_on_s: float    # at this frame rate and timing: the most an LED may give a row
    fastest_fps: float         # at this LED time and timing: the fastest camera rate
    problems: tuple[str, ...] = ()   # why the config cannot give clean sub-frames
    trigger_pulse_s: float = TRIGGER_PULSE_S   # `trigger`: the pulse (pulse-width: exposure)

    @property
    def fps(self) -> float:
        """Sub-frames (one LED each) per second that this timing keeps."""
        return 1.0 / (self.period_s * self.kept_every)

    def describe(self) -> str:
        """One line for the log: what the camera must be set to and what the LED does."""
        t = self.timing
        rows = (f"{t.shutter} shutter, rows start over {t.row_span_s * 1e3:.2f} ms"
                if t.rolling else f"{t.shutter} shutter")
        return (f"{self.sync} timing on {t.name} ({rows}): sensor exposure "
                f"{self.sensor_exposure_s * 1e3:.2f} ms, LED {self.led_on_s * 1e3:.2f} ms in "
                f"a {self.window_s * 1e3:.2f} ms window {self.window_open_s * 1e3:.2f} ms after "
                f"row 0, {self.fps:.1f} sub-frames/s (longest LED time at this rate "
                f"{self.longest_led_on_s * 1e3:.2f} ms)")


def plan_exposure(camera: CameraConfig, strobe: StrobeConfig) -> ExposurePlan:
    """The timing of `strobe.sync` for this camera; `problems` says why it cannot work."""
    timing = sensor_timing(camera)
    rule = _RULES.get(strobe.sync)
    if rule is None:
        raise ValueError(f"no timing rule for strobe.sync {strobe.sync!r}")
    return rule(timing, camera, strobe)


def longest_led_on_s(camera: CameraConfig, strobe: StrobeConfig) -> float:
    """The longest LED on-time (what one row integrates) that this camera and strobe timing
    allow at the configured frame rate: for exposure control. On a rolling shutter in
    `flash-window` or `sensor-strobe` timing that is the flash window, less its guards."""
    return max(0.0, plan_exposure(camera, strobe).longest_led_on_s)


def _fits(timing: SensorTiming, period_s: float, frame_s: float) -> bool:
    """A frame needing `frame_s` of the sensor fits a period (and the mode's rate)."""
    return period_s >= frame_s - 1e-9 and 1.0 / period_s <= timing.max_fps * (1 + 1e-6)


def _fastest(timing: SensorTiming, frame_s: float) -> float:
    return min(timing.max_fps, 1.0 / frame_s) if frame_s > 0 else timing.max_fps


def _too_fast(camera: CameraConfig, timing: SensorTiming, what: str, longest_s: float,
              fastest_fps: float) -> str:
    """The one sentence refusing a rate: the longest LED time at it, the fastest rate at
    the configured LED time."""
    at_rate = (f"at {camera.fps:g} fps the LED can be on at most {longest_s * 1e3:.2f} ms"
               if longest_s > 0 else f"{camera.fps:g} fps leaves no LED time at all")
    return (f"'camera.fps' {camera.fps:g} with 'camera.exposure_ms' {camera.exposure_ms:g} "
            f"does not fit {what} of {timing.name} at {camera.width}x{camera.height}"
            f"{_row_span(timing)}: {at_rate}, or at {camera.exposure_ms:g} ms the camera can "
            f"run at most {fastest_fps:.1f} fps")


def _row_span(timing: SensorTiming) -> str:
    if timing.rolling:
        return f", whose rows start over {timing.row_span_s * 1e3:.2f} ms"
    if timing.readout_s > 0:
        return f", which reads out in {timing.readout_s * 1e3:.2f} ms"
    return ""


def _trigger(timing: SensorTiming, camera: CameraConfig, strobe: StrobeConfig) -> ExposurePlan:
    led, period = camera.exposure_ms / 1e3, 1.0 / camera.fps
    frame_s = led + timing.readout_s
    problems = []
    if not timing.trigger_input:
        problems.append(f"'strobe.sync' \"trigger\" needs a camera trigger input and "
                        f"{timing.name} has none: use \"flash-window\" or \"frame\"")
    elif timing.rolling:
        problems.append(f"'strobe.sync' \"trigger\" needs a global shutter and {timing.name} "
                        "rolls: use \"flash-window\" or \"sensor-strobe\"")
    longest, fastest = period - timing.readout_s, _fastest(timing, frame_s)
    if not problems and not _fits(timing, period, frame_s):
        problems.append(_too_fast(camera, timing, "a triggered exposure", longest, fastest))
    # A pulse-width trigger (IMX296's XTR) exposes for the pulse plus an offset: the pulse
    # is then the exposure less the offset (Raspberry Pi's GS-camera docs: + 14.26 us).
    pulse = led - timing.trigger_offset_s if timing.trigger_offset_s > 0 else TRIGGER_PULSE_S
    return ExposurePlan("trigger", timing, led, led, 0.0, led, 0.0, period, 1, longest, fastest,
                        tuple(problems), pulse)


def _frame(timing: SensorTiming, camera: CameraConfig, strobe: StrobeConfig) -> ExposurePlan:
    led, period, settle = camera.exposure_ms / 1e3, 1.0 / camera.fps, strobe.settle_ms / 1e3
    # A frame is clean when it started after the switch settled: the switch follows the
    # previous frame's last row, so every frame is kept when the gap between frames fits it.
    needed = led + timing.row_span_s + settle
    kept_every = 1 if period >= needed else 2
    return ExposurePlan("frame", timing, led, led, 0.0, period, 0.0, period, kept_every,
                        period - timing.row_span_s - settle, _fastest(timing, needed))


def _flash_window(timing: SensorTiming, camera: CameraConfig,
                  strobe: StrobeConfig) -> ExposurePlan:
    led, period, guard = camera.exposure_ms / 1e3, 1.0 / camera.fps, strobe.window_guard_ms / 1e3
    exposure = timing.row_span_s + led + 2 * guard
    frame_s = exposure + timing.exposure_margin_s
    longest = period - timing.exposure_margin_s - timing.row_span_s - 2 * guard
    fastest = _fastest(timing, frame_s)
    problems = () if _fits(timing, period, frame_s) else (
        _too_fast(camera, timing, "the flash window", longest, fastest),)
    return ExposurePlan("flash-window", timing, led, exposure, timing.row_span_s,
                        led + 2 * guard, guard, period, 1, longest, fastest, problems)


def _sensor_strobe(timing: SensorTiming, camera: CameraConfig,
                   strobe: StrobeConfig) -> ExposurePlan:
    led, period = camera.exposure_ms / 1e3, 1.0 / camera.fps
    exposure = timing.row_span_s + led
    frame_s = exposure + timing.exposure_margin_s
    longest = period - timing.exposure_margin_s - timing.row_span_s
    fastest = _fastest(timing, frame_s)
    problems: tuple[str, ...] = ()
    if not timing.strobe_output:
        problems = (f"'strobe.sync' \"sensor-strobe\" needs the camera's strobe output wired "
                    f"to the LED driver and {timing.name} has none",)
    elif not _fits(timing, period, frame_s):
        what = "the flash window" if timing.rolling else "one exposure a frame"
        problems = (_too_fast(camera, timing, what, longest, fastest),)
    return ExposurePlan("sensor-strobe", timing, led, exposure, timing.row_span_s, led, 0.0,
                        period, 1, longest, fastest, problems)


_RULES = {"trigger": _trigger, "frame": _frame, "flash-window": _flash_window,
          "sensor-strobe": _sensor_strobe}
TIMING_NAMES = tuple(_RULES)


def global_plan(sync: str, led_on_s: float, period_s: float,
                guard_s: float = 0.0) -> ExposurePlan:
    """Today's assumption where no camera figures are at hand (a strobe made without a plan):
    a global shutter whose exposure is the LED time."""
    timing = SensorTiming("the camera", GLOBAL, 0.0, 1, math.inf, 0.0, True, True)
    exposure = led_on_s + 2 * guard_s if sync == "flash-window" else led_on_s
    return ExposurePlan(sync, timing, led_on_s, exposure, 0.0, exposure, guard_s, period_s, 1,
                        period_s - 2 * guard_s, 1.0 / exposure)


PROFILE_FIGURES = ("shutter", "line_time_us", "trigger_input", "strobe_output")


def timing_problems(camera: CameraConfig, strobe: StrobeConfig,
                    given: frozenset[str] = frozenset()) -> list[str]:
    """What the config gets wrong about the camera and its timing, one sentence each;
    `given` names the [camera] keys the file set (a profile's figures must not be given)."""
    if camera.profile and camera.profile not in PROFILES:
        return [f"'camera.profile' \"{camera.profile}\" is not a known camera; known: "
                + ", ".join(PROFILES) + " (or leave it out and give camera.shutter and "
                "camera.line_time_us)"]
    problems = []
    overridden = [key for key in PROFILE_FIGURES if key in given]
    if camera.profile and overridden:
        problems.append(f"'camera.profile' \"{camera.profile}\" gives the sensor's figures "
                        f"itself: leave out camera.{', camera.'.join(overridden)}")
    if camera.shutter not in (GLOBAL, ROLLING):
        problems.append(f"'camera.shutter' must be \"global\" or \"rolling\", not "
                        f"\"{camera.shutter}\"")
    elif camera.shutter == ROLLING and not camera.profile and not camera.line_time_us > 0:
        problems.append("'camera.shutter' \"rolling\" needs 'camera.line_time_us', the time "
                        "from one row starting to the next (or a camera.profile)")
    if camera.line_time_us < 0 or strobe.window_guard_ms < 0:
        problems.append("'camera.line_time_us' and 'strobe.window_guard_ms' must not be "
                        "negative")
    if problems or strobe.sync not in _RULES or not camera.fps > 0 or camera.exposure_ms <= 0:
        return problems
    return list(plan_exposure(camera, strobe).problems)
