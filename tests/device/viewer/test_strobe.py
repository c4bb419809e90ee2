"""The simulated LED bank, the strobe sequencer and its fail-safe, with the simulated camera
that the LEDs light."""
import time

import numpy as np
import pytest

from device.viewer.cameras import CameraError
from device.simulated.sim_leds import SimLeds
from device.simulated.presets import sim_config
from device.simulated.sim_camera import SimCamera
from device.viewer.strobe import FailSafe, Strobe

NIR = (718, 777, 807)



def lit_intervals(leds: SimLeds):
    """[(nm, on, off)] from the recorded edges; an LED still lit ends now."""
    out, on = [], {}
    for e in leds.edges:
        if e.line == "trigger":
            continue
        if e.high:
            on[int(e.line)] = e.t
        else:
            out.append((int(e.line), on.pop(int(e.line)), e.t))
    out += [(nm, t, time.monotonic()) for nm, t in on.items()]
    return sorted(out, key=lambda x: x[1])


def test_set_switches_off_before_on_and_on_time_integrates_edges():
    leds = SimLeds(NIR)
    t0 = time.monotonic()
    leds.set(718)
    time.sleep(0.01)
    leds.set(777)
    time.sleep(0.01)
    leds.off()
    t1 = time.monotonic()
    lines = [(e.line, e.high) for e in leds.edges]
    assert lines == [("718", True), ("718", False), ("777", True), ("777", False)]
    on = leds.on_time(t0, t1)
    assert set(on) == {718, 777}
    assert 0.009 < on[718] < 0.03 and 0.009 < on[777] < 0.03
    assert leds.on_time(t1, t1 + 1) == {}


def test_failsafe_forces_leds_off_when_nobody_disarms(slack_s):
    leds = SimLeds(NIR)
    guard = FailSafe(leds)
    try:
        t = guard.light(807, 0.02)
        time.sleep(0.02 + slack_s + 0.2)
        assert leds.lit is None and guard.fired == 1
        off = [e.t for e in leds.edges if e.line == "807" and not e.high][0]
        assert off - t < 0.02 + slack_s
    finally:
        guard.close()


@pytest.mark.parametrize("sync", ["trigger", "frame"])
def test_strobe_cycles_leds_and_each_subframe_sees_its_led(tmp_path, sync):
    config = sim_config(tmp_path, width=64, height=48, fps=150, exposure_ms=3.0, sync=sync,
                        margin_ms=20.0, scene="chart")
    leds = SimLeds(NIR)
    camera = SimCamera(config, leds, None)
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


def test_frame_mode_stalled_camera_cannot_hold_an_led_on(tmp_path, slack_s):
    config = sim_config(tmp_path, width=64, height=48, fps=100, exposure_ms=3.0, sync="frame",
                        margin_ms=5.0, scene="chart")
    config.camera.timeout_s = 1.0
    leds = SimLeds(NIR)
    camera = SimCamera(config, leds, stall_after=6)
    strobe = Strobe(leds, camera, config.strobe, 3e-3, 1 / 100)
    try:
        with pytest.raises(CameraError):
            for _ in range(20):
                strobe.next()
        assert leds.lit is None           # the stall lasted 1 s; the LED went off long before
    finally:
        strobe.close()
    hold = config.strobe.settle_ms / 1e3 + 2 / 100 + 3e-3 + 5e-3
    longest = max(off - on for _, on, off in lit_intervals(leds))
    assert longest < hold + slack_s, f"an LED stayed on {longest * 1e3:.0f} ms"
    assert strobe.failsafe.fired >= 1
