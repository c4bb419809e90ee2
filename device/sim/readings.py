"""What the rig reads off each solid ink: its normalised reflectance through one LED band.

The paper's ink numbers (718 nm: C 0.1 / M 0.7 / Y 0.9, ...) are camera readings under an LED,
normalised to the paper white, so they are band averages weighted by LED emission × sensor QE
× paper reflectance, not values of the spectral curve at one wavelength."""
from __future__ import annotations

from device.sim.camera import silicon_qe
from device.sim.led_spectra import led_emission
from device.sim.rig_spec import RigSpec
from device.sim.spectra import INKS, WAVELENGTHS, normalised_reflectance, paper_reflectance

SURFACES = INKS + ("paper",)


def led_reading(surface: str, centre_nm: float, rig: RigSpec = RigSpec()) -> float:
    """Normalised reflectance of a solid patch of `surface` under an LED at `centre_nm`."""
    weight = (led_emission(centre_nm, rig.fwhm(centre_nm), WAVELENGTHS)
              * silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um) * paper_reflectance(WAVELENGTHS))
    return float(weight @ normalised_reflectance(surface, WAVELENGTHS) / weight.sum())


def ink_table(wavelengths, rig: RigSpec = RigSpec()) -> dict[str, dict[str, float]]:
    """{surface: {"<nm>": reading}} for every ink and the paper, at each LED wavelength."""
    return {surface: {str(int(nm)): round(led_reading(surface, nm, rig), 4)
                      for nm in wavelengths} for surface in SURFACES}
