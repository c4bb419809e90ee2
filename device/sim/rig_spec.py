"""`RigSpec`: every number that describes the simulated rig, as plain JSON-able data."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from device.captures.format import Exposure
from device.common.errors import UserError
from device.sim.led_spectra import DATASET_LEDS, DEFAULT_FWHM_NM


@dataclass(frozen=True)
class RigSpec:
    """The simulated microscope rig: LEDs, camera and optics (paper: mono Zeiss Axiocam 305,
    one LED at a time, diffuse illumination). Defaults give a 12-bit frame in which paper
    white reaches ~70 % of full scale at 447 nm and ~17 % at 807 nm, because silicon's
    quantum efficiency falls in the NIR while the LEDs are driven to equal photon flux."""
    leds: tuple[int, ...] = DATASET_LEDS
    led_fwhm_nm: float = DEFAULT_FWHM_NM
    photon_flux: float = 1200.0    # photons per pixel per ms off a perfect white diffuser, per LED
    exposure: float = 10.0         # ms, the same for every LED
    qe: float = 0.75               # peak quantum efficiency of the monochrome sensor
    si_depth_um: float = 3.0       # photo-active silicon depth: sets how fast QE falls in the NIR
    noise: bool = True             # shot (Poisson) and read (Gaussian) noise on/off
    read_noise_e: float = 2.5      # electrons rms
    full_well_e: float = 10500.0   # electrons at the top ADC code (sets the conversion gain)
    adc_bits: int = 12
    dark_offset: float = 64.0      # ADU pedestal (what a lens-capped frame reads)
    blur: float = 0.8              # Gaussian lens blur sigma, px (0 = none)
    vignetting: float = 0.2        # fall-off of lens + LED illumination at the corners (0..1)
    prnu: float = 0.01             # pixel-to-pixel gain spread (rms), fixed per camera (seed)
    ambient: float = 0.0           # photons/px/ms off a perfect white from room light (CIE A)
    # (nm, FWHM) of LEDs whose bandwidth is not led_fwhm_nm: a catalogue part's own (led_parts)
    led_fwhm_by_nm: tuple[tuple[int, float], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "leds", tuple(int(nm) for nm in self.leds))
        object.__setattr__(self, "led_fwhm_by_nm",
                           tuple((int(nm), float(w)) for nm, w in self.led_fwhm_by_nm))
        if not all(w > 0 for _, w in self.led_fwhm_by_nm):
            raise UserError("rig: every LED bandwidth in 'led_fwhm_by_nm' must be positive.")
        if not self.leds or len(set(self.leds)) != len(self.leds):
            raise UserError("rig: 'leds' must list distinct LED wavelengths.")
        if not all(380 <= nm <= 1000 for nm in self.leds):
            raise UserError(f"rig: LED wavelengths {list(self.leds)} must lie in 380..1000 nm, "
                            "the range of the simulated spectra.")
        positive = ("led_fwhm_nm", "photon_flux", "exposure", "qe", "si_depth_um", "full_well_e")
        for name in positive:
            if not getattr(self, name) > 0:
                raise UserError(f"rig: '{name}' must be positive, got {getattr(self, name)}.")
        if not (0 <= self.vignetting < 1 and 0 <= self.prnu < 0.2 and self.blur >= 0
                and self.read_noise_e >= 0 and self.ambient >= 0 and self.dark_offset >= 0
                and 8 <= self.adc_bits <= 16):
            raise UserError("rig: vignetting must be in [0, 1), prnu in [0, 0.2), adc_bits in "
                            "8..16 and blur, read_noise_e, ambient, dark_offset non-negative.")

    def fwhm(self, nm: float) -> float:
        """The bandwidth (FWHM, nm) of the LED at `nm`."""
        return dict(self.led_fwhm_by_nm).get(int(nm), self.led_fwhm_nm)

    @property
    def adc_max(self) -> int:
        return 2**self.adc_bits - 1

    @property
    def gain_e_per_adu(self) -> float:
        return self.full_well_e / self.adc_max

    @property
    def nominal_exposure(self) -> Exposure:
        """How this rig exposes by default: its exposure time, gain 1, its nominal light."""
        return Exposure(self.exposure)

    def under(self, exposure: Exposure) -> "RigSpec":
        """This rig exposed as `exposure` says: LED flux × its `light`, its exposure time, and
        its analogue gain dividing the electrons per ADU code (as the sim camera's gain does).
        Read noise stays in electrons; room light (`ambient`) is not the LEDs' and stays."""
        return dataclasses.replace(self, photon_flux=self.photon_flux * exposure.light,
                                   exposure=exposure.exposure_ms,
                                   full_well_e=self.full_well_e / exposure.gain)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["leds"] = list(self.leds)
        if self.led_fwhm_by_nm:
            d["led_fwhm_by_nm"] = [list(pair) for pair in self.led_fwhm_by_nm]
        else:        # a rig of one bandwidth is described as before
            del d["led_fwhm_by_nm"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RigSpec":
        if not isinstance(d, dict):
            raise UserError("rig: expected a JSON object describing the rig.")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(f"rig: unknown field(s) {', '.join(unknown)}.")
        try:
            return cls(**d)
        except (TypeError, ValueError) as exc:
            raise UserError(f"rig: invalid value ({exc}).") from None
