"""The artwork a capture run prints: the user's images, or the bundled and generated content.

`iter_prints(prints_dir, count, size, seed)` yields `(scene_name, rgb_uint8)` with every image
cropped to a random square and resized to `size` x `size`; the same arguments always yield the
same images. With a folder, every image under it (recursively, so an unpacked LFW tree works)
is printed once; `count` picks a seeded subset. Without one, scenes cycle through
photo, skin, chart, gradient, photo, ... so any count mixes all four kinds.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from device.common.errors import UserError
from device.captures.format import safe_scene_name
from device.content.generated import GENERATORS
from device.content.photos import BUNDLED_PHOTOS, load_bundled_photo

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
KINDS = ("photo", "skin", "chart", "gradient")
# Crops keep at least this share of the shorter side: enough of a face to still be a face.
MIN_CROP = 0.6


def random_square(rgb: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of `rgb` (side >= MIN_CROP of its shorter side), resized to size."""
    h, w = rgb.shape[:2]
    side = max(1, int(round(min(h, w) * rng.uniform(MIN_CROP, 1.0))))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = rgb[y:y + side, x:x + side]
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def list_prints(prints_dir: Path) -> list[Path]:
    """Every image file under `prints_dir`, in a stable (sorted) order."""
    if not prints_dir.is_dir():
        raise UserError(f"{prints_dir}: --prints folder does not exist.")
    files = sorted(p for p in prints_dir.rglob("*")
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                   and not p.name.startswith("."))
    if not files:
        raise UserError(f"{prints_dir}: --prints folder holds no image "
                        f"({', '.join(IMAGE_SUFFIXES)}).")
    return files


def _read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # grey images come back as 3 equal channels
    if bgr is None:
        raise UserError(f"{path}: not a readable image.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _user_prints(prints_dir: Path, files: list[Path], size: int, rng) -> Iterator:
    # Names from the path under the folder, so lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg and a
    # same-named file elsewhere stay distinct scenes.
    seen: set[str] = set()
    for path in files:
        stem = str(path.relative_to(prints_dir).with_suffix("")).replace("/", "_")
        name = safe_scene_name(stem)
        k = 1
        while name in seen:
            k += 1
            name = f"{safe_scene_name(stem)[:120]}-{k}"
        seen.add(name)
        yield name, random_square(_read_rgb(path), size, rng)


def _bundled_prints(count: int, size: int, rng) -> Iterator:
    photos = list(BUNDLED_PHOTOS)
    cache: dict[str, np.ndarray] = {}
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        if kind == "photo":
            photo = photos[(i // len(KINDS)) % len(photos)]
            if photo not in cache:
                cache[photo] = load_bundled_photo(photo)
            yield f"{i:04d}-photo-{photo}", random_square(cache[photo], size, rng)
        else:
            yield f"{i:04d}-{kind}", GENERATORS[kind](rng, size)


def iter_prints(prints_dir, count: int | None, size: int, seed: int) -> Iterator:
    """Yield `(scene_name, HxWx3 uint8 sRGB)`, size x size, deterministic in (dir, count, seed).

    `prints_dir=None` uses the bundled photos and generated scenes and needs a `count`.
    """
    rng = np.random.default_rng(seed)
    if prints_dir is None:
        if count is None:
            raise ValueError("count is required for the bundled content")
        return _bundled_prints(count, size, rng)
    prints_dir = Path(prints_dir)
    files = list_prints(prints_dir)  # checked now, before the caller creates any output
    if count is not None:
        if count > len(files):
            raise UserError(f"{prints_dir}: --count {count} asks for more prints than the "
                            f"{len(files)} images in the folder.")
        files = [files[i] for i in sorted(rng.choice(len(files), count, replace=False))]
    return _user_prints(prints_dir, files, size, rng)
