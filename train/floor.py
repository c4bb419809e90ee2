"""The per-pixel Bayes floor of a capture set's test images (`device.sim.floor`), so that
`train eval` can say how close to the physics each model is.

The floor is measured on the very inputs the model saw: each sampled pixel's normalised
readings (noise and all) from the capture set, its colour from the set's truth. The prior is the
broad one, uniform sRGB artwork printed by the simulated rig the manifest records; the noise
model is that rig's camera (shot + read noise) at each scene's recorded exposure (light,
exposure time), or at the rig's own where none is recorded. A random subset of pixels per
image keeps it fast: it estimates the same per-image mean as the model's ΔE00 over all pixels.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from device.captures import CaptureSet
from device.common.errors import UserError

FLOOR_PIXELS = 2048      # pixels per image: the per-image mean is good to ~0.3 ΔE00


@dataclass(frozen=True)
class SetFloor:
    """Per-image floor (mean ΔE00) of some test scenes, or None and why not (`note`)."""
    per_image: dict[str, float] | None
    note: str

    @property
    def mean(self) -> float | None:
        return None if self.per_image is None else float(np.mean(list(self.per_image.values())))


def unavailable_reason(cs: CaptureSet) -> str | None:
    """Why the sim cannot give this set's floor, or None if it can."""
    if cs.truth_mode != "human":
        return (f"{cs.truth_mode} truth is itself a capture under the 447/529/604 nm LEDs, not "
                "a colour the simulated printer defines")
    if cs.rig.get("kind") != "sim":
        return ("real prints: the floor needs the simulator's printer and camera, which do not "
                "describe them")
    if not isinstance(cs.rig.get("spec"), dict):
        return "the manifest does not record the simulated rig's settings"
    return None


def capture_set_floor(cs: CaptureSet, scenes: Sequence[str], inputs: Sequence[int],
                      pixels: int = FLOOR_PIXELS, references: int | None = None,
                      seed: int = 0) -> SetFloor:
    """The floor of `scenes` read through `inputs` (the model's wavelengths)."""
    from device.sim.colorimetry import delta_e00_lab, srgb_to_lab
    from device.sim.floor import (DEFAULT_REFERENCES, camera_noise, posterior_mean,
                                  print_colours, uniform_rgb)
    from device.sim.rig_spec import RigSpec

    why = unavailable_reason(cs)
    if why is not None:
        return SetFloor(None, f"n/a: {why}")
    try:
        rig = RigSpec.from_dict(cs.rig["spec"])
    except UserError as exc:
        raise UserError(f"{cs.root}: manifest {exc}") from None
    if not rig.noise:
        return SetFloor(None, "n/a: the rig was simulated without noise, so the floor is not "
                              "defined by a noise model")
    inputs = tuple(int(nm) for nm in inputs)
    references = references or DEFAULT_REFERENCES
    rng = np.random.default_rng([seed, 0xF1])
    refs = print_colours(uniform_rgb(references, rng), inputs, rig)
    noises: dict = {}      # one noise model (and variance table) per exposure in the set
    per_image = {}
    for scene in scenes:
        exposure = cs.exposure(scene)
        if exposure not in noises:
            noise = camera_noise(rig if exposure is None else rig.under(exposure), inputs)
            noises[exposure] = (noise, noise.variance(refs.readings, inputs))
        nir = cs.load_nir(scene, inputs).reshape(-1, len(inputs))
        truth = cs.load_truth(scene).reshape(-1, 3)
        pick = np.sort(rng.choice(len(nir), min(pixels, len(nir)), replace=False))
        estimate = posterior_mean(nir[pick], refs.readings, refs.lab, noises[exposure][1])
        per_image[scene] = float(np.mean(delta_e00_lab(srgb_to_lab(truth[pick]), estimate)))
    described = sorted({noise.describe(inputs) for noise, _ in noises.values()})
    at = (f"its camera noise ({described[0]})" if len(described) == 1 else
          f"each scene's camera noise at its exposure ({len(described)} levels)")
    note = (f"per-pixel Bayes floor: posterior-mean colour of each pixel's own "
            f"{'/'.join(map(str, inputs))} nm readings over {references} uniform sRGB colours "
            f"printed by the simulated rig, at {at}; {pixels} random pixels per image")
    return SetFloor(per_image, note)
