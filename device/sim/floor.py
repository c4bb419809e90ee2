"""The per-pixel Bayes floor: the least colour error any estimator can reach from one pixel's
LED readings alone, on the simulated rig.

A pixel printed with artwork colour x gives noiseless readings r(x) (normalised to paper white)
and the rig observes y = r(x) + noise. Given a prior over what was printed, the estimator with
the least expected squared error is the posterior mean

    x̂(y) = Σ_j π_j p(y | r_j) c_j / Σ_j π_j p(y | r_j)

over reference colours j drawn from the prior (r_j their readings, c_j their colour). The floor
is the mean and 90th-percentile CIEDE2000 between x̂(y) and the colour the pixel really has.
A network can only beat it through context (what a face or a sky looks like).

- The mean is taken in CIELAB: a posterior mean minimises the expected squared Euclidean error
  of the space it is taken in, and in CIELAB that error is ΔE76, the nearest of the usual spaces
  to the ΔE00 that is scored. On the uniform prior the choice is worth at most 0.2 ΔE00
  (`device sim floor`'s colours and references, seed 0: sRGB, linear-RGB and CIELAB means give
  12.05, 12.01, 12.04 at σ = 0.5 % and 18.13, 17.94, 18.14 at σ = 2 %).
- The sum is exact: every reference, in blocks of pixels. Keeping only the k nearest references
  drops the tails that pull the mean toward the prior's centre, the more so the denser the
  references: at σ = 2 % on uniform colours the 200 nearest of 262144 references give 19.6
  where the full sum gives 18.2 (of 32768: 18.5 against 18.4).
- The references cannot resolve colours finer than their spacing, so where the floor is near 0
  the estimate reads high: the visible LEDs at the rig's noise give 1.6 with 8192 references,
  1.3 with 16384 and 1.1 with 32768 (the default). In the NIR the noise dominates: 17.3, 17.2.
- A pixel's colour is what a person sees in daylight: the print's CIE 1931 XYZ under D65,
  relative to the paper white, in sRGB (clipped to its gamut, as the capture sets' `human` truth
  is), then CIELAB. Readings and colours come from the project's printer, without noise or blur.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from device.sim.camera import silicon_qe
# delta_e00_lab: the ΔE00 that `train.metrics` scores models with
from device.sim.colorimetry import delta_e00_lab, srgb_to_lab, xyz_to_srgb, xyz_weights
from device.sim.printing import PrintedSpectra, Printer, SpectralProjection
from device.sim.rig_spec import RigSpec
from device.sim.scene import sensor_weight
from device.sim.spectra import WAVELENGTHS

DEFAULT_REFERENCES = 1 << 15   # reference colours in the prior's sum
# Pixels per block of the posterior sum: block × references float32 stays ~64 MiB at 2^15.
_BLOCK_ELEMENTS = 1 << 24


def _led_weight(rig: RigSpec, nm: int, qe: np.ndarray) -> np.ndarray:
    """Electrons per unit reflectance under LED `nm`, room light included (it adds to every
    frame and to the white reference alike)."""
    weight = sensor_weight(rig, nm, qe)
    if rig.ambient > 0:
        weight = weight + sensor_weight(rig, None, qe)
    return weight


@dataclass(frozen=True)
class PrintedColours:
    """Artwork colours printed noiselessly: their readings under each LED (normalised to the
    paper white, N × len(leds)) and the colour a person sees (CIELAB, N × 3)."""
    leds: tuple[int, ...]
    readings: np.ndarray
    lab: np.ndarray

    def __len__(self) -> int:
        return len(self.lab)

    def columns(self, leds: Sequence[int]) -> np.ndarray:
        """Readings under `leds`, in that order."""
        missing = [nm for nm in leds if nm not in self.leds]
        if missing:
            raise ValueError(f"colours were not read under {missing} nm (only {list(self.leds)})")
        return self.readings[:, [self.leds.index(nm) for nm in leds]]


def print_colours(rgb: np.ndarray, leds: Sequence[int], rig: RigSpec = RigSpec(),
                  printer: Printer = Printer()) -> PrintedColours:
    """Print N artwork colours (N × 3 sRGB in [0, 1]) and read them under every LED of `leds`."""
    rgb = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 3)   # an N × 1 image for the printer
    spectra = PrintedSpectra.from_rgb(rgb, printer)
    paper = printer.inks.paper(WAVELENGTHS)
    qe = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um)
    readings = np.empty((len(rgb), len(leds)))
    for i, nm in enumerate(leds):
        weight = _led_weight(rig, nm, qe)
        band = spectra.project(SpectralProjection.from_density(weight))[:, 0, 0]
        readings[:, i] = band / (weight @ paper)
    xyz_w = xyz_weights()
    xyz = spectra.project(SpectralProjection.from_density(xyz_w))
    lab = srgb_to_lab(xyz_to_srgb(xyz, paper @ xyz_w))[:, 0, :]
    return PrintedColours(tuple(int(nm) for nm in leds), readings, lab)


# -- noise ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConstantNoise:
    """Gaussian noise of one standard deviation on every reading, as a fraction of white."""
    sigma: float

    def __post_init__(self):
        if not self.sigma > 0:
            raise ValueError(f"noise sigma must be positive, got {self.sigma}")

    def variance(self, readings: np.ndarray, leds: Sequence[int]) -> np.ndarray:
        return np.full(np.shape(readings), self.sigma ** 2)

    def describe(self, leds: Sequence[int]) -> str:
        return f"Gaussian, σ = {100 * self.sigma:.2f} % of white"


@dataclass(frozen=True)
class CameraNoise:
    """The sim camera's noise: Poisson shot noise on the photo-electrons plus Gaussian read
    noise (`device.sim.camera`). A reading r of a channel whose paper white collects W electrons
    has variance (r·W + σ_read²) / W² in white units: dark pixels are quieter than white ones."""
    white_electrons: Mapping[int, float]
    read_noise_e: float

    def _white(self, leds: Sequence[int]) -> np.ndarray:
        return np.array([self.white_electrons[nm] for nm in leds])

    def variance(self, readings: np.ndarray, leds: Sequence[int]) -> np.ndarray:
        white = self._white(leds)
        return (np.maximum(readings, 0.0) * white + self.read_noise_e ** 2) / white ** 2

    def white_sigma(self, leds: Sequence[int]) -> np.ndarray:
        """Standard deviation of a paper-white reading, as a fraction of white."""
        return np.sqrt(self.variance(np.ones(len(leds)), leds))

    def describe(self, leds: Sequence[int]) -> str:
        sigmas = "/".join(f"{100 * s:.2f}" for s in self.white_sigma(leds))
        return (f"sim camera (shot + {self.read_noise_e:g} e read noise), σ at white "
                f"{sigmas} % at {'/'.join(map(str, leds))} nm")


def camera_noise(rig: RigSpec, leds: Sequence[int], printer: Printer = Printer()) -> CameraNoise:
    """The noise of `rig`'s camera at its exposure and LED power, for each LED of `leds`."""
    qe = silicon_qe(WAVELENGTHS, rig.qe, rig.si_depth_um)
    paper = printer.inks.paper(WAVELENGTHS)
    return CameraNoise({int(nm): float(_led_weight(rig, nm, qe) @ paper) for nm in leds},
                       rig.read_noise_e)


# -- priors -----------------------------------------------------------------------------------
def uniform_rgb(n: int, rng: np.random.Generator) -> np.ndarray:
    """n artwork colours drawn uniformly from the sRGB cube (what the printer is sent)."""
    return rng.random((n, 3), dtype=np.float32)


def image_pixels(images: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """n pixels (n × 3 float32 sRGB) drawn from `images` (HxWx3 uint8), an equal share from each
    image so that one large photo does not stand for the whole set."""
    shares = np.diff(np.linspace(0, n, len(images) + 1).round().astype(int))
    picked = []
    for image, share in zip(images, shares):
        flat = image.reshape(-1, 3)
        picked.append(flat[rng.choice(len(flat), share, replace=share > len(flat))])
    return np.concatenate(picked).astype(np.float32) / np.float32(255.0)


def mixture_log_prior(sizes: Sequence[int], masses: Sequence[float]) -> np.ndarray:
    """Log prior weight of each reference when component k (sizes[k] references, concatenated
    in order) holds probability masses[k]."""
    if not all(size > 0 and mass > 0 for size, mass in zip(sizes, masses)):
        raise ValueError("every prior component needs references and a positive mass")
    return np.concatenate([np.full(size, np.log(mass / size)) for size, mass in zip(sizes, masses)])


# -- the posterior ----------------------------------------------------------------------------
def _likelihood_table(readings: np.ndarray, variance: np.ndarray,
                      log_prior: np.ndarray) -> np.ndarray:
    """Coefficients A (N × 2C+1) such that [y², y, 1] · A_j = log π_j + log N(y; r_j, v_j) + const
    for every reference j: the whole log posterior of a block of pixels is one matrix product.
    Readings are centred on 0.5 first (it cancels) to keep the float32 terms small."""
    r = readings - 0.5
    inv = 1.0 / variance
    const = log_prior - 0.5 * np.sum(r * r * inv + np.log(variance), axis=1)
    return np.concatenate([-0.5 * inv, r * inv, const[:, None]], axis=1).astype(np.float32)


def posterior_mean(observed: np.ndarray, readings: np.ndarray, values: np.ndarray,
                   variance: np.ndarray, log_prior: np.ndarray | None = None) -> np.ndarray:
    """E × D posterior mean of `values` (N × D, one row per reference) for each observed
    reading (E × C), with Gaussian likelihoods of per-reference variance (N × C): an exact sum
    over all N references, in blocks of pixels."""
    n = len(readings)
    table = _likelihood_table(readings, variance,
                              np.zeros(n) if log_prior is None else log_prior)
    weighted = np.concatenate([values, np.ones((n, 1))], axis=1).astype(np.float32)
    y = np.asarray(observed, dtype=np.float64) - 0.5
    features = np.concatenate([y * y, y, np.ones((len(y), 1))], axis=1).astype(np.float32)
    out = np.empty((len(y), values.shape[1]))
    block = max(1, _BLOCK_ELEMENTS // n)
    for start in range(0, len(y), block):
        log_post = features[start:start + block] @ table.T
        log_post -= log_post.max(axis=1, keepdims=True)
        np.exp(log_post, out=log_post)
        sums = log_post @ weighted
        out[start:start + block] = sums[:, :-1] / sums[:, -1:]
    return out


@dataclass(frozen=True)
class FloorResult:
    leds: tuple[int, ...]
    de00: np.ndarray          # per evaluated pixel

    @property
    def mean_de00(self) -> float:
        return float(np.mean(self.de00))

    @property
    def p90_de00(self) -> float:
        return float(np.percentile(self.de00, 90))


class BayesFloor:
    """A prior (printed references and their log weights), a noise model and the pixels to
    judge, all read once under every LED of interest; `evaluate(leds)` then costs one posterior
    sum for any subset of those LEDs.

    Every pixel's noise is one standard-normal draw per LED, fixed at construction and scaled by
    the noise model, so every LED subset is judged on the same draws (common random numbers:
    a ranking of subsets is not reshuffled by noise)."""

    def __init__(self, references: PrintedColours, pixels: PrintedColours, noise,
                 log_prior: np.ndarray | None = None, seed: int = 0):
        if pixels.leds != references.leds:
            raise ValueError("references and pixels must be read under the same LEDs")
        self.references, self.pixels, self.noise = references, pixels, noise
        self.log_prior = log_prior
        self._draws = np.random.default_rng([seed, 0xF100]).standard_normal(pixels.readings.shape)

    def observe(self, leds: Sequence[int]) -> np.ndarray:
        """The pixels' noisy readings under `leds`."""
        clean = self.pixels.columns(leds)
        draws = self._draws[:, [self.pixels.leds.index(nm) for nm in leds]]
        return clean + np.sqrt(self.noise.variance(clean, leds)) * draws

    def evaluate(self, leds: Sequence[int]) -> FloorResult:
        leds = tuple(int(nm) for nm in leds)
        refs = self.references.columns(leds)
        estimate = posterior_mean(self.observe(leds), refs, self.references.lab,
                                  self.noise.variance(refs, leds), self.log_prior)
        return FloorResult(leds, delta_e00_lab(self.pixels.lab, estimate))

    def rank(self, candidates: Sequence[int], k: int) -> list[FloorResult]:
        """Every k-subset of `candidates`, best (lowest mean ΔE00) first."""
        results = [self.evaluate(subset) for subset in itertools.combinations(candidates, k)]
        return sorted(results, key=lambda r: r.mean_de00)
