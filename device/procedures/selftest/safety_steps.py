"""Steps 7, 8 and 9: the LED fail-safe, the engine, the display."""
from __future__ import annotations

import logging
import time

import numpy as np

from device.procedures.selftest.evidence import Evidence, led_wire
from device.procedures.selftest.report import Finding
from device.simulated.sim_leds import SimLeds
from device.viewer.leds import Leds
from device.viewer.rig import open_display
from device.viewer.strobe import LedDeadlineGuard

# The guard must have switched the LED off this long after its deadline at the latest: far
# beyond a thread's scheduling delay (the LED fail-safe was seen 17 ms late on this project's
# loaded 2-core machine, docs/cameras.md), short against what an LED held on can do.
FAILSAFE_LATE_MAX_S = 0.5
POLL_S = 0.001


def check_failsafe(ev: Evidence) -> Finding:
    """7: the strobe's deadline guard switches an LED off when the strobe thread is held up
    (this thread lights it through the guard and then does not switch it off); every line is
    low after the rig closes; the unit's ExecStopPost fail-safe runs from a fresh process."""
    parts: list[Finding] = []
    leds = ev.session.leds if ev.session is not None else None
    if leds is not None:
        parts.append(_guard(ev, leds))
    else:
        parts.append(Finding(None, f"the strobe's guard not tried: {ev.no_frames}"))
    ev.close_rig()
    if isinstance(leds, SimLeds):
        parts.append(_lines_low(leds))
    if ev.hooks.stop_post is not None:
        parts.append(ev.hooks.stop_post())
    measured = {k: v for part in parts for k, v in part.measured.items()}
    failed = [p for p in parts if p.passed is False]
    summary = "; ".join(p.summary for p in parts)
    if failed:
        return Finding(False, "; ".join(p.summary for p in failed), measured,
                       "; ".join(p.fix for p in failed))
    return Finding(True if any(p.passed for p in parts) else None, summary, measured)


class _Expected(logging.Filter):
    """Keeps the guard's "forced all LEDs off (the strobe loop was held up)" warning, which
    here is the test itself, out of the terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "LED fail-safe" not in record.getMessage()


def _guard(ev: Evidence, leds: Leds) -> Finding:
    c = ev.config
    nm = ev.wavelengths[0]
    window = (c.strobe.settle_ms + c.camera.exposure_ms + c.strobe.margin_ms) / 1e3
    quiet = _Expected()
    logging.getLogger(LedDeadlineGuard.__module__).addFilter(quiet)
    guard = LedDeadlineGuard(leds, c.strobe.realtime)
    try:
        t_on = guard.light(nm, window)           # and then this thread is "held up"
        deadline = t_on + window
        while leds.lit is not None and time.monotonic() < deadline + FAILSAFE_LATE_MAX_S:
            time.sleep(POLL_S)
        off_at = time.monotonic() if leds.lit is None else None
    finally:
        guard.close()
        leds.off()
        logging.getLogger(LedDeadlineGuard.__module__).removeFilter(quiet)
    measured = {"guard_window_ms": window * 1e3, "guard_fired": guard.fired,
                "guard_late_ms": (guard.last_fired - deadline) * 1e3 if guard.fired else None,
                "late_max_ms": FAILSAFE_LATE_MAX_S * 1e3}
    if off_at is None or not guard.fired:
        return Finding(False, f"the strobe's fail-safe left the {nm} nm LED on "
                              f"{FAILSAFE_LATE_MAX_S:g} s past its deadline", measured,
                       f"the LED guard thread did not run: strobe.realtime = true needs "
                       f"LimitRTPRIO (systemd/nightcolor.service); check that nothing else "
                       f"drives {led_wire(c, nm)}")
    late = (guard.last_fired - deadline) * 1e3
    return Finding(True, f"the strobe's fail-safe switched the held {nm} nm LED off "
                         f"{late:.1f} ms after its {window * 1e3:.1f} ms deadline", measured)


def _lines_low(leds: SimLeds) -> Finding:
    """The simulated bank's record: every LED line's last edge is low."""
    high = leds.high_lines()
    measured = {"lines_high_after_close": len(high)}
    if high:
        return Finding(False, f"lines {', '.join(map(str, high))} are still high after the rig "
                              f"closed", measured,
                       "a backend's close() left a line high: a bug to report")
    return Finding(True, f"all {len(leds.wavelengths)} LED lines low after the rig closed (edge "
                         f"record)", measured)


def check_engine(ev: Evidence) -> Finding:
    """8: the engine loads (or builds) and, on a triplet just captured, agrees with the ONNX
    reference within the FP16 bound (the command's check: it may import the engines)."""
    if ev.hooks.engine is None:
        return Finding(None, "no engine check was given")
    triplet = ev.triplet()
    finding, colour = ev.hooks.engine(triplet)
    ev.colour = colour
    if triplet is None and finding.passed is not False:
        return Finding(None, f"{finding.summary}; not compared: no triplet was captured "
                             f"({ev.no_frames or 'step 4 did not run'})", finding.measured)
    return finding


def check_display(ev: Evidence) -> Finding:
    """9: the configured display opens and takes a frame (the colour result, else grey)."""
    c = ev.config
    size = (c.camera.height, c.camera.width)
    frame = ev.colour if ev.colour is not None else np.full((*size, 3), 128, np.uint8)
    t0 = time.monotonic()
    try:
        display = open_display(c)
        try:
            display.render(frame, "nightcolor selftest")
            streaming = display.is_streaming()
        finally:
            display.close()
    except Exception as exc:  # noqa: BLE001 - any backend's refusal is this step's finding
        return Finding(False, f"display.uri '{c.display.uri}' did not open: {exc}",
                       {"opened": False}, _display_fix(c.display.uri))
    measured = {"opened": True, "open_and_show_s": time.monotonic() - t0}
    if not streaming:
        return Finding(False, f"display.uri '{c.display.uri}' closed right after its first "
                              f"frame", measured, _display_fix(c.display.uri))
    return Finding(True, f"display.uri '{c.display.uri}' opened and showed a frame", measured)


def _display_fix(uri: str) -> str:
    return (f"check display.uri '{uri}': HDMI without a desktop is drm:// (docs/jetson.md, The "
            f"HDMI output); on the bench, http://127.0.0.1:8080 through an SSH tunnel; "
            f"the service must be stopped if it holds the display or the port")
