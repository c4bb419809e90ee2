"""`CaptureSet`: opens a capture set, checks it whole, and loads its images on demand.

`open` refuses, with one sentence naming the file, anything `train` would otherwise trip over
hours later: a missing or unparseable manifest, an unknown format version, a missing file, a
truncated PNG, a wrong bit depth or channel count, an image whose size differs from the set's.
It reads only PNG headers and trailers, so opening stays fast; a PNG whose body is corrupt
behind an intact header is caught when it is loaded.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from device.captures import format as fmt
from device.common.errors import UserError
from device.captures.png import png_info, read_png16
from device.captures.references import normalise


class CaptureSet:
    def __init__(self, root: Path, manifest: dict):
        self.root = root
        self.manifest = manifest
        self._references: dict | None = None

    @classmethod
    def open(cls, path) -> "CaptureSet":
        root = Path(path)
        if not root.is_dir():
            raise UserError(f"{root}: capture set folder does not exist.")
        manifest_file = root / fmt.MANIFEST
        try:
            text = manifest_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError(f"{manifest_file}: missing, so {root} is not a complete capture "
                            "set.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{manifest_file}: cannot be read ({exc}).") from None
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{manifest_file}: not valid JSON ({exc.msg} at line {exc.lineno})."
                            ) from None
        cs = cls(root, fmt.validate_manifest(manifest, manifest_file))
        cs._check_files()
        return cs

    # What the manifest says.
    @property
    def wavelengths(self) -> tuple[int, ...]:
        return tuple(self.manifest["wavelengths"])

    @property
    def truth_mode(self) -> str:
        return self.manifest["truth_mode"]

    @property
    def rig(self) -> dict:
        return self.manifest["rig"]

    @property
    def scenes(self) -> list[str]:
        return list(self.manifest["scenes"])

    @property
    def split(self) -> dict[str, list[str]]:
        return {part: list(self.manifest["split"][part]) for part in fmt.SPLITS}

    @property
    def split_unit(self) -> str:
        """What one source is; version 1 sets have no sources, so each scene is its own."""
        return self.manifest.get("split_unit", "scene")

    @property
    def sources(self) -> dict[str, str]:
        """Scene -> its source (the split unit); version 1: the scene itself."""
        return {s: e.get("source", s) for s, e in self.manifest["scenes"].items()}

    @property
    def reference_exposure(self) -> fmt.Exposure | None:
        """How the white references were exposed (None: not recorded, versions 1 and 2)."""
        d = self.manifest["references"].get("exposure")
        return None if d is None else fmt.Exposure.from_dict(d)

    def exposure(self, scene: str) -> fmt.Exposure | None:
        """How `scene`'s captures were exposed: its own record, else the references' (None
        when the set records no exposure)."""
        if scene not in self.manifest["scenes"]:
            raise KeyError(f"{self.root}: no scene {scene!r}")
        d = self.manifest["scenes"][scene].get("exposure")
        return self.reference_exposure if d is None else fmt.Exposure.from_dict(d)

    def relative_photons(self, scene: str) -> float:
        """Photo-electrons of `scene` relative to its white references (light × exposure time):
        the light level its noise comes from; 1 where nothing is recorded."""
        ref, own = self.reference_exposure, self.exposure(scene)
        return 1.0 if ref is None or own is None else own.photons / ref.photons

    def signal_ratio(self, scene: str) -> float:
        """What a raw value of `scene` above the dark level is multiplied by to be on the white
        references' scale: their light × exposure × gain over the scene's (1 when not
        recorded). Normalisation follows the exposure exactly."""
        ref, own = self.reference_exposure, self.exposure(scene)
        return 1.0 if ref is None or own is None else ref.signal / own.signal

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.manifest["size"])

    def __len__(self) -> int:
        return len(self.manifest["scenes"])

    def __repr__(self) -> str:
        return (f"CaptureSet({str(self.root)!r}, {len(self)} scenes, {self.wavelengths} nm, "
                f"{self.size[1]}x{self.size[0]}, truth={self.truth_mode})")

    # Where the files are.
    def _file(self, rel: str) -> Path:
        return self.root / rel

    def _capture_file(self, scene: str, nm: int) -> Path:
        if scene not in self.manifest["scenes"]:
            raise KeyError(f"{self.root}: no scene {scene!r}")
        if nm not in self.wavelengths:
            raise KeyError(f"{self.root}: no {nm} nm captures (it has {self.wavelengths})")
        return self._file(self.manifest["scenes"][scene]["captures"][str(nm)])

    def _listed_files(self):
        """(path, channels, what) for every image the manifest lists, references first."""
        refs = self.manifest["references"]
        yield self._file(refs["dark"]), 1, "dark reference"
        for nm in self.wavelengths:
            yield self._file(refs["white"][str(nm)]), 1, f"{nm} nm white reference"
        for scene, entry in self.manifest["scenes"].items():
            for nm in self.wavelengths:
                yield self._file(entry["captures"][str(nm)]), 1, f"scene {scene!r} at {nm} nm"
            yield self._file(entry["truth"]), 3, f"truth of scene {scene!r}"
            if "materials" in entry:
                yield self._file(entry["materials"]), 1, f"material map of scene {scene!r}"

    def _check_files(self) -> None:
        h, w = self.size
        for path, channels, what in self._listed_files():
            if not path.is_file():
                raise UserError(f"{path}: missing ({what} listed in the manifest).")
            info = png_info(path)
            if info.bit_depth != fmt.BIT_DEPTH or info.channels != channels:
                raise UserError(f"{path}: expected a {fmt.BIT_DEPTH}-bit PNG with {channels} "
                                f"channel(s), found {info.bit_depth}-bit with {info.channels}.")
            if (info.height, info.width) != (h, w):
                raise UserError(f"{path}: image is {info.width}x{info.height} but the capture "
                                f"set is {w}x{h}.")

    # Pixels.
    def load_raw(self, scene: str, nm: int) -> np.ndarray:
        """The raw capture of `scene` under LED `nm`, uint16 HxW camera values."""
        return read_png16(self._capture_file(scene, nm), 1)

    def references(self) -> dict:
        """{"dark": float32 HxW, "white": {nm: float32 HxW}}, loaded once."""
        if self._references is None:
            refs = self.manifest["references"]
            self._references = {
                "dark": read_png16(self._file(refs["dark"]), 1).astype(np.float32),
                "white": {nm: read_png16(self._file(refs["white"][str(nm)]), 1).astype(np.float32)
                          for nm in self.wavelengths}}
        return self._references

    def nir_wavelengths(self) -> tuple[int, ...]:
        return tuple(nm for nm in self.wavelengths if nm >= fmt.NIR_FROM_NM)

    def load_nir(self, scene: str, wavelengths=None) -> np.ndarray:
        """Captures of `scene` normalised to paper white, float32 HxWxC in `wavelengths` order.

        (raw - dark) / (white - dark), as the paper normalised every channel to the paper's
        white: blank paper comes out 1.0 whatever the LED power or the camera's falling
        quantum efficiency; times `signal_ratio` where the scene was exposed otherwise than
        the references (more light, a longer exposure or more gain: the same reflectance).
        Default wavelengths: the set's NIR ones (>= 700 nm).
        """
        wavelengths = self.nir_wavelengths() if wavelengths is None else tuple(wavelengths)
        if not wavelengths:
            raise KeyError(f"{self.root}: no wavelengths asked for "
                           f"(the set has {self.wavelengths})")
        refs = self.references()
        planes = [normalise(self.load_raw(scene, nm), refs["dark"], refs["white"][nm])
                  for nm in wavelengths]
        nir = np.stack(planes, axis=-1)
        ratio = self.signal_ratio(scene)
        if ratio != 1.0:
            nir *= np.float32(ratio)
        return nir

    @property
    def material_families(self) -> tuple[str, ...]:
        """The names of the material maps' codes (empty: the set has no material maps)."""
        return tuple(self.manifest.get("material_families", ()))

    def load_materials(self, scene: str) -> np.ndarray | None:
        """What each pixel of `scene` is made of, HxW codes into `material_families`; None
        where the set has no map for it (every pixel a print)."""
        if scene not in self.manifest["scenes"]:
            raise KeyError(f"{self.root}: no scene {scene!r}")
        rel = self.manifest["scenes"][scene].get("materials")
        return None if rel is None else read_png16(self._file(rel), 1)

    def load_truth(self, scene: str) -> np.ndarray:
        """Ground-truth sRGB of `scene`, float32 HxWx3 in [0, 1]."""
        if scene not in self.manifest["scenes"]:
            raise KeyError(f"{self.root}: no scene {scene!r}")
        rgb16 = read_png16(self._file(self.manifest["scenes"][scene]["truth"]), 3)
        return rgb16.astype(np.float32) / np.float32(65535.0)
