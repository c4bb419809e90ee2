"""`device selftest`: a guided check of the whole rig, step by step (camera, dark level, each
LED, the rows of a sub-frame, the trigger, clipping, the LED fail-safe, the engine, the
display). Each step prints a line with its number, pass or FAIL, and on a failure what to do,
naming the config key, the pin or the wire. Put blank white paper under the camera first
(the simulated rig does it itself). Writes a JSON report where the http:// display's status
page reads it, and a contact sheet (selftest.png); exits 1 if any step failed. Stop the
service first: it holds the camera and the LED pins (sudo systemctl stop nightcolor).

`--rig sim --fault NAME` gives the simulated rig a fault, to see what it looks like:
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from device.commands._rig_config import with_sim_rig
from device.commands._selftest_engine import engine_check, execstoppost_check
from device.common.errors import UserError
from device.procedures.selftest import Hooks, run_selftest
from device.simulated.faults import FAULTS, inject
from device.simulated.presets import ASSETS, sim_config
from device.viewer.config import Config, load_config
from device.viewer.displays import DISPLAYS
from device.viewer.http_display import DEFAULT_SELFTEST, http_settings

INSTALLED_CONFIG = Path("/etc/nightcolor/nightcolor.toml")   # where install.sh puts it
SIM_MODEL = ASSETS / "edge.viewer.fp16.onnx"   # the FP16 graph: the engine a Jetson would run
SHEET = "selftest.png"
SIM_TIMEOUT_S = 0.25


def _config(args: argparse.Namespace) -> tuple[Config, Path | None, bool]:
    """(the config to test, the file it came from, whether --rig sim replaced its LEDs)."""
    if args.config is None and args.rig == "sim":
        folder = (args.out or Path.cwd()).resolve()
        config = sim_config(folder, engine=SIM_MODEL, width=128, height=96, fps=30.0)
        # "No frame without a pulse" waits this long: 7 frame periods at 30 fps.
        camera = dataclasses.replace(config.camera, timeout_s=SIM_TIMEOUT_S)
        return dataclasses.replace(config, camera=camera), None, False
    path = args.config or INSTALLED_CONFIG
    config = load_config(path)
    if args.rig != "sim":
        return config, path, False
    return with_sim_rig(config), path, not config.leds.uri.startswith("sim://")


def report_path(config: Config) -> Path:
    """Where the http:// display reads the report: its selftest=, else beside the config."""
    uri = DISPLAYS.parse(config.display.uri)
    name = http_settings(uri).selftest if uri.scheme == "http" else DEFAULT_SELFTEST
    return config.resolve(name)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt      # the procedure's `finally` switches the LEDs off


def run(args: argparse.Namespace) -> int:
    config, path, replaced = _config(args)
    config, changes = inject(config, args.fault or [])
    report = (args.report or report_path(config)).resolve()
    out = (args.out or report.parent).resolve()
    for folder, what in ((report.parent, "the report's folder"), (out, "--out")):
        if not folder.exists():
            raise UserError(f"{folder} ({what}) does not exist: create it, or give another.")
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise UserError(f"{folder} ({what}) is not a folder this user can write to: run as "
                            f"root (sudo) on the device, or give --report and --out.")
    for change in changes:
        print(f"fault injected (simulated rig): {change}")
    if sys.stdin.isatty() and not args.yes and not config.camera.uri.startswith("sim://"):
        input("Put blank white paper under the camera, then press Enter... ")
    hooks = Hooks(engine=engine_check(config), stop_post=execstoppost_check(path, replaced))
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        rig = {"faults": ", ".join(changes) or "none"}
        if path is None:
            rig["config"] = "none: the built-in simulated rig"
        result = run_selftest(config, hooks, report, out / SHEET, args.saturation, rig)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(f"report: {report}\ncontact sheet: {out / SHEET}")
    return 0 if result.passed else 1


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    faults = "\n".join(f"  {f.name:16} {f.what} (step {f.step})" for f in FAULTS.values())
    p = subparsers.add_parser("selftest", help="check the rig step by step: camera, LEDs, "
                              "trigger, fail-safe, engine, display", description=__doc__ + faults,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=None,
                   help=f"the viewer's TOML config (default {INSTALLED_CONFIG}; with --rig sim "
                        "and no --config, a built-in simulated rig)")
    p.add_argument("--rig", choices=("sim",), default=None,
                   help="use the simulated camera and LEDs whatever the config says")
    p.add_argument("--out", type=Path, default=None,
                   help=f"folder for the contact sheet, {SHEET} (default: the report's)")
    p.add_argument("--report", type=Path, default=None,
                   help="the JSON report (default: the http:// display's selftest=, else "
                        f"{DEFAULT_SELFTEST} beside the config)")
    p.add_argument("--fault", action="append", choices=sorted(FAULTS), default=None,
                   help="give the simulated rig this fault (repeatable)")
    p.add_argument("--saturation", type=float, default=None,
                   help="the raw code at which the sensor clips (default: 255 at 8 bits, "
                        "4095 at 16)")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter")
    p.set_defaults(func=run)
