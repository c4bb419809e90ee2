"""The timing rule for each kind of sensor (device.viewer.exposure_plan) and the two strobe
timings for free-running sensors (flash-window, sensor-strobe), on a clock the test moves.

The camera here is the test's own rolling shutter on the FakeClock: row r of a frame starting at
t integrates [t + r tRow, t + r tRow + E], and what each row saw is computed from the simulated
bank's recorded edges by the test itself, independently of the simulated camera's code."""
import dataclasses
import math

import numpy as np
import pytest

from device.common.errors import UserError
from device.viewer.cameras import Frame
from device.viewer.config import load_config
from device.viewer.exposure_plan import longest_led_on_s, plan_exposure
from device.viewer.sections import CameraConfig, StrobeConfig
from device.viewer.strobe import (STROBE_TIMINGS, FlashWindowExposure, SensorStrobeExposure,
                                  Strobe)
from device.viewer import strobe as strobe_module
from device.simulated.presets import SHIPPED_MODEL
from device.simulated.sim_leds import SimLeds

NIR = (718, 777, 807)
IMX219_LINE_S = 3448 / 182.4e6          # mainline imx219.c: line length / pixel rate


def imx219(width=1280, height=720, fps=30.0, exposure_ms=8.0) -> CameraConfig:
    return CameraConfig(profile="imx219", width=width, height=height, fps=fps,
                        exposure_ms=exposure_ms)


# -- the rule ---------------------------------------------------------------------------------
def test_imx219_flash_windows_are_the_issues_arithmetic():
    # 1080p30: 1079 rows start over 20.4 ms, leaving 12.9 ms of the 33.3 ms frame in which
    # every row integrates (less the sensor's 4-line exposure margin); 720p60: 13.6 ms and 3.0.
    for (w, h, fps), window_ms in {(1920, 1080, 30.0): 12.86, (1280, 720, 60.0): 3.00}.items():
        row_span = (h - 1) * IMX219_LINE_S
        window = 1 / fps - row_span - 4 * IMX219_LINE_S
        assert window * 1e3 == pytest.approx(window_ms, abs=0.01)
        camera = imx219(w, h, fps, exposure_ms=1.0)
        plan = plan_exposure(camera, StrobeConfig(sync="flash-window"))
        assert plan.timing.row_span_s == pytest.approx(row_span)
        assert plan.longest_led_on_s == pytest.approx(window - 2 * 0.5e-3)   # less the guards
        sensor = plan_exposure(camera, StrobeConfig(sync="sensor-strobe"))
        assert sensor.longest_led_on_s == pytest.approx(window)   # the hardware needs none


def test_exposure_control_is_never_offered_more_than_the_window():
    """`longest_led_on_s` is the limit a config can reach in every timing mode: at it the
    config is accepted, a little beyond it refused."""
    cases = [(imx219(), "flash-window"), (imx219(), "frame"),
             (dataclasses.replace(imx219(), profile="", shutter="rolling",
                                  line_time_us=IMX219_LINE_S * 1e6, trigger_input=False,
                                  strobe_output=True), "sensor-strobe"),
             (CameraConfig(profile="ov9281", width=1280, height=800, fps=60.0), "trigger"),
             (CameraConfig(fps=60.0), "trigger")]
    for camera, sync in cases:
        strobe = StrobeConfig(sync=sync)
        longest = longest_led_on_s(camera, strobe)
        at = dataclasses.replace(camera, exposure_ms=longest * 1e3 - 1e-6)
        beyond = dataclasses.replace(camera, exposure_ms=longest * 1e3 + 0.1)
        assert not plan_exposure(at, strobe).problems, (sync, camera.profile)
        if sync == "frame":     # free-running with a switch: it keeps every other frame
            assert plan_exposure(at, strobe).kept_every == 1
            assert plan_exposure(beyond, strobe).kept_every == 2
        else:
            assert plan_exposure(beyond, strobe).problems, (sync, camera.profile)
    assert strobe_module.longest_led_on_s is longest_led_on_s     # what exposure control asks


def write_config(tmp_path, camera: str, strobe: str = "") -> str:
    path = tmp_path / "c.toml"
    path.write_text(f'[camera]\nuri = "sim://"\n{camera}\n[leds]\nuri = "sim://"\n'
                    f'[strobe]\n{strobe}\n[engine]\nuri = "onnx://{SHIPPED_MODEL}"\n')
    return str(path)


def test_more_led_time_than_the_flash_window_is_refused_naming_the_limits(tmp_path):
    path = write_config(tmp_path, 'profile = "imx219"\nwidth = 1280\nheight = 720\nfps = 60\n'
                                  'exposure_ms = 8')
    with pytest.raises(UserError) as refused:
        load_config(path)
    text = str(refused.value)
    assert text.count(". ") == 0 and text.endswith(".")       # one sentence
    assert "flash window of imx219 at 1280x720" in text
    assert "the LED can be on at most 2.00 ms" in text          # 3.00 ms less 2 x 0.5 guards
    assert "the camera can run at most 44.1 fps" in text        # 1 / (13.6 + 8 + 1 + 0.08) ms


def test_a_profile_picks_its_timing_and_refuses_what_it_cannot_do(tmp_path):
    picks = {"imx219": "flash-window", "imx477": "flash-window", "ov9281": "trigger",
             "imx296": "trigger", "bfs-u3-16s2m": "sensor-strobe",
             "aca2500-14um": "sensor-strobe"}
    for name, sync in picks.items():
        config = load_config(write_config(tmp_path, f'profile = "{name}"\nfps = 10\n'
                                                    'exposure_ms = 4'), check_model=False)
        assert config.strobe.sync == sync, name
        assert sync in STROBE_TIMINGS
    refusals = {('profile = "imx219"', 'sync = "trigger"'): "needs a camera trigger input and "
                                                            "imx219 has none",
                ('profile = "ov9281"', 'sync = "sensor-strobe"'): None,   # it has a STROBE pin
                ('profile = "imx296"', 'sync = "sensor-strobe"'): "imx296 has none",
                ('profile = "imx219"\nshutter = "global"', ''): "leave out camera.shutter",
                ('profile = "imx999"', ''): "not a known camera",
                ('shutter = "rolling"', ''): "needs 'camera.line_time_us'"}
    for (camera, strobe), message in refusals.items():
        path = write_config(tmp_path, camera + "\nfps = 10\nexposure_ms = 4", strobe)
        if message is None:
            load_config(path, check_model=False)
            continue
        with pytest.raises(UserError, match=message):
            load_config(path, check_model=False)


# -- the strobe timings on a fake clock -------------------------------------------------------
class RollingCamera:
    """A free-running rolling shutter on the FakeClock. `strobe_output`: it drives the bank's
    gate high during each frame's flash window (window_open after row 0, window_s wide)."""

    def __init__(self, clock, leds: SimLeds, rows: int, line_s: float, exposure_s: float,
                 period_s: float, window: tuple[float, float] | None = None):
        self.clock, self.leds = clock, leds
        self.rows, self.line_s, self.exposure_s, self.period_s = rows, line_s, exposure_s, \
            period_s
        self.t0 = clock()
        self.next_index = 1
        self.light: dict[float, dict[int, np.ndarray]] = {}
        if window is not None:
            open_s, width = window
            leds.gate = lambda a, b: [(self.t0 + k * period_s + open_s,
                                       self.t0 + k * period_s + open_s + width)
                                      for k in range(int((b - self.t0) / period_s) + 2)]

    def read(self) -> Frame:
        start = self.t0 + self.next_index * self.period_s
        self.next_index += 1
        end = start + (self.rows - 1) * self.line_s + self.exposure_s
        self.clock.sleep(end - self.clock())
        rows = start + np.arange(self.rows) * self.line_s
        light: dict[int, np.ndarray] = {}
        for nm, on, off in self.leds.lit_intervals(start, end):
            seen = np.clip(np.minimum(off, rows + self.exposure_s) - np.maximum(on, rows), 0,
                           None)
            light[nm] = light.get(nm, 0) + seen
        self.light[start] = light
        return Frame(np.zeros((2, 2), np.uint16), start, end)

    def close(self):
        pass


def rows_clean(camera: RollingCamera, nm: int, start: float) -> bool:
    light = camera.light[start]
    total = sum(light.values())
    return bool(np.all(light.get(nm, 0) > 0) and np.all(total - light[nm] <= 1e-3 * total))


def rolling_strobe(fake_clock, sync: str, rows=720, fps=30.0, exposure_ms=8.0):
    camera_config = dataclasses.replace(imx219(rows * 16 // 9, rows, fps, exposure_ms),
                                        profile="", shutter="rolling",
                                        line_time_us=IMX219_LINE_S * 1e6, trigger_input=False,
                                        strobe_output=True)
    config = StrobeConfig(wavelengths=NIR, sync=sync, margin_ms=5.0)
    plan = plan_exposure(camera_config, config)
    leds = SimLeds(NIR, clock=fake_clock)
    window = (plan.window_open_s, plan.window_s) if sync == "sensor-strobe" else None
    camera = RollingCamera(fake_clock, leds, rows, IMX219_LINE_S, plan.sensor_exposure_s,
                           plan.period_s, window)
    strobe = Strobe(leds, camera, config, exposure_ms / 1e3, 1 / fps, clock=fake_clock,
                    sleep=fake_clock.sleep, plan=plan)
    return camera, strobe, plan


def strobe_clean_frames_allowing_gaps(camera, strobe, plan, count: int) -> list:
    """`count` sub-frames, each lit on every row by its LED alone for the plan's LED time."""
    try:
        subs = [strobe.next() for _ in range(count)]
    finally:
        strobe.close()
    for sub in subs:
        assert rows_clean(camera, sub.nm, sub.exposure_start)
        assert camera.light[sub.exposure_start][sub.nm] == pytest.approx(plan.led_on_s)
    return subs


def strobe_clean_frames(camera, strobe, plan, count: int) -> list:
    """`count` sub-frames, each checked: every row lit by its LED alone, for the plan's LED
    time (no bands), and none skipped (one per frame period)."""
    subs = strobe_clean_frames_allowing_gaps(camera, strobe, plan, count)
    assert np.diff([s.exposure_start for s in subs]) == pytest.approx(plan.period_s)
    return subs


@pytest.mark.parametrize("rows", [720, 144])
def test_flash_window_lights_every_row_of_every_frame_by_one_led_at_the_predicted_rate(
        fake_clock, rows):
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window", rows)
    assert isinstance(strobe.timing, FlashWindowExposure)
    subs = strobe_clean_frames(camera, strobe, plan, 12)
    assert [s.nm for s in subs] == list(NIR) * 4
    assert strobe.timing.discarded == 1                        # the frame it locked on with
    # Each pulse as long as the plan's LED time, to the clock's resolution: that is the
    # on-time reported with the sub-frame, and the jitter line's error is nil here.
    assert [s.led.on_s for s in subs] == [plan.led_on_s] * 12
    assert strobe.jitter.values == pytest.approx([0.0] * 12, abs=1e-12)


def hold_up_first_off(strobe, fake_clock, seconds: float, count: int) -> list:
    """`count` sub-frames, the first switch-off of a lit LED `seconds` late: the thread that
    should switch it off did not get the CPU in time."""
    real_off = strobe.leds.off
    held = {"once": True}

    def late_off():
        if held["once"] and strobe.leds.lit is not None:
            held["once"] = False
            fake_clock.t += seconds
        real_off()

    strobe.leds.off = late_off
    try:
        return [strobe.next() for _ in range(count)]
    finally:
        strobe.close()


@pytest.mark.parametrize("late_s", [2e-3, 80e-3])
def test_a_held_up_flash_window_is_taken_again_not_kept(fake_clock, late_s):
    """The CPU late for a switch-off: 2 ms (within the frame), or 80 ms (2.4 frame periods,
    the pulse reaching into the frames after it). The frame is taken again, and every frame
    the camera delivered is accounted for: kept, spoiled, or dropped (the frame the strobe
    locked on with, and those the late pulse reached)."""
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window")
    subs = hold_up_first_off(strobe, fake_clock, late_s, 6)
    assert strobe.spoiled == 1
    assert strobe.jitter.values[0] == pytest.approx(late_s, abs=1e-12)   # the pulse's excess
    assert all(rows_clean(camera, s.nm, s.exposure_start) for s in subs)
    spoiled = [start for start, light in camera.light.items()
               if light and start not in {s.exposure_start for s in subs}]
    assert spoiled, "the late pulse lit a frame that was not kept"
    assert strobe.dropped_across_switch == len(camera.light) - len(subs) - strobe.spoiled
    reached = [start for start in camera.light
               if start > spoiled[0] and start < spoiled[0] + plan.window_open_s + late_s
               + plan.led_on_s + plan.guard_s]
    assert strobe.dropped_across_switch == 1 + len(reached)


def test_sensor_strobe_needs_the_selection_between_windows_only(fake_clock):
    camera, strobe, plan = rolling_strobe(fake_clock, "sensor-strobe")
    assert isinstance(strobe.timing, SensorStrobeExposure)
    strobe_clean_frames(camera, strobe, plan, 9)


def test_the_global_shutter_strobe_on_a_rolling_sensor_mixes_rows(fake_clock):
    """The fault a self-test must catch: a rolling shutter strobed as if it were global
    (`frame` timing told the sensor exposes all rows at row 0's start)."""
    camera, strobe, plan = rolling_strobe(fake_clock, "frame", exposure_ms=20.0)
    strobe.timing.kit = dataclasses.replace(strobe.timing.kit, plan=None)   # timing not known
    camera_as_global = camera.read

    def read_as_global() -> Frame:        # the driver reports exposures as a global shutter's
        frame = camera_as_global()
        return Frame(frame.image, frame.exposure_end - camera.exposure_s, frame.exposure_end)

    camera.read = read_as_global
    try:
        subs = [strobe.next() for _ in range(9)]
    finally:
        strobe.close()
    row_span = (camera.rows - 1) * camera.line_s
    mixed = [not rows_clean(camera, s.nm, s.exposure_end - camera.exposure_s - row_span)
             for s in subs]
    assert sum(mixed) >= 6


def test_the_fastest_rate_and_longest_led_time_agree(fake_clock):
    """At the fastest rate the rule names, the LED time asked for is exactly the longest."""
    for sync in ("flash-window", "sensor-strobe"):
        camera = dataclasses.replace(imx219(), profile="", shutter="rolling",
                                     line_time_us=IMX219_LINE_S * 1e6, strobe_output=True)
        fastest = plan_exposure(camera, StrobeConfig(sync=sync)).fastest_fps
        at_fastest = dataclasses.replace(camera, fps=fastest)
        assert longest_led_on_s(at_fastest, StrobeConfig(sync=sync)) == \
            pytest.approx(camera.exposure_ms / 1e3, abs=1e-9)
        assert math.isfinite(fastest)


def test_a_pulse_width_trigger_is_pulsed_for_the_exposure_less_its_offset(fake_clock):
    """IMX296's XTR exposes for the low pulse plus 14.26 us (Raspberry Pi's GS-camera docs):
    the strobe's pulse is the exposure less that, an edge trigger's the usual 100 us."""
    leds = SimLeds(NIR, clock=fake_clock)
    camera = CameraConfig(profile="imx296", width=1456, height=1088, fps=40.0, exposure_ms=4.0)
    plan = plan_exposure(camera, StrobeConfig(sync="trigger"))
    assert plan.trigger_pulse_s == pytest.approx(4e-3 - 14.26e-6)
    from tests.device.viewer.conftest import ClockedCamera
    cam = ClockedCamera(fake_clock, 4e-3, 1 / 40, "trigger", lambda: leds.last_trigger)
    strobe = Strobe(leds, cam, StrobeConfig(wavelengths=NIR), 4e-3, 1 / 40, clock=fake_clock,
                    sleep=fake_clock.sleep, plan=plan)
    try:
        strobe.next()
    finally:
        strobe.close()
    pulse = [e for e in leds.edges if e.line == "trigger"]
    assert pulse[1].t - pulse[0].t == pytest.approx(4e-3 - 14.26e-6)
    ov9281 = plan_exposure(CameraConfig(profile="ov9281", width=1280, height=800),
                           StrobeConfig(sync="trigger"))
    assert ov9281.trigger_pulse_s == pytest.approx(100e-6)


def test_a_pulse_held_into_the_next_frame_keeps_that_frame_out(fake_clock):
    """A pulse that ended long after its window (the thread held up for most of a frame) also
    lit the next frame's top rows: the retake must wait for a frame that started after it."""
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window", rows=720)
    # off 3 ms after the next frame's row 0 started, well before that frame's window opens
    late = plan.period_s + 3e-3 - plan.window_open_s - plan.guard_s - plan.led_on_s
    subs = hold_up_first_off(strobe, fake_clock, late, 6)
    assert strobe.spoiled == 1
    for sub in subs:
        assert rows_clean(camera, sub.nm, sub.exposure_start)
        assert camera.light[sub.exposure_start][sub.nm] == pytest.approx(plan.led_on_s)


def test_a_thread_held_up_between_switching_on_and_reading_the_clock_is_caught(fake_clock):
    """The LED went on, then the thread lost the CPU before it read the time: its pulse was
    longer than it would measure after the switch. Bracketing the switch catches it."""
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window")
    real_set = strobe.leds.set
    held = {"once": True}

    def set_then_stall(nm):
        real_set(nm)
        if nm is not None and held["once"]:
            held["once"] = False
            fake_clock.t += 0.3e-3          # inside the 0.5 ms guard, over the 1 % length
    strobe.leds.set = set_then_stall
    try:
        subs = [strobe.next() for _ in range(6)]
    finally:
        strobe.close()
    assert strobe.spoiled == 1
    for sub in subs:
        assert camera.light[sub.exposure_start][sub.nm] == pytest.approx(plan.led_on_s)


def test_a_frame_the_camera_skipped_is_lit_again_on_the_next_window(fake_clock):
    """The camera skipped the frame the pulse was timed for (a driver that dropped it): the
    frame it delivers instead started a period later and saw none of that pulse, so it is not
    kept as lit but counted as dropped; the strobe lights the frame after it, and every kept
    frame is clean at the plan's LED time."""
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window")
    real_read = camera.read
    reads = {"n": 0}

    def read_skipping_one() -> Frame:
        reads["n"] += 1
        if reads["n"] == 3:            # the second sub-frame's target never arrives
            camera.next_index += 1
        return real_read()

    camera.read = read_skipping_one
    subs = strobe_clean_frames_allowing_gaps(camera, strobe, plan, 6)
    assert [s.nm for s in subs] == list(NIR) * 2 and strobe.spoiled == 0
    # dropped: the frame it locked on with, and the unlit one delivered in the skipped one's
    # place; between the first two sub-frames, the skipped frame and that one
    assert strobe.dropped_across_switch == 2
    gaps = np.round(np.diff([s.exposure_start for s in subs]) / plan.period_s)
    assert gaps.tolist() == [3, 1, 1, 1, 1]


def test_a_pulse_cut_short_by_an_early_wake_up_is_taken_again(fake_clock):
    """The strobe thread woke early from its wait (a sleep cut short) and switched the LED off
    half-way: the rows saw half the light the sub-frame would report. It is taken again."""
    camera, strobe, plan = rolling_strobe(fake_clock, "flash-window")
    real_sleep = fake_clock.sleep
    cut = {"once": True}

    def sleep(seconds):
        if cut["once"] and strobe.leds.lit is not None:
            cut["once"] = False
            seconds /= 2
        real_sleep(seconds)

    strobe.timing.kit = dataclasses.replace(strobe.timing.kit, sleep=sleep)
    subs = strobe_clean_frames_allowing_gaps(camera, strobe, plan, 6)
    assert not cut["once"] and strobe.spoiled == 1
    assert [s.nm for s in subs] == list(NIR) * 2
