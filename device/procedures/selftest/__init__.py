"""`device selftest`: a guided check of the whole rig, one numbered step after another, each a
pass/fail line with what to do on failure; a JSON report (what the `http://` display's page
shows as "Last self-test") and a contact-sheet PNG. Blank white paper goes under the camera
first, as for `device calibrate` (the simulated rig puts it there itself).

    1 camera     the rig opens; frames of the configured size at the configured rate
    2 dark       all LEDs off: the black level and the frame-to-frame noise
    3 leds       each LED alone raises its frame clearly above dark, and the frames' relative
                 brightness is the LEDs' in the configured order (swapped pins, a dead LED)
    4 rows       every row of the viewer's strobed sub-frames lit by its LED alone, as in a
                 frame lit throughout (a rolling shutter strobed without its timing)
    5 trigger    trigger sync: a frame on each pulse, none without one
    6 clipping   no LED's frame clips on white paper at the configured exposure and gain
    7 failsafe   the strobe's deadline guard switches a held LED off; every line low after;
                 the unit's ExecStopPost fail-safe runs
    8 engine     the engine loads or builds, and agrees with the FP32 ONNX reference on a
                 triplet just captured within the FP16 bound `convert` uses
    9 display    the configured display opens and shows a frame

A step that cannot run (no frames: see the step named) is skipped, saying why, and counts as
neither pass nor failure. The
LEDs are switched off and the bank closed however the test ends (every step's exception, an
interrupt); the judgements and their thresholds are in `judge.py`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from device.procedures.calibration import on_blank_paper
from device.procedures.selftest import contact_sheet
from device.procedures.selftest.camera_steps import (check_camera, check_clipping, check_dark,
                                                     check_trigger, full_scale)
from device.procedures.selftest.evidence import Evidence, Hooks
from device.procedures.selftest.led_steps import check_leds, check_rows
from device.procedures.selftest.report import Finding, Report, StepResult
from device.procedures.selftest.safety_steps import check_display, check_engine, check_failsafe
from device.viewer.cameras import CameraError
from device.viewer.config import Config
from device.viewer.http_display import masked

__all__ = ["Finding", "Hooks", "Report", "STEPS", "run_selftest"]


def _frames(ev: Evidence) -> str:
    if ev.session is None:
        return ev.no_frames or "the rig did not open (step 1)"
    return ev.no_frames


def _dark(ev: Evidence) -> str:
    return _frames(ev) or ("" if ev.dark is not None else "no dark frame (step 2)")


def _alone(ev: Evidence) -> str:
    return _dark(ev) or ("" if ev.alone else "no frame under one LED (step 3)")


def _rig(ev: Evidence) -> str:
    return "" if ev.session is not None else "the rig did not open (step 1)"


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    title: str
    check: Callable[[Evidence], Finding]
    blocked: Callable[[Evidence], str] = lambda ev: ""    # why it cannot run ("": it can)


STEPS = (
    Step(1, "camera", "the camera opens at its configured mode and rate", check_camera),
    Step(2, "dark", "dark level and noise, all LEDs off", check_dark, _frames),
    Step(3, "leds", "each LED lit alone, in the configured order", check_leds, _dark),
    Step(4, "rows", "every row of a sub-frame lit by its LED alone", check_rows, _dark),
    Step(5, "trigger", "frames on trigger pulses, none without", check_trigger, _rig),
    Step(6, "clipping", "no clipping at the configured exposure", check_clipping, _alone),
    Step(7, "failsafe", "the LED fail-safe switches everything off", check_failsafe),
    Step(8, "engine", "the engine agrees with the ONNX reference", check_engine),
    Step(9, "display", "the display opens", check_display),
)


def run_step(step: Step, ev: Evidence) -> StepResult:
    why = step.blocked(ev)
    if why:
        finding = Finding(None, why)
    else:
        try:
            finding = step.check(ev)
        except Exception as exc:  # noqa: BLE001 - a step that breaks is a failed step
            if isinstance(exc, CameraError) and not ev.no_frames:
                ev.no_frames = f"the camera stopped delivering frames (step {step.number})"
            finding = Finding(False, f"stopped on {type(exc).__name__}: {exc}", {},
                              "a fault this step does not name: the error above says where; "
                              "fix it and run the self-test again")
    return StepResult(step.number, len(STEPS), step.name, step.title, finding)


def describe(config: Config) -> dict[str, str]:
    c = config
    return {"config": str(c.path), "camera": c.camera.uri, "leds": c.leds.uri,
            "engine": c.engine.uri, "display": masked(c.display.uri), "sync": c.strobe.sync,
            "mode": f"{c.camera.width}x{c.camera.height} at {c.camera.fps:g} fps, "
                    f"{c.camera.exposure_ms:g} ms, gain {c.camera.gain:g}"}


def run_selftest(config: Config, hooks: Hooks, report_path: Path, sheet_path: Path,
                 saturation: float | None = None, rig: dict[str, str] | None = None,
                 say: Callable[[str], None] = print) -> Report:
    """Every step in order, each line said as it is known; then the contact sheet and the
    report, written whole. The rig is closed (every LED off) however this ends."""
    ev = Evidence(on_blank_paper(config), *full_scale(config, saturation), hooks=hooks)
    report = Report(describe(config) | (rig or {}), contact_sheet=str(sheet_path))
    try:
        for step in STEPS:
            result = run_step(step, ev)
            for line in result.lines():
                say(line)
            report.steps.append(result)
    finally:
        ev.close_rig()
    say(report.summary())
    c = config.camera
    contact_sheet.write(ev, f"{report.summary()}: {c.uri}, {c.width}x{c.height}, "
                            f"{config.strobe.sync} sync", sheet_path)
    report.write(report_path)
    return report
