"""Less light from a raw frame already taken: binomial thinning of its photo-electrons.

Each photo-electron of a frame survives, independently, with probability f; a Poisson count of
mean μ thinned so is a Poisson count of mean f·μ (Poisson thinning, e.g. Kingman, "Poisson
Processes", 1993, §5.1). So one bright capture gives exact shot noise at any dimmer light, a new
draw each time: a data loader can make a scene's every light level and as many independent
noise draws of one triplet as it likes, with no new rendering.

The raw frame also holds read noise and the ADC's rounding, which thinning scales by f. They
are topped up with fresh Gaussian read noise, so that the variance matches a frame taken at the
dimmer light:

    Var[thinned] = E[Var | n] + Var[E | n] = f(1 - f)·μ + f²·(μ + σ_extra²) = f·μ + f²·σ_extra²
    σ_extra² = σ_read² + g²/12              (g: e⁻ per ADU of the source: its rounding)
    top-up  = σ_read² - f²·σ_extra²          (→ total f·μ + σ_read², as `camera.noisy_electrons`)

Then the electrons are read out at the target's conversion gain (`camera.quantise`): dark
offset, rounding, and clipping where a higher analogue gain pushes the highlights past the top
code. The source must not be clipped (a clipped pixel's electrons are unknown). Dim pixels are
thinned as whole counts, rounded stochastically (mean kept, at most 1/4 e⁻² more variance
against a read noise of 6.25 e⁻²).
"""
from __future__ import annotations

import numpy as np

from device.sim.camera import GAUSSIAN_SHOT_E, quantise
from device.sim.rig_spec import RigSpec


def photon_fraction(source: RigSpec, target: RigSpec) -> float:
    """The target's photo-electrons over the source's (LED flux × exposure time)."""
    return (target.photon_flux * target.exposure) / (source.photon_flux * source.exposure)


def thinned_electrons(raw: np.ndarray, source: RigSpec, fraction: float,
                      rng: np.random.Generator) -> np.ndarray:
    """Electrons read out (float32, read noise included) if `raw`, taken as `source`, had
    collected `fraction` of its photons."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"thinning keeps a fraction in (0, 1] of the photons, not {fraction}")
    g = source.gain_e_per_adu
    electrons = (raw.astype(np.float32) - np.float32(source.dark_offset)) * np.float32(g)
    # Read noise can make a dark pixel negative: it holds no photons to thin, only noise,
    # which scales by f like the rest of the source's read noise (so the mean stays f·μ).
    out = electrons * np.float32(fraction)
    # Binomial(n, f) is N(nf, nf(1 - f)) to within the 12-bit codes where nf is large (the
    # camera's own rule for Poisson), and several times faster; dim pixels get exact draws
    # from whole counts, rounded stochastically so that the mean stays f·μ.
    bright = out >= GAUSSIAN_SHOT_E
    out[bright] += np.sqrt(out[bright] * np.float32(1.0 - fraction)) * \
        rng.standard_normal(np.count_nonzero(bright), dtype=np.float32)
    dim = ~bright & (electrons > 0)
    counts = electrons[dim]
    whole = np.floor(counts)
    whole += rng.random(whole.shape, dtype=np.float32) < counts - whole
    out[dim] = rng.binomial(whole.astype(np.int64), fraction)
    extra = source.read_noise_e ** 2 + g * g / 12.0
    top_up = source.read_noise_e ** 2 - fraction ** 2 * extra
    if top_up > 0:
        out += np.float32(np.sqrt(top_up)) * rng.standard_normal(out.shape, dtype=np.float32)
    return out


def thin_raw(raw: np.ndarray, source: RigSpec, target: RigSpec,
             rng: np.random.Generator) -> np.ndarray:
    """Raw uint16 codes of the frame `raw` (taken as `source`) as if taken as `target`: the same
    camera with fewer photons (less light or a shorter exposure) at any analogue gain."""
    for name in ("read_noise_e", "dark_offset", "adc_bits"):
        if getattr(source, name) != getattr(target, name):
            raise ValueError(f"thinning keeps the camera: {name} differs "
                             f"({getattr(source, name)} vs {getattr(target, name)})")
    if not target.noise or not source.noise:
        raise ValueError("thinning needs a noisy source and target: it draws shot noise")
    return quantise(thinned_electrons(raw, source, photon_fraction(source, target), rng), target)
