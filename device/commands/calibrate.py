"""`device calibrate`: measure the dark frame and one white reference per LED on the rig.

The viewer normalises each sub-frame to the paper's white, as the paper did: (raw - dark) /
(white - dark). Put blank white paper under the camera (the simulated rig does this itself),
then the command takes averaged frames with all LEDs off and under each LED in turn, through
the same camera and LED backends as `device run`, and saves them where the config says.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from device.common.errors import UserError
from device.commands._rig_config import add_rig_config_arguments, load_rig_config
from device.viewer.config import Config
from device.captures.references import REFERENCE_FRAMES
from device.procedures.calibration import measure_calibration


def calibrate(config: Config, frames: int = REFERENCE_FRAMES, ask: bool = False) -> Path:
    """Measure and save the references where `config` keeps them; returns that path."""
    if ask and not config.camera.uri.startswith("sim://"):
        input("Put blank white paper under the camera, then press Enter... ")
    out = config.resolve(config.preprocess.calibration)
    calibration = measure_calibration(config, frames)
    calibration.save(out)
    return out


def run(args) -> int:
    config = load_rig_config(args, check_model=False)
    if args.frames < 1:
        raise UserError(f"--frames {args.frames}: must be at least 1.")
    out = calibrate(config, args.frames, ask=sys.stdin.isatty() and not args.yes)
    print(f"calibration written to {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("calibrate", help="measure dark and white references on the rig",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rig_config_arguments(p)
    p.add_argument("--frames", type=int, default=REFERENCE_FRAMES,
                   help=f"frames averaged per reference (default {REFERENCE_FRAMES})")
    p.add_argument("--yes", action="store_true", help="do not wait for Enter")
    p.set_defaults(func=run)
