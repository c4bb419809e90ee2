"""`device import SRC --out DIR`: turn monochrome captures made elsewhere into a capture set.

SRC holds one mono image per scene per wavelength, named by `--pattern` (default
`{scene}_{nm}nm.png`; it may contain folders, e.g. `{scene}/{nm}.tif`), one white reference per
wavelength (`--white-pattern`, default `white_{nm}nm.png`: blank paper under that LED) and a
dark frame (`--dark`, default `SRC/dark.png`; without one the dark level is taken as 0).
Every scene must have every wavelength found, and all images one size and bit depth.

Ground truth is `paper` mode, as in the paper's dataset: the 604, 529 and 447 nm captures,
normalised to paper white, become R, G and B. So the source must include those three visible
captures beside its NIR ones; a colour photograph taken by another camera would bring that
camera's own colour response into the truth, which is why it is not accepted instead.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path

import cv2
import numpy as np

from device.captures import CaptureSetWriter
from device.common.errors import UserError
from device.captures.format import safe_scene_name
from device.captures.truth import PAPER_TRUTH_NM, paper_truth

DEFAULT_PATTERN = "{scene}_{nm}nm.png"
DEFAULT_WHITE_PATTERN = "white_{nm}nm.png"


def _pattern_regex(pattern: str, option: str, fields: tuple[str, ...]) -> re.Pattern:
    """'{scene}_{nm}nm.png' -> a regex with named groups; each field exactly once."""
    wanted = [f"{{{f}}}" for f in fields]
    rest = pattern
    for field in wanted:
        rest = rest.replace(field, "")
    if any(pattern.count(field) != 1 for field in wanted) or "{" in rest or "}" in rest:
        raise UserError(f"{option} {pattern!r} must contain {' and '.join(wanted)} exactly once "
                        "and no other braces.")
    pieces = re.split(r"(\{scene\}|\{nm\})", pattern)
    groups = {"{scene}": r"(?P<scene>[^/]+?)", "{nm}": r"(?P<nm>\d{3,4})"}
    return re.compile("".join(groups.get(p, re.escape(p)) for p in pieces))


def _read_mono(path: Path) -> np.ndarray:
    """A monochrome capture as uint16 (8-bit files keep their values)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"{path}: not a readable image.")
    if image.ndim == 3:
        # Some tools save mono captures as RGB with equal channels; anything else is colour.
        if image.shape[2] not in (3, 4) or not (
                np.array_equal(image[..., 0], image[..., 1])
                and np.array_equal(image[..., 0], image[..., 2])):
            raise UserError(f"{path}: is a colour image; monochrome captures are expected.")
        image = image[..., 0]
    if image.dtype not in (np.uint8, np.uint16):
        raise UserError(f"{path}: has {image.dtype} pixels; 8- or 16-bit captures are expected.")
    return image


class _SourceImages:
    """Reads the source images, checking they share one size and one bit depth."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] | None = None       # of the first image read
        self.dtype: np.dtype | None = None
        self.first: Path | None = None

    def read(self, path: Path) -> np.ndarray:
        image = _read_mono(path)
        if self.shape is None:
            self.shape, self.dtype, self.first = image.shape, image.dtype, path
        elif image.shape != self.shape:
            raise UserError(f"{path}: is {image.shape[1]}x{image.shape[0]} but {self.first} is "
                            f"{self.shape[1]}x{self.shape[0]}; all captures must be one size.")
        elif self.dtype is not None and image.dtype != self.dtype:
            raise UserError(f"{path}: is {image.dtype.itemsize * 8}-bit but {self.first} is "
                            f"{self.dtype.itemsize * 8}-bit; all captures must share a bit depth.")
        return image.astype(np.uint16)


def find_captures(src: Path, pattern: str, white_pattern: str, dark: Path | None):
    """({scene: {nm: path}}, {nm: white path}, wavelengths) after checking completeness."""
    scene_re = _pattern_regex(pattern, "--pattern", ("scene", "nm"))
    white_re = _pattern_regex(white_pattern, "--white-pattern", ("nm",))
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith("."))
    whites: dict[int, Path] = {}
    scenes: dict[str, dict[int, Path]] = {}
    for path in files:
        rel = path.relative_to(src).as_posix()
        if (m := white_re.fullmatch(rel)) is not None:
            whites[int(m["nm"])] = path
        elif dark is not None and path.resolve() == dark.resolve():
            continue
        elif (m := scene_re.fullmatch(rel)) is not None:
            scenes.setdefault(m["scene"], {})[int(m["nm"])] = path
    if not scenes:
        raise UserError(f"{src}: no file matches --pattern {pattern!r}.")
    wavelengths = tuple(sorted({nm for caps in scenes.values() for nm in caps}))
    for scene in sorted(scenes):
        for nm in wavelengths:
            if nm not in scenes[scene]:
                raise UserError(f"{src}: scene {scene!r} has no {nm} nm capture (expected "
                                f"{pattern.format(scene=scene, nm=nm)}).")
    for nm in wavelengths:
        if nm not in whites:
            raise UserError(f"{src}: no white reference for {nm} nm (expected "
                            f"{white_pattern.format(nm=nm)}).")
    missing = [nm for nm in PAPER_TRUTH_NM if nm not in wavelengths]
    if missing:
        raise UserError(f"{src}: has no {'/'.join(map(str, missing))} nm captures, which the "
                        "paper-mode ground truth (604/529/447 nm as R/G/B) is made of.")
    return scenes, whites, wavelengths


def _scene_names(raw_names) -> dict[str, str]:
    names: dict[str, str] = {}
    for raw in sorted(raw_names):
        name = safe_scene_name(raw)
        if name in names.values():
            other = next(k for k, v in names.items() if v == name)
            raise UserError(f"scenes {other!r} and {raw!r} would both be stored as {name!r}; "
                            "rename one of them.")
        names[raw] = name
    return names


def import_captures(src, out, *, pattern=DEFAULT_PATTERN, white_pattern=DEFAULT_WHITE_PATTERN,
                    dark=None, force=False, progress=True) -> Path:
    """Write the capture set and return its folder; UserError on any problem in SRC."""
    src = Path(src)
    if not src.is_dir():
        raise UserError(f"{src}: import source folder does not exist.")
    if dark is not None and not Path(dark).is_file():
        raise UserError(f"{dark}: --dark file does not exist.")
    dark_path = Path(dark) if dark is not None else src / "dark.png"
    dark_path = dark_path if dark_path.is_file() else None
    scenes, white_files, wavelengths = find_captures(src, pattern, white_pattern, dark_path)
    names = _scene_names(scenes)
    images = _SourceImages()
    whites = {nm: images.read(white_files[nm]) for nm in wavelengths}
    assert images.shape is not None and images.dtype is not None    # the whites were read
    dark_frame = (images.read(dark_path) if dark_path is not None
                  else np.zeros(images.shape, np.uint16))
    rig = {"kind": "imported", "source": str(src.resolve()), "pattern": pattern,
           "white_pattern": white_pattern, "source_bit_depth": images.dtype.itemsize * 8,
           "dark": str(dark_path.resolve()) if dark_path else "none given: dark level 0"}
    from tqdm import tqdm

    with CaptureSetWriter(out, wavelengths, rig, "paper", source=f"device import {src}",
                          force=force) as writer:
        writer.set_references(dark_frame, whites)
        for raw_name in tqdm(sorted(scenes), desc="import", unit="scene", disable=not progress):
            raws = {nm: images.read(scenes[raw_name][nm]) for nm in wavelengths}
            writer.add_scene(names[raw_name], raws, paper_truth(raws, dark_frame, whites))
        writer.finish()
    return Path(out)


def run(args) -> int:
    out = import_captures(args.src, args.out, pattern=args.pattern,
                          white_pattern=args.white_pattern, dark=args.dark, force=args.force)
    print(f"capture set written to {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import", help="turn a folder of monochrome captures made elsewhere into a capture set",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path, metavar="SRC", help="folder of monochrome captures")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="capture-set folder to write")
    p.add_argument("--pattern", default=DEFAULT_PATTERN, metavar="PATTERN",
                   help="capture file names under SRC (default: %(default)s)")
    p.add_argument("--white-pattern", default=DEFAULT_WHITE_PATTERN, metavar="PATTERN",
                   help="white reference names under SRC (default: %(default)s)")
    p.add_argument("--dark", type=Path, default=None, metavar="FILE",
                   help="dark frame (default: SRC/dark.png if present, else dark level 0)")
    p.add_argument("--force", action="store_true",
                   help="replace the capture set in a non-empty --out")
    p.set_defaults(func=run)
