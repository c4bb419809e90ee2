"""Generated pictures as surfaces: faces whose skin is skin and whose shirts are cloth, foliage
made of leaves, piles of dyed clothes. The generators of `device.content.generated` draw them
(the same picture as the print of that seed) and say what they painted where; this module turns
that into `SurfaceArtwork`: which pixel is which surface, the colour it was painted, its
family and its shade. The simulator (`device.simulated.material_scenes`) then gives each
painted colour the spectrum of its family nearest to it in daylight.

Pixels stay ink where no material family applies (hair, eyes, the backgrounds behind faces).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.content.generated import clothes, foliage, print_blur_sigma, skin_faces

OWNED = 0.5   # a shape owns the pixels it covers at least half (edges are softened later)


@dataclass(frozen=True)
class SurfaceArtwork:
    """`index` (H×W int32): each pixel's row of `palette` (K×3 sRGB in [0, 1], the colour
    painted) and `families` (K names), or -1 where the pixel is printed with `print_rgb`
    (H×W×3 in [0, 1]); `shade` (H×W): the factor the painted colour was dimmed by; `blur`:
    the print blur the generator applies, in pixels."""
    index: np.ndarray
    palette: np.ndarray
    families: tuple[str, ...]
    shade: np.ndarray
    print_rgb: np.ndarray
    blur: float

    def crop(self, y: int, x: int, h: int, w: int) -> "SurfaceArtwork":
        window = (slice(y, y + h), slice(x, x + w))
        return SurfaceArtwork(self.index[window], self.palette, self.families,
                              self.shade[window], self.print_rgb[window], self.blur)


def _from_painted(painted: list, size: int) -> SurfaceArtwork:
    """The topmost shape owning each pixel; the last entry of `painted` is the finished
    picture (what is printed where no material lies)."""
    shapes, final = painted[:-1], painted[-1].colour
    owner = np.zeros((size, size), np.int32)
    for k, shape in enumerate(shapes):
        owner[shape.alpha >= OWNED] = k
    index = np.full((size, size), -1, np.int32)
    shade = np.ones((size, size), np.float32)
    palette: list[np.ndarray] = []
    families: list[str] = []
    for k, shape in enumerate(shapes):
        mine = owner == k
        if shape.family == "print" or not mine.any():
            continue
        colour = np.broadcast_to(shape.colour, (size, size, 3))[mine]
        unique, which = np.unique(colour, axis=0, return_inverse=True)
        index[mine] = len(palette) + which.reshape(-1)
        palette.extend(unique)
        families.extend([shape.family] * len(unique))
        shade[mine] = np.broadcast_to(np.asarray(shape.shade, np.float32)[..., 0]
                                      if np.ndim(shape.shade) == 3 else shape.shade,
                                      (size, size))[mine]
    return SurfaceArtwork(index, np.asarray(palette, np.float32).reshape(-1, 3),
                          tuple(families), shade, np.clip(final, 0, 1).astype(np.float32),
                          print_blur_sigma(size))


def face_skin(rng: np.random.Generator, size: int) -> SurfaceArtwork:
    """`skin_faces` with skin (face, neck, cheeks, lips) of skin and shirts of cloth."""
    painted: list = []
    skin_faces(rng, size, painted=painted)
    return _from_painted(painted, size)


def clothes_cloth(rng: np.random.Generator, size: int) -> SurfaceArtwork:
    """`clothes`, every garment dyed cloth."""
    painted: list = []
    clothes(rng, size, painted=painted)
    return _from_painted(painted, size)


def foliage_leaf(rng: np.random.Generator, size: int) -> SurfaceArtwork:
    """`foliage`, every leaf (and the ground between them) a leaf, in its sun or shade."""
    leaves: dict = {}
    rgb = foliage(rng, size, leaves=leaves)
    seen, index = np.unique(leaves["labels"], return_inverse=True)
    return SurfaceArtwork(index.reshape(size, size).astype(np.int32), leaves["colours"][seen],
                          ("leaf",) * len(seen), leaves["light"].astype(np.float32),
                          rgb.astype(np.float32) / 255, print_blur_sigma(size))


# Scene kinds made of materials: `--mix` kinds of `device capture` and `device demo --scene`s.
SURFACE_KINDS = {"face-skin": face_skin, "foliage-leaf": foliage_leaf,
                 "clothes-cloth": clothes_cloth}
