"""The paper's dataset protocol on the real rig (`device capture --config FILE --out DIR`).

Blank paper first: a dark frame (all LEDs off) and a white reference under each LED. Then for
each print: one frame under each configured LED in turn, through the same camera and LED
backends as `device run`. The ground truth is the paper's: the 604, 529 and 447 nm captures,
each normalised to its white, merged as R, G and B, so those three LEDs must be configured.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from device.captures import PAPER_TRUTH_NM, CaptureSetWriter, paper_truth
from device.captures.format import Exposure
from device.common.errors import UserError
from device.viewer.config import load_config
from device.procedures.calibration import Rig, measure_calibration


def capture_with_rig(config_path, out, count: int | None, force: bool = False,
                     ask: bool | None = None) -> Path:
    """Write a capture set of `count` prints to `out`; returns `out`. `ask` (default: when
    stdin is a terminal and the camera is real) waits for Enter before each print."""
    config = load_config(config_path, check_model=False)
    nms = tuple(config.strobe.wavelengths)
    missing = [nm for nm in PAPER_TRUTH_NM if nm not in nms]
    if missing:
        raise UserError(f"{config_path}: the paper's capture protocol needs LEDs at 447, 529 and "
                        f"604 nm for the ground truth, but 'strobe.wavelengths' lacks "
                        f"{', '.join(map(str, missing))} nm.")
    if count is None or count < 1:
        raise UserError("--count N is required with --config: the number of prints you will "
                        "place under the camera.")
    simulated = config.camera.uri.startswith("sim://")
    ask = (sys.stdin.isatty() and not simulated) if ask is None else ask
    rig_description = {"kind": "sim" if simulated else "real", "config": str(config.path),
                       "camera": config.camera.uri, "leds": config.leds.uri,
                       "exposure_ms": config.camera.exposure_ms, "gain": config.camera.gain,
                       "sync": config.strobe.sync}
    with CaptureSetWriter(out, nms, rig_description, "paper",
                          f"device capture --config {config_path}", force=force) as writer:
        if ask:
            input("Put blank white paper under the camera, then press Enter... ")
        calibration = measure_calibration(config)
        dark = np.round(calibration.dark).astype(np.uint16)
        whites = {nm: np.round(w).astype(np.uint16) for nm, w in calibration.whites.items()}
        # every print is taken as the references are: the config's exposure and gain
        writer.set_references(dark, whites, exposure=Exposure(config.camera.exposure_ms,
                                                              config.camera.gain))
        with Rig(config) as rig:
            _capture_prints(rig, writer, count, ask, dark, whites)
        writer.finish()
    return Path(out)


def _capture_prints(rig: Rig, writer: CaptureSetWriter, count: int, ask: bool,
                    dark: np.ndarray, whites: dict[int, np.ndarray]) -> None:
    for i in range(count):
        if ask:
            input(f"Place print {i + 1} of {count}, then press Enter... ")
        raws = {nm: rig.frames(nm, 1)[0] for nm in rig.wavelengths}
        writer.add_scene(f"print-{i + 1:04d}", raws, paper_truth(raws, dark, whites))
