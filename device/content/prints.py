"""The artwork a capture run prints: the user's images, or the bundled and generated content.

A run is planned first (`plan_prints`: one `PlannedPrint` per scene, naming its source, cheap
and picklable), then each print is rendered on its own (`render_print`) from a generator seeded
by (seed, scene index) alone, so a scene's picture does not depend on the scenes before it nor
on which worker process draws it.

- With a folder, every image under it (recursively, so an unpacked LFW tree works) is printed
  once; `count` picks a seeded subset. Each file is its own source, unless every file is named
  like LFW's `Name_0001.jpg`: then the person is the source, so one person's photos never land
  in two splits.
- Without one, the scenes follow the mix (`--mix`, default `DEFAULT_MIX`): dead leaves, faces,
  charts, smooth fields, foliage and skies, in proportion for any count, and on request the
  bundled photos that are not held out (`photos=W`; none by default) and scenes made of
  materials (`face-skin`, `foliage-leaf`, `clothes-cloth`; none by default). Each generated
  scene is its own source; each photo is one source
  whatever the number of its crops.
- `held_out=True` prints only the held-out photos (`HELD_OUT_PHOTOS`): a test set.

Photos are cropped to a random square and resized to `size` x `size`.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from device.common.errors import UserError
from device.captures.format import safe_scene_name
from device.content.generated import GENERATORS
from device.content.photos import HELD_OUT_PHOTOS, TRAINING_PHOTOS, load_bundled_photo
from device.content.surfaces import SURFACE_KINDS, SurfaceArtwork

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# Crops keep at least this share of the shorter side: enough of a face to still be a face.
MIN_CROP = 0.6
# Mix kind -> generator in device.content.generated (photos are the bundled training photos).
MIX_KINDS = {"deadleaves": "deadleaves", "faces": "skin", "charts": "chart", "smooth": "smooth",
             "foliage": "foliage", "sky": "sky", "photos": None}
# Kinds made of materials (skin, leaves, cloth: `device.content.surfaces`), not of ink; none in
# the default mix. `render_surfaces` draws them and the simulator gives them their spectra.
MIX_KINDS.update(dict.fromkeys(SURFACE_KINDS))
# No photos by default. A handful of pictures, each cropped hundreds of times, is learned by
# heart, and what an `edge` learns from them does not carry over: trained side by side on 4000
# scenes (docs/training.md, "GPU recipe"), the same model with the photos at weight 0.5 scored 7.8 ΔE00 on
# the held-out photos against 6.9 without, and 7.4 against 6.4 on the two non-held-out photos
# neither saw. `--mix ...,photos=W` puts them back.
DEFAULT_MIX = {"deadleaves": 4.0, "faces": 2.0, "charts": 1.0, "smooth": 1.0, "foliage": 1.0,
               "sky": 1.0, "photos": 0.0}
# LFW names files <First>_<Last>_<4 digits>: the person is what must not straddle two splits.
_PERSON_FILE = re.compile(r"^(.+)_\d{4}$")


@dataclass(frozen=True)
class PlannedPrint:
    index: int       # position in the run: with the seed, it seeds the picture
    name: str        # scene name
    source: str      # split unit: a photo, a generated scene, a file or a person
    kind: str        # a MIX_KINDS key, or "file"
    ref: str = ""    # the bundled photo's name or the user file's path


@dataclass(frozen=True)
class Plan:
    prints: list[PlannedPrint]
    split_unit: str  # what `source` is: "source" (bundled), "file" or "person"
    description: str


def parse_mix(text: str) -> dict[str, float]:
    """'deadleaves=4,faces=2' -> {'deadleaves': 4.0, 'faces': 2.0}; UserError otherwise."""
    known = ", ".join(MIX_KINDS)
    mix: dict[str, float] = {}
    for part in text.split(","):
        kind, eq, weight = part.strip().partition("=")
        if not eq or kind not in MIX_KINDS:
            raise UserError(f"--mix {text!r}: each item must be KIND=WEIGHT with KIND one of "
                            f"{known}; {part.strip()!r} is not.")
        try:
            value = float(weight)
        except ValueError:
            value = float("nan")
        if not np.isfinite(value) or value < 0 or kind in mix:
            raise UserError(f"--mix {text!r}: {kind} needs one weight >= 0, not {weight!r}.")
        mix[kind] = value
    if sum(mix.values()) <= 0:
        raise UserError(f"--mix {text!r}: at least one weight must be above 0.")
    return mix


def mix_sequence(mix: dict[str, float], count: int) -> list[str]:
    """`count` kinds in proportion to the weights for every prefix (smooth weighted round
    robin), so a small set still mixes every kind and a large one matches the weights."""
    kinds = [k for k, w in mix.items() if w > 0]
    total = sum(mix[k] for k in kinds)
    credit = dict.fromkeys(kinds, 0.0)
    out = []
    for _ in range(count):
        for k in kinds:
            credit[k] += mix[k]
        pick = max(kinds, key=lambda k: credit[k])   # ties go to the first listed
        credit[pick] -= total
        out.append(pick)
    return out


def random_square(rgb: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of `rgb` (side >= MIN_CROP of its shorter side), resized to size."""
    h, w = rgb.shape[:2]
    side = max(1, int(round(min(h, w) * rng.uniform(MIN_CROP, 1.0))))
    y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    crop = rgb[y:y + side, x:x + side]
    interp = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interp)


def list_prints(prints_dir: Path, option: str = "--prints") -> list[Path]:
    """Every image file under `prints_dir`, in a stable (sorted) order; refusals name `option`."""
    if not prints_dir.is_dir():
        raise UserError(f"{prints_dir}: {option} folder does not exist.")
    files = sorted(p for p in prints_dir.rglob("*")
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                   and not p.name.startswith("."))
    if not files:
        raise UserError(f"{prints_dir}: {option} folder holds no image "
                        f"({', '.join(IMAGE_SUFFIXES)}).")
    return files


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # grey images come back as 3 equal channels
    if bgr is None:
        raise UserError(f"{path}: not a readable image.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _plan_user_prints(prints_dir: Path, count: int | None, seed: int) -> Plan:
    files = list_prints(prints_dir)  # checked now, before the caller creates any output
    if count is not None:
        if count > len(files):
            raise UserError(f"{prints_dir}: --count {count} asks for more prints than the "
                            f"{len(files)} images in the folder.")
        rng = np.random.default_rng(seed)
        files = [files[i] for i in sorted(rng.choice(len(files), count, replace=False))]
    people = [_PERSON_FILE.match(p.stem) for p in files]
    by_person = all(people)
    # Names from the path under the folder, so lfw/Aaron_Eckhart/Aaron_Eckhart_0001.jpg and a
    # same-named file elsewhere stay distinct scenes.
    seen: set[str] = set()
    prints = []
    for i, (path, person) in enumerate(zip(files, people)):
        stem = str(path.relative_to(prints_dir).with_suffix("")).replace("/", "_")
        name = safe_scene_name(stem)
        k = 1
        while name in seen:
            k += 1
            name = f"{safe_scene_name(stem)[:120]}-{k}"
        seen.add(name)
        source = f"person:{person.group(1)}" if by_person and person else f"file:{name}"
        prints.append(PlannedPrint(i, name, source, "file", str(path)))
    return Plan(prints, "person" if by_person else "file", f"--prints {prints_dir}")


def _plan_bundled(count: int, mix: dict[str, float], held_out: bool) -> Plan:
    photos: tuple[str, ...]
    if held_out:
        photos = HELD_OUT_PHOTOS
        kinds = ["photos"] * count
        description = f"the held-out photos ({', '.join(HELD_OUT_PHOTOS)})"
    else:
        photos = TRAINING_PHOTOS
        kinds = mix_sequence(mix, count)
        description = "mix " + ",".join(f"{k}={w:g}" for k, w in mix.items())
    prints, photo_count = [], 0
    for i, kind in enumerate(kinds):
        if kind == "photos":
            photo = photos[photo_count % len(photos)]
            photo_count += 1
            prints.append(PlannedPrint(i, f"{i:05d}-photo-{photo}", f"photo:{photo}", kind, photo))
        else:
            name = f"{i:05d}-{kind}"
            prints.append(PlannedPrint(i, name, f"generated:{name}", kind))
    return Plan(prints, "source", description)


def plan_prints(prints_dir=None, count: int | None = None, seed: int = 0,
                mix: dict[str, float] | None = None, held_out: bool = False) -> Plan:
    """What a run prints, scene by scene. `prints_dir=None` uses the bundled content (the mix,
    or the held-out photos) and needs a `count`."""
    if prints_dir is not None:
        return _plan_user_prints(Path(prints_dir), count, seed)
    if count is None:
        raise ValueError("count is required for the bundled content")
    return _plan_bundled(count, dict(mix or DEFAULT_MIX), held_out)


@functools.lru_cache(maxsize=len(TRAINING_PHOTOS) + len(HELD_OUT_PHOTOS))
def _bundled_photo(name: str) -> np.ndarray:
    return load_bundled_photo(name)


def _scene_rng(planned: PlannedPrint, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, planned.index, 0xA27])


def render_surfaces(planned: PlannedPrint, size: int, seed: int) -> SurfaceArtwork:
    """The surfaces of one planned scene of a SURFACE_KINDS kind, a function of (print, size,
    seed)."""
    return SURFACE_KINDS[planned.kind](_scene_rng(planned, seed), size)


def render_print(planned: PlannedPrint, size: int, seed: int) -> np.ndarray:
    """The HxWx3 uint8 sRGB picture of one planned print, a function of (print, size, seed)."""
    if planned.kind in SURFACE_KINDS:
        raise ValueError(f"{planned.kind} is made of materials, not ink: use render_surfaces")
    rng = _scene_rng(planned, seed)
    if planned.kind == "file":
        return random_square(read_rgb(Path(planned.ref)), size, rng)
    if planned.kind == "photos":
        return random_square(_bundled_photo(planned.ref), size, rng)
    generator = MIX_KINDS[planned.kind]
    assert generator is not None, planned.kind      # "photos" returned above
    return GENERATORS[generator](rng, size)


def iter_prints(prints_dir, count: int | None, size: int, seed: int,
                mix: dict[str, float] | None = None, held_out: bool = False) -> Iterator:
    """Yield `(scene_name, HxWx3 uint8 sRGB)`, size x size, deterministic in the arguments."""
    plan = plan_prints(prints_dir, count, seed, mix, held_out)
    return ((p.name, render_print(p, size, seed)) for p in plan.prints)
