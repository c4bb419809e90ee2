"""Surfaces of a family read by the rig, for the per-pixel floor (`device.sim.floor`): each
surface's noiseless readings under the LEDs, normalised to the paper white as every capture is,
and the colour a person sees in daylight (CIELAB, relative to the same paper)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from device.sim.camera import silicon_qe
from device.sim.floor import PrintedColours, _led_weight, print_colours
from device.sim.materials.family import Family, daylight_lab
from device.sim.printing import Printer
from device.sim.rig_spec import RigSpec
from device.sim.spectra import WAVELENGTHS

_BLOCK = 4096     # surfaces per block: n × 621 spectra stay ~20 MB


def surface_colours(family: Family, params: np.ndarray, leds: Sequence[int],
                    rig: RigSpec = RigSpec(), printer: Printer = Printer(),
                    shade: np.ndarray | None = None) -> PrintedColours:
    """The surfaces `params` of `family` read under every LED of `leds`, each dimmed by its
    `shade` (n,; light reaching it, as in a scene's shadows) if given. Ink goes through the
    printer's own path (`print_colours`), so `--material ink` is the floor it always was."""
    if family.name == "ink":
        if shade is not None:
            raise ValueError("a print's shading is in its artwork: no shade for ink")
        return print_colours(params, leds, rig, printer)
    paper = printer.inks.paper(WAVELENGTHS)
    qe = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um)
    weights = np.stack([_led_weight(rig, nm, qe) for nm in leds], axis=1)   # λ × LEDs
    readings, lab = [], []
    for start in range(0, len(params), _BLOCK):
        spectra = family.reflectance(params[start:start + _BLOCK])
        if shade is not None:
            spectra = spectra * np.asarray(shade[start:start + _BLOCK])[:, None]
        readings.append(spectra @ weights / (paper @ weights))
        lab.append(daylight_lab(spectra, paper))
    return PrintedColours(tuple(int(nm) for nm in leds), np.concatenate(readings),
                          np.concatenate(lab))
