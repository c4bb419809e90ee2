"""What white paper should read under each LED before anything is calibrated: the simulated
rig's own model of the light (each LED's spectrum x the sensor's silicon QE x the paper's
reflectance, every LED driven to the same photon flux, as device.sim renders it). `device
selftest` compares the LEDs' measured brightness with it to tell which LED lit which frame."""
from __future__ import annotations

import numpy as np

from device.sim.camera import silicon_qe
from device.sim.led_parts import part_fwhms
from device.sim.led_spectra import led_emission
from device.sim.rig_spec import RigSpec
from device.sim.spectra import WAVELENGTHS, paper_reflectance


def paper_white_signal(wavelengths: tuple[int, ...]) -> dict[int, float]:
    """Relative signal of white paper under each LED at equal photon flux (the brightest 1):
    electrons per photon, averaged over the LED's spectrum (catalogue LEDs with their own
    bandwidths, as the simulated camera renders them)."""
    rig = RigSpec(leds=tuple(wavelengths), led_fwhm_by_nm=part_fwhms(tuple(wavelengths)))
    response = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um) * paper_reflectance(WAVELENGTHS)
    signal = {}
    for nm in wavelengths:
        photons = led_emission(nm, rig.fwhm(nm), WAVELENGTHS)
        signal[int(nm)] = float(photons @ response / photons.sum())
    brightest = max(signal.values())
    return {nm: value / brightest for nm, value in signal.items()}


def paper_white_electrons(nm: int, exposure_ms: float, rig: RigSpec = RigSpec()) -> float:
    """Photo-electrons a pixel at the frame's centre collects from white paper under LED `nm`
    lit for `exposure_ms` on the simulated rig (its photon flux, QE and paper)."""
    one = RigSpec(leds=(nm,), led_fwhm_by_nm=part_fwhms((nm,)))
    response = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um) * paper_reflectance(WAVELENGTHS)
    photons = led_emission(nm, one.fwhm(nm), WAVELENGTHS)
    return float(rig.photon_flux * exposure_ms * (photons @ response) / photons.sum())
