"""The monochrome camera: silicon quantum efficiency, optics and the noisy 12-bit readout."""
from __future__ import annotations

import cv2
import numpy as np

from device.sim.rig_spec import RigSpec

# Absorption coefficient of crystalline silicon at 300 K, 1/cm (Green 2008, Sol. Energy Mater.
# Sol. Cells 92:1305). Light that is not absorbed within the photo-active depth is lost,
# which is why a silicon sensor's QE falls through the red and NIR.
_SI_NM = np.array([380, 400, 450, 500, 550, 600, 650, 700, 750, 800, 850, 900, 950, 1000.0])
_SI_ALPHA = np.array([1.7e5, 9.52e4, 2.55e4, 1.11e4, 6.39e3, 4.14e3, 2.81e3, 1.90e3, 1.30e3,
                      8.50e2, 5.35e2, 3.06e2, 1.57e2, 6.4e1])


def silicon_qe(nm, peak: float = 0.75, depth_um: float = 3.0) -> np.ndarray:
    """Quantum efficiency of a monochrome CMOS sensor: peak × absorbed fraction in `depth_um`
    of silicon, with a violet roll-off (microlenses and gate stack absorb below ~420 nm)."""
    nm = np.asarray(nm, dtype=np.float64)
    alpha = np.exp(np.interp(nm, _SI_NM, np.log(_SI_ALPHA)))
    absorbed = 1.0 - np.exp(-alpha * depth_um * 1e-4)
    violet = 1.0 / (1.0 + np.exp(-(nm - 400.0) / 15.0))
    return peak * absorbed * violet


def flat_field(shape: tuple[int, int], vignetting: float, prnu: float = 0.0,
               rng: np.random.Generator | None = None) -> np.ndarray:
    """Relative response over the frame: a smooth cos^4-like radial fall-off from the lens and
    the LED's beam (1 at the centre, 1 - vignetting in the corners), times the sensor's
    photo-response non-uniformity (pixel-to-pixel gain spread, `prnu` rms, fixed per camera).
    Both are fixed to the camera, so the white reference divides them out."""
    h, w = shape
    y = (np.arange(h, dtype=np.float32) - (h - 1) / 2) / max(h / 2, 1)
    x = (np.arange(w, dtype=np.float32) - (w - 1) / 2) / max(w / 2, 1)
    r2 = (y[:, None] ** 2 + x[None, :] ** 2) / 2.0   # 1.0 at the corners
    field = (1.0 - vignetting * r2).astype(np.float32)
    if prnu > 0:
        if rng is None:
            raise ValueError("flat_field: a prnu needs an rng")
        field *= 1.0 + np.float32(prnu) * rng.standard_normal(shape, dtype=np.float32)
    return field


def lens_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian point-spread function of the lens (sigma in pixels)."""
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma,
                            borderType=cv2.BORDER_REFLECT101)


# Above this mean, Poisson(μ) is drawn from its Gaussian limit N(μ, μ): at 12 bits the two are
# indistinguishable and the Gaussian is several times faster; dimmer pixels get exact draws.
GAUSSIAN_SHOT_E = 30.0


def noisy_electrons(mean: np.ndarray, read_noise_e: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Electrons read out when `mean` photo-electrons are expected: Poisson shot noise plus
    Gaussian read noise (one Gaussian draw of variance μ + σ_read² where μ is large)."""
    mean = np.maximum(mean, 0.0, dtype=np.float32)
    noisy = rng.standard_normal(mean.shape, dtype=np.float32)
    noisy *= np.sqrt(mean + np.float32(read_noise_e**2))
    noisy += mean
    dim = mean < GAUSSIAN_SHOT_E
    if dim.any():
        noisy[dim] = rng.poisson(mean[dim]) + read_noise_e * rng.standard_normal(
            np.count_nonzero(dim), dtype=np.float32)
    return noisy


def read_out(electrons: np.ndarray | None, shape: tuple[int, int], rig: RigSpec,
             rng: np.random.Generator) -> np.ndarray:
    """Turn the mean photo-electrons per pixel into raw ADC codes (uint16 holding `adc_bits`):
    shot and read noise, conversion gain, dark offset, rounding and clipping.
    `electrons=None` is a dark frame (lens capped)."""
    if electrons is None:
        collected = (rig.read_noise_e * rng.standard_normal(shape, dtype=np.float32)
                     if rig.noise else np.zeros(shape, dtype=np.float32))
    elif rig.noise:
        collected = noisy_electrons(electrons, rig.read_noise_e, rng)
    else:
        collected = electrons.astype(np.float32, copy=True)
    return quantise(collected, rig)


def quantise(collected: np.ndarray, rig: RigSpec) -> np.ndarray:
    """Electrons read out (float32, noise included; overwritten) to raw ADC codes: conversion
    gain, dark offset, rounding and clipping at the top code (a highlight past it is lost)."""
    collected *= np.float32(1.0 / rig.gain_e_per_adu)
    collected += np.float32(rig.dark_offset + 0.5)        # + 0.5: round half up on truncation
    np.clip(collected, 0.0, rig.adc_max, out=collected)
    return collected.astype(np.uint16)
