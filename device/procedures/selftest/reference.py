"""What white paper should read under each LED, relative to the others: how step 3 tells
which LED lit a frame.

On a real rig the LEDs differ in brightness on white paper (the sensor's quantum efficiency
falls through the NIR: on silicon 718 : 777 : 807 nm read about 1 : 0.68 : 0.54 at equal photon
flux), and that is what tells them apart; their order in time does not (each sub-frame is taken
under the LED its line was asked for, which is exactly what a swap hides). Two references:
- the calibration's whites, where `device calibrate` has run: this rig's own LEDs, drivers,
  optics and sensor, measured. They show a swap made since the calibration, not one that was
  already there when it ran: so a new rig runs the self-test before it is calibrated;
- otherwise the simulated rig's model (device.simulated.expected_light): the QE curve with every
  LED driven to the same photon flux. On a real rig that holds only as far as the drivers were
  set up that way; a rig that differs by more than judge.ORDER_TOLERANCE, without a swap that
  explains it, passes with the ratios shown.
"""
from __future__ import annotations

import numpy as np

from device.procedures.selftest.evidence import Evidence
from device.simulated.expected_light import paper_white_signal
from device.viewer.preprocess import Calibration


def paper_reference(ev: Evidence) -> tuple[dict[int, float], str]:
    """(relative rise above dark of white paper per LED, where that comes from)."""
    whites = calibration_whites(ev)
    if whites is not None:
        return whites
    return (paper_white_signal(ev.wavelengths),
            "the sensor's QE at equal photon flux per LED (no calibration yet)")


def calibration_whites(ev: Evidence) -> tuple[dict[int, float], str] | None:
    c = ev.config
    path = c.resolve(c.preprocess.calibration)
    if not path.is_file():
        return None
    try:
        calibration = Calibration.load(path, ev.wavelengths, (c.camera.height, c.camera.width))
    except Exception:  # noqa: BLE001 - an unusable calibration: the model's reference instead
        return None
    rises = {nm: float(np.median(calibration.whites[nm] - calibration.dark))
             for nm in ev.wavelengths}
    if min(rises.values()) <= 0:
        return None
    return rises, f"the calibration's whites ({path.name})"
