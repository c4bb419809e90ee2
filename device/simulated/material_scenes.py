"""Scenes made of materials (`device.content.surfaces`) on the simulated rig: each painted
colour becomes the surface of its family whose daylight colour is nearest to it
(`Family.match`), and the picture a `MaterialScene` (`device.sim.materials`)."""
from __future__ import annotations

import numpy as np

from device.content.surfaces import SURFACE_KINDS, SurfaceArtwork
from device.sim.materials import FAMILIES
from device.sim.materials.scene import MaterialScene, SurfaceLayout
from device.sim.printing import Printer
from device.sim.rig_spec import RigSpec


def surface_layout(artwork: SurfaceArtwork) -> SurfaceLayout:
    """The artwork with each family's painted colours replaced by that family's surfaces."""
    families = np.asarray(artwork.families)
    remap = np.zeros(len(families), np.int32)
    groups, start = [], 0
    for name in FAMILIES:
        rows = np.flatnonzero(families == name)
        if not len(rows):
            continue
        groups.append((name, FAMILIES[name].match(artwork.palette[rows])))
        remap[rows] = start + np.arange(len(rows))
        start += len(rows)
    index = np.where(artwork.index >= 0, remap[np.maximum(artwork.index, 0)], -1)
    return SurfaceLayout(tuple(groups), index.astype(np.int32), artwork.shade,
                         artwork.print_rgb, artwork.blur)


def material_scene(kind: str, rng: np.random.Generator, size: int, rig: RigSpec = RigSpec(),
                   seed: int = 0, printer: Printer = Printer(),
                   crop: tuple[int, int] | None = None) -> MaterialScene:
    """A scene of `kind` (a SURFACE_KINDS name) drawn by `rng` at `size`², optionally
    centre-cropped to `crop` = (H, W), under `rig` with the camera of `seed`."""
    artwork = SURFACE_KINDS[kind](rng, size)
    if crop is not None:
        h, w = crop
        artwork = artwork.crop((size - h) // 2, (size - w) // 2, h, w)
    return MaterialScene(surface_layout(artwork), rig=rig, seed=seed, printer=printer)
