"""Capture-set data for the networks: scenes scaled to [-1, 1] and seeded random crops.

Every batch is a pure function of (seed, iteration): no data-loader state exists, so a run
resumed from a checkpoint sees exactly the crops an uninterrupted run would have seen, and the
processes of a multi-GPU run each take their share of the same global batch.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import numpy as np
import torch

from device.captures import CaptureSet
from device.common.errors import UserError

# Paper: inputs and outputs scaled to [-1, 1]. Inputs are reflectances (paper white = 1.0).
FROM_REFLECTANCE = {"scale": 2.0, "offset": -1.0}
TO_SRGB = {"scale": 0.5, "offset": 0.5}
DEFAULT_INPUTS = (718, 777, 807)


def parse_inputs(text: str) -> tuple[int, ...]:
    """'718,777,807' -> (718, 777, 807); UserError on anything else."""
    try:
        inputs = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"--inputs {text!r} must be comma-separated wavelengths in nm, "
                        "e.g. 718,777,807.") from None
    if len(set(inputs)) != len(inputs):
        raise UserError(f"--inputs {text!r} names a wavelength twice.")
    return inputs


def check_inputs(cs: CaptureSet, inputs: tuple[int, ...]) -> tuple[int, ...]:
    missing = [nm for nm in inputs if nm not in cs.wavelengths]
    if missing:
        have = ", ".join(map(str, cs.wavelengths))
        raise UserError(f"--inputs: {missing[0]} nm is not in capture set {cs.root} "
                        f"(it has {have} nm).")
    return inputs


def check_split(cs: CaptureSet, part: str) -> list[str]:
    scenes = cs.split[part]
    if not scenes:
        raise UserError(f"capture set {cs.root} has no {part} scenes ({len(cs)} scenes in all).")
    return scenes


class Scenes:
    """Scenes of one capture set as (nir C x H x W, rgb 3 x H x W) float32 in [-1, 1], with a
    bounded cache so sets larger than memory still stream from disk."""

    def __init__(self, cs: CaptureSet, inputs: tuple[int, ...], cache_bytes: int = 2 << 30):
        self.cs = cs
        self.inputs = check_inputs(cs, inputs)
        h, w = cs.size
        self._capacity = max(1, cache_bytes // (4 * h * w * (len(inputs) + 3)))
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    def load(self, scene: str) -> tuple[np.ndarray, np.ndarray]:
        if scene in self._cache:
            self._cache.move_to_end(scene)
            return self._cache[scene]
        nir = self.cs.load_nir(scene, self.inputs).transpose(2, 0, 1)
        rgb = self.cs.load_truth(scene).transpose(2, 0, 1)
        pair = (np.ascontiguousarray(nir * FROM_REFLECTANCE["scale"] + FROM_REFLECTANCE["offset"]),
                np.ascontiguousarray((rgb - TO_SRGB["offset"]) / TO_SRGB["scale"]))
        self._cache[scene] = pair
        if len(self._cache) > self._capacity:
            self._cache.popitem(last=False)
        return pair


class Batch(NamedTuple):
    """One training batch: inputs and targets in [-1, 1]; `noise`: N x C σ of paper white per
    input (a fraction of white) where the model takes it; `twin`: a second noise draw of `nir`;
    `bright`: the same crops at the references' (nominal) light, for a teacher (`train.light`)."""
    nir: torch.Tensor
    rgb: torch.Tensor
    noise: torch.Tensor | None = None
    twin: torch.Tensor | None = None
    bright: torch.Tensor | None = None


class CropSampler:
    """Random crop x crop windows of the given scenes (the paper's only augmentation)."""

    def __init__(self, scenes: Scenes, names: list[str], crop: int, seed: int):
        h, w = scenes.cs.size
        if crop > min(h, w):
            raise UserError(f"--crop {crop} is larger than the images of capture set "
                            f"{scenes.cs.root} ({w}x{h}).")
        self.scenes, self.names, self.crop, self.seed = scenes, names, crop, seed
        self.size = (h, w)

    def batch(self, iteration: int, batch: int, rank: int = 0, world: int = 1
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """This process's share (items rank, rank + world, ...) of global batch `iteration`."""
        rng = np.random.default_rng([self.seed, iteration])
        picks = rng.integers(len(self.names), size=batch)
        ys = rng.integers(self.size[0] - self.crop + 1, size=batch)
        xs = rng.integers(self.size[1] - self.crop + 1, size=batch)
        nir, rgb = [], []
        for k in range(rank, batch, world):
            a, b = self.scenes.load(self.names[picks[k]])
            window = (slice(None), slice(ys[k], ys[k] + self.crop), slice(xs[k], xs[k] + self.crop))
            nir.append(a[window])
            rgb.append(b[window])
        return torch.from_numpy(np.stack(nir)), torch.from_numpy(np.stack(rgb))

    def sample(self, iteration: int, batch: int, rank: int = 0, world: int = 1) -> Batch:
        """`batch` as a `Batch` (what the trainer takes)."""
        return Batch(*self.batch(iteration, batch, rank, world))
