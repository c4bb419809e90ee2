"""The simulated LED bank, the strobe sequencer and its fail-safe.

Their timing logic runs on a FakeClock the test moves, so the expected times are exact. The
few real-time tests left (the fail-safe's own thread, the strobe lighting the real simulated
camera) say what they measure and allow for a loaded machine."""
import dataclasses
import time

import numpy as np
import pytest

from device.viewer.cameras import CameraError
from device.viewer.config import StrobeConfig
from device.simulated.sim_leds import SimLeds
from device.simulated.presets import sim_config
from device.simulated.sim_camera import SimCamera
from device.viewer.rig import camera_options
from device.viewer.strobe import LedDeadlineGuard, Strobe

NIR = (718, 777, 807)
EXPOSURE_S, PERIOD_S = 3e-3, 1 / 150


def lit_intervals(leds: SimLeds):
    """[(nm, on, off)] from the recorded edges; an LED still lit ends now (on its clock)."""
    out, on = [], {}
    for e in leds.edges:
        if e.line == "trigger":
            continue
        if e.high:
            on[int(e.line)] = e.t
        else:
            out.append((int(e.line), on.pop(int(e.line)), e.t))
    out += [(nm, t, leds.clock()) for nm, t in on.items()]
    return sorted(out, key=lambda x: x[1])


def test_set_switches_off_before_on_and_on_time_integrates_edges(fake_clock):
    leds = SimLeds(NIR, clock=fake_clock)
    t0 = fake_clock()
    leds.set(718)
    fake_clock.sleep(0.010)
    leds.set(777)
    fake_clock.sleep(0.012)
    leds.off()
    t1 = fake_clock()
    lines = [(e.line, e.high) for e in leds.edges]
    assert lines == [("718", True), ("718", False), ("777", True), ("777", False)]
    assert [e.t - t0 for e in leds.edges] == pytest.approx([0, 0.010, 0.010, 0.022])
    assert leds.on_time(t0, t1) == pytest.approx({718: 0.010, 777: 0.012})
    assert leds.on_time(t0 + 0.005, t0 + 0.015) == pytest.approx({718: 0.005, 777: 0.005})
    assert leds.on_time(t1, t1 + 1) == {}
    assert leds.lit_intervals(t0, t1) == [(718, t0, t0 + 0.010),
                                          (777, t0 + 0.010, pytest.approx(t0 + 0.022))]
    # a camera's strobe output gating the bank: light only while it is high
    leds.gate = lambda a, b: [(t0 + 0.008, t0 + 0.012)]
    assert leds.on_time(t0, t1) == pytest.approx({718: 0.002, 777: 0.002})


def test_failsafe_fires_at_its_deadline_and_not_before(fake_clock):
    leds = SimLeds(NIR, clock=fake_clock)
    guard = LedDeadlineGuard(leds, clock=fake_clock)
    try:
        t = guard.light(807, 0.02)
        assert t == fake_clock()
        fake_clock.t = t + 0.0199
        assert guard.check() == pytest.approx(0.0001)
        assert leds.lit == 807 and guard.fired == 0
        fake_clock.t = t + 0.02
        assert guard.check() is None
        assert leds.lit is None and guard.fired == 1 and guard.last_fired == t + 0.02
        assert [(e.line, e.high, e.t - t) for e in leds.edges] == \
            [("807", True, 0.0), ("807", False, pytest.approx(0.02))]
        # Disarmed in time (the strobe's normal path): nothing fires however late it gets.
        guard.light(718, 0.02)
        guard.disarm()
        fake_clock.t += 10.0
        assert guard.check() is None and leds.lit == 718 and guard.fired == 1
    finally:
        guard.close()


@pytest.mark.parametrize("realtime", [False, True])
def test_failsafe_thread_switches_off_without_being_asked(realtime, caplog):
    # Real time: what this measures is that the guard's own thread wakes and acts while the
    # thread that lit the LED is held up (the timing logic is checked exactly above, on the
    # fake clock). The bound is measured in the same run, not guessed: the LED went off after
    # its window and before this thread, asleep for 50 windows as a stalled loop would be,
    # woke up. However loaded the machine, both wake-ups are equally late. With
    # `strobe.realtime` the guard's thread asks for SCHED_FIFO above the strobe's (granted or
    # not, as the machine allows) and still fires.
    import logging

    caplog.set_level(logging.INFO, logger="device.viewer.strobe")
    leds = SimLeds(NIR)
    guard = LedDeadlineGuard(leds, realtime)
    try:
        t = guard.light(807, 0.02)
        time.sleep(50 * 0.02)
        woke = time.monotonic()
        assert leds.lit is None and guard.fired == 1
        off = [e.t for e in leds.edges if e.line == "807" and not e.high][0]
        assert t + 0.02 <= off < woke
    finally:
        guard.close()
    asked = [m for m in caplog.messages if m.startswith("led-guard runs at SCHED_FIFO priority 60")
             or m.startswith("real-time priority not granted")]
    assert len(asked) == (1 if realtime else 0)


def test_failsafe_warns_once_then_counts_and_its_thread_ends_with_it(fake_clock, caplog):
    """The first forced switch-off is a warning with how late the loop was; the later ones are
    debug lines (the periodic statistics count them: `fired`). The guard's thread, named for
    ps and the logs and a daemon (it never holds the process up), ends at close()."""
    import logging
    import threading

    caplog.set_level(logging.DEBUG, logger="device.viewer.strobe")
    before = set(threading.enumerate())
    leds = SimLeds(NIR, clock=fake_clock)
    guard = LedDeadlineGuard(leds, clock=fake_clock)
    (thread,) = set(threading.enumerate()) - before
    assert thread.name == "led-guard" and thread.daemon
    try:
        for late_s in (0.005, 0.0125):
            t = guard.light(718, 0.02)
            fake_clock.t = t + 0.02 + late_s
            assert guard.check() is None and leds.lit is None
    finally:
        guard.close()
    assert not thread.is_alive() and guard.fired == 2
    # Without strobe.realtime the guard's thread does not ask for SCHED_FIFO.
    assert not [m for m in caplog.messages if "SCHED_FIFO" in m or "not granted" in m]
    fired = [(r.levelname, r.getMessage()) for r in caplog.records
             if r.getMessage().startswith("LED fail-safe")]
    assert fired == [
        ("WARNING", "LED fail-safe: forced all LEDs off 5.0 ms past the deadline (the strobe "
                    "loop was held up)"),
        ("DEBUG", "LED fail-safe: forced all LEDs off 12.5 ms past the deadline (the strobe "
                  "loop was held up)")]


def clocked_strobe(clock, clocked_camera, sync, strobe=None, plan=None, **camera):
    """SimLeds, a ClockedCamera and a Strobe on `clock` (`strobe`: StrobeConfig fields;
    `plan`: the timing rule's, else none)."""
    leds = SimLeds(NIR, clock=clock)
    config = StrobeConfig(**{"wavelengths": NIR, "sync": sync, "settle_ms": 0.3,
                             "margin_ms": 2.0, **(strobe or {})})
    cam = clocked_camera(clock, EXPOSURE_S, PERIOD_S, sync, lambda: leds.last_trigger, **camera)
    return leds, cam, Strobe(leds, cam, config, EXPOSURE_S, PERIOD_S, clock=clock,
                             sleep=clock.sleep, plan=plan)


def test_trigger_sync_times_each_phase_exactly_on_the_clock(fake_clock, clocked_camera):
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "trigger")
    try:
        subs = [strobe.next() for _ in range(9)]
    finally:
        strobe.close()
    assert [s.nm for s in subs] == list(NIR) * 3
    settle = 0.3e-3
    intervals = lit_intervals(leds)
    triggers = [e.t for e in leds.edges if e.line == "trigger" and e.high]
    assert len(intervals) == len(triggers) == 9
    for s, (nm, on, off), trigger in zip(subs, intervals, triggers):
        assert nm == s.nm
        assert trigger - on == pytest.approx(settle, abs=1e-12)      # LED settled first
        assert s.exposure_start == trigger
        assert off - s.exposure_end == pytest.approx(0, abs=1e-12)   # off as the exposure ends
        assert leds.on_time(s.exposure_start, s.exposure_end) == \
            pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12)
    # Triggers no faster than the camera's frame rate, and no later: the loop costs nothing here.
    assert np.diff(triggers) == pytest.approx(PERIOD_S, abs=1e-12)
    assert max(abs(v) for v in strobe.jitter.values) < 1e-12
    assert strobe.guard.fired == 0 and strobe.spoiled == 0


def test_frame_sync_keeps_only_frames_exposed_after_the_switch_settled(fake_clock,
                                                                      clocked_camera):
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "frame")
    try:
        subs = [strobe.next() for _ in range(9)]
    finally:
        strobe.close()
    assert [s.nm for s in subs] == list(NIR) * 3
    switches = [on for _, on, _ in lit_intervals(leds)]
    for s, switch in zip(subs, switches):
        assert s.exposure_start >= switch + 0.3e-3
        assert leds.on_time(s.exposure_start, s.exposure_end) == \
            pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12)
    # The switch comes right after a frame ends, in the gap before the next exposure starts, so
    # only the very first frame (starting as the first LED switched on) is dropped.
    assert strobe.dropped_across_switch == 1 and strobe.guard.fired == 0
    assert [s.exposure_start - subs[0].exposure_start for s in subs] == \
        pytest.approx([i * PERIOD_S for i in range(9)])       # no frame lost after that
    # The LED lights each kept frame's whole exposure, and that is the on-time reported; each
    # of the 8 switches after the first falls at the end of the frame before (0 late here).
    assert [s.led.on_s for s in subs] == pytest.approx([EXPOSURE_S] * 9, abs=1e-12)
    assert strobe.jitter.values == pytest.approx([0.0] * 8, abs=1e-12)


def test_frame_sync_keeps_the_led_guarded_between_phases(fake_clock, clocked_camera):
    """After a sub-frame the LED stays lit until the next phase switches it, and stays guarded:
    a loop that stops there gets it switched off one hold later (settle + two frame periods +
    the exposure + the margin: the longest a clean frame can take)."""
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "frame")
    hold = 0.3e-3 + 2 * PERIOD_S + EXPOSURE_S + 2e-3
    try:
        strobe.next()
        assert leds.lit == 718 and strobe.guard.check() == pytest.approx(hold, abs=1e-12)
        fake_clock.t += hold
        assert strobe.guard.check() is None and leds.lit is None and strobe.guard.fired == 1
    finally:
        strobe.close()


def test_frame_sync_drops_a_frame_at_every_switch_when_the_settle_outlasts_the_gap(
        fake_clock, clocked_camera):
    """A settle (4 ms) longer than the gap between one frame's end and the next one's start
    (6.67 - 3 = 3.67 ms) costs the frame after every switch: one dropped per sub-frame."""
    leds, cam, strobe = clocked_strobe(fake_clock, clocked_camera, "frame",
                                       strobe={"settle_ms": 4.0})
    try:
        subs = [strobe.next() for _ in range(6)]
    finally:
        strobe.close()
    assert strobe.dropped_across_switch == 6 and cam.frames == 12
    for s in subs:
        assert leds.on_time(s.exposure_start, s.exposure_end) == \
            pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12)


def test_frame_mode_stalled_camera_cannot_hold_an_led_on(fake_clock, clocked_camera):
    fake_clock.step = 1e-4
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "frame", stall_after=6,
                                     timeout_s=1.0)
    fake_clock.while_asleep.append(strobe.guard.check)   # the guard gets the CPU meanwhile
    try:
        with pytest.raises(CameraError):
            for _ in range(20):
                strobe.next()
        assert leds.lit is None           # the stall lasted 1 s; the LED went off long before
    finally:
        strobe.close()
    hold = 0.3e-3 + 2 * PERIOD_S + EXPOSURE_S + 2e-3
    longest = max(off - on for _, on, off in lit_intervals(leds))
    assert hold < longest <= hold + fake_clock.step + 1e-9, f"an LED stayed on {longest * 1e3} ms"
    assert strobe.guard.fired == 1


@pytest.mark.parametrize("sync", ["trigger", "frame"])
def test_strobe_lights_the_simulated_camera_one_led_per_subframe(tmp_path, sync):
    # Real time, with the real simulated camera: each sub-frame must show its own LED's print.
    # Nothing here depends on how fast the machine is: a loop held up past the fail-safe margin
    # only spoils an exposure, which the strobe drops and retakes.
    config = sim_config(tmp_path, width=64, height=48, fps=150, exposure_ms=3.0, sync=sync,
                        margin_ms=20.0, scene="chart")
    leds = SimLeds(NIR)
    camera = SimCamera(camera_options(config, leds), None)
    strobe = Strobe(leds, camera, config.strobe, 3e-3, 1 / 150)
    try:
        subs = [strobe.next() for _ in range(30)]
    finally:
        strobe.close()
    assert [s.nm for s in subs] == list(NIR) * 10
    for s in subs:   # exposed wholly under its own LED and no other
        on = leds.on_time(s.exposure_start, s.exposure_end)
        assert set(on) == {s.nm}
        assert on[s.nm] == pytest.approx(s.exposure_end - s.exposure_start, rel=1e-6)
    intervals = lit_intervals(leds)
    for (_, _, off), (_, on, _) in zip(intervals, intervals[1:]):
        assert on >= off                  # never two LEDs at once
    # The print's reflectance differs per LED: the camera really renders what was lit.
    means = {nm: np.mean([s.image.mean() for s in subs if s.nm == nm]) for nm in NIR}
    assert len({round(m) for m in means.values()}) == 3


@pytest.mark.slow
def test_frame_mode_stalled_simulated_camera_cannot_hold_an_led_on(tmp_path):
    # Real time, end to end with the simulated camera's stall; the exact bound is checked on
    # the fake clock above. Here the bound is the stall itself (camera.timeout_s, from the
    # config): an LED the guard did not switch off burns until the stalled read gives up, at
    # least that long; the guard's own window is 30 ms, so its thread may wake up to ~0.97 s
    # late on a loaded machine before this fails.
    config = sim_config(tmp_path, width=64, height=48, fps=100, exposure_ms=3.0, sync="frame",
                        margin_ms=5.0, scene="chart")
    config.camera.timeout_s = 1.0
    leds = SimLeds(NIR)
    camera = SimCamera(camera_options(config, leds), stall_after=6)
    strobe = Strobe(leds, camera, config.strobe, 3e-3, 1 / 100)
    try:
        with pytest.raises(CameraError):
            for _ in range(20):
                strobe.next()
        assert leds.lit is None
    finally:
        strobe.close()
    longest = max(off - on for _, on, off in lit_intervals(leds))
    assert longest < config.camera.timeout_s, f"an LED stayed on {longest * 1e3:.0f} ms"
    assert strobe.guard.fired >= 1


def test_jitter_line_reports_the_timing_error_either_side_in_ms():
    """The statistics line's strobe jitter: early and late count alike (absolute error), in
    milliseconds, and each line covers the phases since the one before. For errors of 1 ms
    late, 2 ms early and 0.5 ms late: mean 3.5 / 3 = 1.167; p99 by linear interpolation over
    the sorted 0.5, 1, 2: position 0.99 x 2 = 1.98, so 1 + 0.98 x (2 - 1) = 1.980; max 2."""
    from device.viewer.strobe import Jitter

    jitter = Jitter()
    assert jitter.take_summary() == "n/a"
    for seconds in (1e-3, -2e-3, 0.5e-3):
        jitter.add(seconds)
    assert jitter.take_summary() == "mean 1.167 ms, p99 1.980 ms, max 2.000 ms"
    assert jitter.take_summary() == "n/a"


def test_realtime_priority_is_taken_where_granted_and_said_where_not(caplog):
    """`strobe.realtime`: the calling thread asks for SCHED_FIFO; whether the kernel grants it
    depends on the machine's privileges, so the test checks the answer against the thread's
    policy afterwards. A priority beyond SCHED_FIFO's 1..99 is refused by the kernel (EINVAL):
    the strobe says so and carries on at normal priority."""
    import logging
    import os
    import threading

    from device.viewer.strobe import STROBE_PRIORITY, try_realtime_priority

    caplog.set_level(logging.INFO, logger="device.viewer.strobe")
    seen = {}

    def strobe_thread():   # a thread of its own: the policy is per thread, and it ends here
        seen["granted"] = try_realtime_priority()
        seen["policy"], seen["priority"] = os.sched_getscheduler(0), os.sched_getparam(0)
        seen["refused"] = try_realtime_priority(100)

    thread = threading.Thread(target=strobe_thread, name="strobe-test")
    thread.start()
    thread.join()
    if seen["policy"] == os.SCHED_FIFO:
        assert seen["granted"] is True and seen["priority"].sched_priority == STROBE_PRIORITY
        assert "strobe-test runs at SCHED_FIFO priority 50" in caplog.messages
    else:
        assert seen["granted"] is False
    assert seen["refused"] is False
    assert ("real-time priority not granted ([Errno 22] Invalid argument); strobing at normal "
            "priority") in caplog.messages


def test_a_reconnected_camera_is_strobed_next_and_given_the_strobes_gain(fake_clock,
                                                                        clocked_camera):
    """After a camera is lost the live loop opens another and hands it over (`use_camera`):
    the next phases read the new camera, which is given the exposure's gain before its first
    exposure (it may hold another); a camera without gain control reports the gain it was
    opened with."""
    leds = SimLeds(NIR, clock=fake_clock)

    def camera():
        return clocked_camera(fake_clock, EXPOSURE_S, PERIOD_S, "trigger",
                              lambda: leds.last_trigger)

    first = camera()
    strobe = Strobe(leds, first, StrobeConfig(wavelengths=NIR), EXPOSURE_S, PERIOD_S,
                    clock=fake_clock, sleep=fake_clock.sleep, gain=4.0)
    try:
        assert strobe.next().led.gain == 4.0
        second, gains = camera(), []
        second.set_gain = gains.append
        strobe.use_camera(second, gain=2.0)
        subs = [strobe.next() for _ in range(2)]
        assert gains == [4.0] and [s.led.gain for s in subs] == [4.0, 4.0]
        assert (first.frames, second.frames) == (1, 2)
        third = camera()                       # no gain control: opened at 2.0
        strobe.use_camera(third, gain=2.0)
        assert strobe.next().led.gain == 2.0 and third.frames == 1
    finally:
        strobe.close()


def test_the_strobe_logs_its_timing_plan_and_warns_of_its_problems(fake_clock, clocked_camera,
                                                                   caplog):
    """The plan's description goes to the log when the strobe starts; a plan that cannot give
    clean sub-frames (a config refuses it, a demo or a fault injection runs it) is a warning
    that names the timing mode and every problem."""
    import dataclasses
    import logging

    from device.viewer.exposure_plan import global_plan

    caplog.set_level(logging.INFO, logger="device.viewer.strobe")
    plan = dataclasses.replace(global_plan("frame", EXPOSURE_S, PERIOD_S),
                               problems=("the exposure is too long", "no trigger input"))
    leds = SimLeds(NIR, clock=fake_clock)
    cam = clocked_camera(fake_clock, EXPOSURE_S, PERIOD_S, "frame", lambda: leds.last_trigger)
    Strobe(leds, cam, StrobeConfig(wavelengths=NIR, sync="frame"), EXPOSURE_S, PERIOD_S,
           clock=fake_clock, sleep=fake_clock.sleep, plan=plan).close()
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", plan.describe()) in logged
    assert ("WARNING", "strobe timing frame cannot give clean sub-frames: the exposure is too "
                       "long; no trigger input") in logged


def test_the_dark_phase_follows_the_leds_and_sub_frames_are_numbered(fake_clock,
                                                                    clocked_camera):
    """`strobe.dark_phase`: after the LEDs a sub-frame with every LED off (the live dark
    frame); the sub-frames are numbered from 1 in the order they are taken."""
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "trigger",
                                     strobe={"dark_phase": True})
    try:
        subs = [strobe.next() for _ in range(8)]
    finally:
        strobe.close()
    assert [s.nm for s in subs] == [*NIR, None] * 2
    assert [s.seq for s in subs] == list(range(1, 9))
    for s in subs:
        lit = leds.on_time(s.exposure_start, s.exposure_end)
        assert lit == ({} if s.nm is None else pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12))


@pytest.mark.parametrize("where", ["switch-off", "trigger pulse"])
@pytest.mark.parametrize("late_s, retaken", [(0.5e-3, True), (0.05e-3, False)])
def test_a_trigger_exposure_of_unknown_on_time_is_taken_again(fake_clock, clocked_camera,
                                                              where, late_s, retaken):
    """Trigger sync: the thread held up between reading the clock and writing the GPIO (the
    switch-off, or the trigger pulse) makes the on-time uncertain by that much. Beyond the
    timing slack (here 0.1 ms, the floor: 1 % of 3 ms is less) the exposure is taken again,
    since the normalisation divides by the on-time; within it the exposure is kept. Twice
    held up, twice taken again; the guard (2 ms margin) never fires."""
    from device.viewer.strobe import timing_slack

    assert timing_slack(EXPOSURE_S) == 0.1e-3 and timing_slack(20e-3) == pytest.approx(0.2e-3)
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "trigger")
    held = {"times": 2}
    real = leds.off if where == "switch-off" else leds.pulse_trigger

    def late(*args):
        if held["times"] and (where != "switch-off" or leds.lit is not None):
            held["times"] -= 1
            fake_clock.t += late_s
        return real(*args)

    if where == "switch-off":
        leds.off = late
    else:
        leds.pulse_trigger = late
    try:
        subs = [strobe.next() for _ in range(6)]
    finally:
        strobe.close()
    assert strobe.spoiled == (2 if retaken else 0) and strobe.guard.fired == 0
    assert [s.nm for s in subs] == list(NIR) * 2
    for s in subs:
        assert leds.on_time(s.exposure_start, s.exposure_end)[s.nm] == \
            pytest.approx(EXPOSURE_S, abs=late_s + 1e-12)


def test_a_trigger_exposure_the_guard_cut_short_is_taken_again(fake_clock, clocked_camera):
    """Trigger sync: the strobe thread held up after the trigger for longer than the margin
    (2 ms), so the guard's thread switched the LED off before the exposure ended. That frame
    saw less light than its on-time says: it is taken again, once, and counted as spoiled;
    no frame is counted as dropped across a switch (every triggered exposure is under one LED)."""
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "trigger")
    calls = {"n": 0}
    real_sleep = fake_clock.sleep

    def held_sleep(seconds):
        calls["n"] += 1
        real_sleep(seconds)
        if calls["n"] == 5:            # the second phase's wait for its exposure to end
            fake_clock.t += 2.5e-3
            strobe.guard.check()       # the guard's thread got the CPU meanwhile

    strobe.timing.kit = dataclasses.replace(strobe.timing.kit, sleep=held_sleep)
    try:
        subs = [strobe.next() for _ in range(6)]
    finally:
        strobe.close()
    assert strobe.guard.fired == 1 and strobe.spoiled == 1
    assert strobe.dropped_across_switch == 0
    assert [s.nm for s in subs] == list(NIR) * 2
    for s in subs:      # every kept sub-frame lit for all of its exposure by its own LED
        assert leds.on_time(s.exposure_start, s.exposure_end) == \
            pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12)


@pytest.mark.parametrize("realtime", [False, True])
def test_the_strobe_hands_strobe_realtime_to_its_guard(fake_clock, clocked_camera, caplog,
                                                       realtime):
    """`strobe.realtime` reaches the guard's thread: it asks for SCHED_FIFO above the
    strobe's (the kernel grants it or the log says not); without it, it asks for nothing."""
    import logging

    caplog.set_level(logging.INFO, logger="device.viewer.strobe")
    _, _, strobe = clocked_strobe(fake_clock, clocked_camera, "trigger",
                                  strobe={"realtime": realtime})
    strobe.close()           # joins the guard's thread: whatever it logged is logged now
    asked = [m for m in caplog.messages if m.startswith("led-guard runs at SCHED_FIFO priority 60")
             or m.startswith("real-time priority not granted")]
    assert len(asked) == (1 if realtime else 0)


def test_frame_sync_on_a_rolling_shutter_guards_the_led_for_the_last_rows_too(fake_clock,
                                                                             clocked_camera):
    """Frame sync on a rolling shutter (its plan names the row span): a stalled camera is
    cut off after the hold plus the wait for the last row to start, not a row span early
    (that would cut every slow frame's bottom rows) nor later."""
    from device.viewer.exposure_plan import global_plan

    base = global_plan("frame", EXPOSURE_S, PERIOD_S)
    plan = dataclasses.replace(base, timing=dataclasses.replace(
        base.timing, shutter="rolling", rows=401, line_time_s=10e-6))
    row_span = plan.timing.row_span_s
    assert row_span == pytest.approx(4e-3)
    fake_clock.step = 1e-4
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "frame", plan=plan,
                                     stall_after=3, timeout_s=1.0)
    fake_clock.while_asleep.append(strobe.guard.check)
    try:
        with pytest.raises(CameraError):
            for _ in range(10):
                strobe.next()
    finally:
        strobe.close()
    hold = 0.3e-3 + 2 * PERIOD_S + EXPOSURE_S + row_span + 2e-3
    longest = max(off - on for _, on, off in lit_intervals(leds))
    assert hold < longest <= hold + fake_clock.step + 1e-9, f"an LED stayed on {longest * 1e3} ms"
    assert strobe.guard.fired == 1


def test_a_sensor_strobe_without_a_plan_assumes_a_global_shutter_at_the_configs_times(
        fake_clock, clocked_camera):
    """A strobe made without the timing rule's plan (only tests and tools do: the viewer's
    strobe always gets the config's) takes today's assumption, a global shutter whose exposure
    is the LED time: the sensor's strobe output lights each kept frame for the whole exposure,
    and that is the on-time reported."""
    leds, _, strobe = clocked_strobe(fake_clock, clocked_camera, "frame",
                                     strobe={"sync": "sensor-strobe"})
    try:
        subs = [strobe.next() for _ in range(6)]
    finally:
        strobe.close()
    plan = strobe.timing.plan
    assert (plan.sync, plan.led_on_s, plan.period_s) == ("sensor-strobe", EXPOSURE_S, PERIOD_S)
    assert [s.nm for s in subs] == list(NIR) * 2
    assert [s.led.on_s for s in subs] == [EXPOSURE_S] * 6
    for s in subs:
        assert leds.on_time(s.exposure_start, s.exposure_end) == \
            pytest.approx({s.nm: EXPOSURE_S}, abs=1e-12)
