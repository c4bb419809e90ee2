"""Training at every light level from one bright capture (`train fit --light LO-HI`).

Each crop of a scene captured bright is thinned on the fly (`device.sim.thinning`) to a light
drawn log-uniformly from the range, read out at an analogue gain drawn from `--gain` (a high
gain at a bright level clips the paper at the top code, as on the camera), and normalised as
the viewer normalises: (raw - dark) / (white - dark) times the references' light × exposure ×
gain over the crop's, so paper white stays 1.0 at every level and only the noise (and any
clipping) changes. Every crop is a new noise draw, so a few thousand scenes give unlimited
(scene, light, noise) triples; `twin` gives a second independent draw of the same crop at the
same light, for a stability loss.

Batches stay pure functions of (seed, iteration), as in `train.data`: resume is exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from device.captures import CaptureSet
from device.captures.format import Exposure
from device.common.errors import UserError
from device.sim.light import Levels
from train.data import FROM_REFLECTANCE, TO_SRGB, Batch, CropSampler, check_inputs


@dataclass(frozen=True)
class LightRecipe:
    """What `train fit` draws per crop: light (photons relative to the set's white references)
    and analogue gain, both log-uniform."""
    light: Levels
    gain: Levels

    def to_config(self) -> dict[str, Any]:
        return {"light": [self.light.low, self.light.high], "gain": [self.gain.low, self.gain.high]}


def white_electrons(cs: CaptureSet, inputs) -> tuple[Any, np.ndarray]:
    """(the rig, photo-electrons of paper white per input at the references' exposure) of a
    simulated capture set; UserError for a set without the rig's noise model."""
    from device.sim.floor import camera_noise
    from device.sim.rig_spec import RigSpec

    spec = cs.rig.get("spec") if cs.rig.get("kind") == "sim" else None
    if not isinstance(spec, dict):
        raise UserError(f"capture set {cs.root}: thinning to other light levels needs the "
                        "simulated rig's camera (conversion gain, read noise) in the manifest; "
                        "this set has none.")
    try:
        rig = RigSpec.from_dict(spec)
    except UserError as exc:
        raise UserError(f"{cs.root}: manifest {exc}") from None
    reference = cs.reference_exposure or rig.nominal_exposure
    noise = camera_noise(rig.under(reference), inputs)
    return rig, np.array([noise.white_electrons[nm] for nm in inputs])


def white_sigma(white_e: np.ndarray, light, read_noise_e: float) -> np.ndarray:
    """σ of a paper-white reading as a fraction of white (`device.sim.floor.CameraNoise`) at
    `light` (scalar or N) times the references' photons: shot + read noise, ... x C."""
    w = np.multiply.outer(np.asarray(light, dtype=np.float64), white_e)
    return (np.sqrt(w + read_noise_e ** 2) / w).astype(np.float32)


class ThinnedScenes:
    """A capture set's raw scenes (uint16, bounded cache) and what thinning them needs."""

    def __init__(self, cs: CaptureSet, inputs: tuple[int, ...], cache_bytes: int = 2 << 30):
        self.cs, self.inputs = cs, check_inputs(cs, inputs)
        self.rig, self.white_e = white_electrons(cs, self.inputs)
        self.reference = cs.reference_exposure or self.rig.nominal_exposure
        refs = cs.references()
        self.dark = refs["dark"]
        self.span = np.stack([np.maximum(refs["white"][nm] - self.dark, 1.0)
                              for nm in self.inputs])
        h, w = cs.size
        self._capacity = max(1, cache_bytes // (h * w * (2 * len(self.inputs) + 4 * 3)))
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def source(self, scene: str) -> tuple[np.ndarray, np.ndarray]:
        """(raw C x H x W uint16, truth 3 x H x W in [-1, 1]) of `scene`."""
        if scene not in self._cache:
            if len(self._cache) >= self._capacity:
                self._cache.pop(next(iter(self._cache)))
            raw = np.stack([self.cs.load_raw(scene, nm) for nm in self.inputs])
            if raw.max() >= self.rig.adc_max:
                raise UserError(f"capture set {self.cs.root}: scene {scene!r} has clipped pixels, "
                                "so it cannot be thinned to less light (capture it with less "
                                "gain or light).")
            rgb = self.cs.load_truth(scene).transpose(2, 0, 1)
            self._cache[scene] = (raw, np.ascontiguousarray(
                (rgb - TO_SRGB["offset"]) / TO_SRGB["scale"]))
        return self._cache[scene]

    def exposed(self, scene: str, light: float, gain: float) -> tuple[Any, Any, float]:
        """(source rig, target rig, normalisation factor) for `scene` at `light` (photons
        relative to the references) and `gain`."""
        own = self.cs.exposure(scene) or self.reference
        fraction = light / self.cs.relative_photons(scene)
        if fraction > 1.0 + 1e-9:
            raise UserError(f"capture set {self.cs.root}: scene {scene!r} was captured at light "
                            f"{self.cs.relative_photons(scene):g}, below the {light:g} asked "
                            "for; thinning only removes light.")
        target = Exposure(own.exposure_ms, gain, own.light * min(fraction, 1.0))
        ratio = self.reference.signal / (light * self.reference.photons * gain)
        return self.rig.under(own), self.rig.under(target), ratio

    def reflectance(self, scene: str, window, light: float, gain: float,
                    rng: np.random.Generator) -> np.ndarray:
        """C x h x w reflectance (paper white 1) of `window` (a (rows, cols) slice pair) of
        `scene` at `light` and `gain`: one fresh noise draw."""
        from device.sim.thinning import thin_raw

        raw, _ = self.source(scene)
        source, target, ratio = self.exposed(scene, light, gain)
        thinned = thin_raw(raw[(slice(None), *window)], source, target, rng).astype(np.float32)
        thinned -= self.dark[window]
        thinned *= np.float32(ratio) / self.span[(slice(None), *window)]
        return thinned


def to_network(reflectance: np.ndarray) -> np.ndarray:
    return reflectance * FROM_REFLECTANCE["scale"] + FROM_REFLECTANCE["offset"]


class LightCropSampler(CropSampler):
    """`CropSampler`'s crops, each at a light and gain drawn from `recipe`."""

    def __init__(self, scenes: ThinnedScenes, names: list[str], crop: int, seed: int,
                 recipe: LightRecipe, noise_input: bool = False, twins: bool = False,
                 bright: bool = False):
        h, w = scenes.cs.size
        if crop > min(h, w):
            raise UserError(f"--crop {crop} is larger than the images of capture set "
                            f"{scenes.cs.root} ({w}x{h}).")
        darkest = min(scenes.cs.relative_photons(n) for n in names)
        if recipe.light.high > darkest * (1 + 1e-9):
            raise UserError(f"--light up to {recipe.light.high:g} needs every training scene "
                            f"captured at least that bright; capture set {scenes.cs.root} has "
                            f"scenes at {darkest:g} (capture with --light "
                            f"{recipe.light.high:g}).")
        self.scenes, self.names, self.crop, self.seed = scenes, names, crop, seed
        self.size = (h, w)
        self.recipe, self.noise_input, self.twins = recipe, noise_input, twins
        self.bright = bright

    def batch(self, iteration: int, batch: int, rank: int = 0, world: int = 1):
        return self.sample(iteration, batch, rank, world)[:2]

    def sample(self, iteration: int, batch: int, rank: int = 0, world: int = 1) -> Batch:
        rng = np.random.default_rng([self.seed, iteration])
        picks = rng.integers(len(self.names), size=batch)
        ys = rng.integers(self.size[0] - self.crop + 1, size=batch)
        xs = rng.integers(self.size[1] - self.crop + 1, size=batch)
        lights = self.recipe.light.draw(rng, batch)
        gains = self.recipe.gain.draw(rng, batch)
        nir, rgb, twin, bright = [], [], [], []
        mine = range(rank, batch, world)
        for k in mine:
            name = self.names[picks[k]]
            window = (slice(ys[k], ys[k] + self.crop), slice(xs[k], xs[k] + self.crop))
            noise_rng = np.random.default_rng([self.seed, iteration, k, 0x7E1])
            nir.append(to_network(self.scenes.reflectance(name, window, lights[k], gains[k],
                                                          noise_rng)))
            if self.twins:
                twin.append(to_network(self.scenes.reflectance(name, window, lights[k],
                                                               gains[k], noise_rng)))
            rgb.append(self.scenes.source(name)[1][(slice(None), *window)])
            if self.bright:   # the teacher's view: the nominal light it was trained at
                bright.append(to_network(self.scenes.reflectance(name, window, 1.0, 1.0,
                                                                 noise_rng)))
        noise = None
        if self.noise_input:
            noise = torch.from_numpy(white_sigma(self.scenes.white_e, lights[list(mine)],
                                                 self.scenes.rig.read_noise_e))
        return Batch(torch.from_numpy(np.stack(nir)), torch.from_numpy(np.stack(rgb)), noise,
                     torch.from_numpy(np.stack(twin)) if self.twins else None,
                     torch.from_numpy(np.stack(bright)) if self.bright else None)


def validation_levels(recipe: LightRecipe, names: list[str], seed: int) -> dict[str, float]:
    """One light per validation scene, drawn once (so every validation scores the same
    images): the validation MAE spans the training range."""
    rng = np.random.default_rng([seed, 0x7A1])
    return dict(zip(names, recipe.light.draw(rng, len(names)).tolist()))
