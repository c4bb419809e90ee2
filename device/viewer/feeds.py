"""The exposure state of a color frame and the per-frame feeds derived from it.

One object, `ExposureState`, says how each of the frame's sub-frames was exposed (LED on-time
and analogue gain, in the model's wavelength order) against the white reference it is
normalised to; every feed of the viewer graph that depends on exposure is computed from it and
nowhere else:
- `scale` (C x 1 x 1): the calibration's on-time x gain over the sub-frame's, so that
  (raw - dark) x gain-plane x scale is reflectance whatever exposure automatic exposure chose
  (the gain plane is 1 / (white - dark) at the calibration's exposure); uncalibrated, 1 / the
  sub-frame's brightest paper, which needs no exposure at all;
- `noise` (C x 1 x 1): the sensor's noise at paper white in reflectance units. Shot noise
  falls as the square root of the photons and the read noise in proportion to them, and the
  photons follow the on-time alone (gain amplifies electrons already collected), so from the
  calibration's measured noise at its on-time: noise² = shot² x (t_cal / t) + read² x
  (t_cal / t)².
A further feed that depends on exposure (the network's own noise-level input, say) is one more
method here and one more entry in `feeds`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.engines import viewer_io
from device.viewer.preprocess import Calibration, WhiteNoise
from device.viewer.strobe import LedExposure

# Without a calibration the noise is not measured: assume the simulated rig's at its white and
# the demo's 8 ms (1.8-2.4 % at 718-807 nm, docs/simulator.md), for the temporal filter only.
UNCALIBRATED_NOISE = 0.02


@dataclass(frozen=True)
class ExposureState:
    """Per plane, in the model's wavelength order: the sub-frame's exposure (None: unknown,
    taken as the reference's), the reference's (the calibration's white; None uncalibrated),
    the reference's measured noise, and, uncalibrated, the sub-frame's brightest paper."""
    exposures: tuple[LedExposure | None, ...]
    references: tuple[LedExposure | None, ...]
    white_noise: tuple[WhiteNoise | None, ...]
    brightest: tuple[float, ...] | None = None      # uncalibrated: raw codes above dark

    @classmethod
    def of(cls, exposures: tuple[LedExposure | None, ...], calibration: Calibration | None,
           wavelengths: tuple[int, ...],
           brightest: tuple[float, ...] | None = None) -> "ExposureState":
        if calibration is None:
            return cls(exposures, (None,) * len(exposures), (None,) * len(exposures),
                       brightest)
        return cls(exposures, tuple(calibration.exposures.get(nm) for nm in wavelengths),
                   tuple(calibration.noise.get(nm) for nm in wavelengths))

    def relative(self) -> np.ndarray:
        """Each sub-frame's on-time x gain over its reference's (1 where either is unknown)."""
        return np.array([1.0 if e is None or r is None else e.product / r.product
                         for e, r in zip(self.exposures, self.references)], np.float64)

    def photons(self) -> np.ndarray:
        """Each sub-frame's photons relative to its reference's: the on-time ratio."""
        return np.array([1.0 if e is None or r is None else e.on_s / r.on_s
                         for e, r in zip(self.exposures, self.references)], np.float64)

    def scale(self) -> np.ndarray:
        if self.brightest is not None:
            return (1.0 / np.asarray(self.brightest, np.float64)).astype(np.float32)
        return (1.0 / self.relative()).astype(np.float32)

    def noise(self) -> np.ndarray:
        photons = self.photons()
        sigma = []
        for n, p in zip(self.white_noise, photons):
            if n is None:
                sigma.append(UNCALIBRATED_NOISE)
                continue
            shot2 = max(n.total ** 2 - n.read ** 2, 0.0)
            sigma.append(float(np.sqrt(shot2 / p + n.read ** 2 / p ** 2)))
        return np.asarray(sigma, np.float32)

    def feeds(self) -> dict[str, np.ndarray]:
        """The exposure-derived inputs of the viewer graph, C x 1 x 1 each."""
        return {viewer_io.SCALE: self.scale().reshape(-1, 1, 1),
                viewer_io.NOISE: self.noise().reshape(-1, 1, 1)}
