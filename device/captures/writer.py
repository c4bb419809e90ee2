"""`CaptureSetWriter`: writes a capture set image by image, the manifest last.

The manifest is the commit mark: a set whose writing stopped half-way has no manifest and
every reader refuses it. `force=True` (the CLIs' `--force`) deletes only files a capture set
consists of (the manifest, `references/dark.png`, `references/white_<nm>nm.png`,
`scenes/<scene>/<nm>nm.png`, `scenes/<scene>/truth.png`, leftover `.part` temporaries) and the
folders they leave empty; anything else in the folder is kept, so a mistyped `--out` pointing
at someone's photos folder cannot destroy it. Used as a context manager, the writer removes
what it wrote if the block raises.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from device.captures import format as fmt
from device.common.files import atomic_output
from device.common.errors import UserError
from device.captures.png import write_png16
from device.captures.split import assign_split, test_only_split

_OWN_FILE = re.compile(r"^(\d+nm|truth|materials|dark|white_\d+nm)\.png$"
                       r"|^\..+\.part(\.png|\.json)$")


def remove_capture_set_files(out: Path) -> None:
    """Delete what a capture set consists of in `out`, where the layout puts it, and nothing
    else; then the folders that leaves empty."""
    (out / fmt.MANIFEST).unlink(missing_ok=True)  # first: the folder stops claiming to be a set
    candidates = [*(out / "references").glob("*"), *(out / "scenes").glob("*/*"),
                  *out.glob(f".{fmt.MANIFEST}.*.part.json")]
    for f in candidates:
        if f.is_file() and not f.is_symlink() and _OWN_FILE.match(f.name):
            f.unlink()
    for folder in [*(out / "scenes").glob("*"), out / "scenes", out / "references"]:
        if folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
            folder.rmdir()


def _check_raw(name: str, image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint16 or image.ndim != 2:
        raise ValueError(f"{name}: raw captures must be uint16 HxW arrays, got {image.dtype} "
                         f"with shape {image.shape}")
    return image


class CaptureSetWriter:
    def __init__(self, out, wavelengths, rig: dict, truth_mode: str, source: str,
                 force: bool = False, split_unit: str = "scene", test_only: bool = False,
                 material_families: tuple[str, ...] | None = None):
        """`split_unit` says what the sources given to `add_scene` are (fmt.SPLIT_UNITS);
        `test_only` puts every scene in the test split (an evaluation set);
        `material_families` names the codes of the material maps `add_scene` may be given."""
        self.material_families = material_families
        self.with_materials: set[str] = set()
        if split_unit not in fmt.SPLIT_UNITS:
            raise ValueError(f"split_unit must be one of {fmt.SPLIT_UNITS}, got {split_unit!r}")
        self.split_unit, self.test_only = split_unit, test_only
        self.sources: dict[str, str] = {}
        self.exposures: dict[str, fmt.Exposure] = {}
        self.reference_exposure: fmt.Exposure | None = None
        self.out = Path(out)
        self.wavelengths = tuple(int(nm) for nm in wavelengths)
        if not self.wavelengths or len(set(self.wavelengths)) != len(self.wavelengths):
            raise ValueError(f"wavelengths must be distinct and non-empty, got {wavelengths}")
        if truth_mode not in fmt.TRUTH_MODES:
            raise ValueError(f"truth_mode must be one of {fmt.TRUTH_MODES}, got {truth_mode!r}")
        self.rig, self.truth_mode, self.source = json.loads(json.dumps(rig)), truth_mode, source
        self.size: tuple[int, int] | None = None
        self.scenes: list[str] = []
        self._has_references = False
        self._created_out = not self.out.exists()
        self._prepare(force)

    def _prepare(self, force: bool) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"{self.out}: --out exists and is not a folder.")
        if self.out.is_dir() and any(self.out.iterdir()):
            if not force:
                raise UserError(f"{self.out}: output folder is not empty; pass --force to "
                                "replace the capture set in it.")
            remove_capture_set_files(self.out)
        try:
            (self.out / "references").mkdir(parents=True, exist_ok=True)
            (self.out / "scenes").mkdir(exist_ok=True)
        except OSError as exc:
            raise UserError(f"{self.out}: cannot create the output folder "
                            f"({exc.strerror}).") from None

    def __enter__(self) -> "CaptureSetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def abort(self) -> None:
        """Remove what this writer wrote, so a failed run leaves no half capture set behind."""
        remove_capture_set_files(self.out)
        if self._created_out and self.out.is_dir() and not any(self.out.iterdir()):
            self.out.rmdir()

    def _check_size(self, what: str, image: np.ndarray) -> None:
        if self.size is None:
            self.size = image.shape[:2]
        elif image.shape[:2] != self.size:
            raise ValueError(f"{what} is {image.shape[1]}x{image.shape[0]} but the capture set "
                             f"is {self.size[1]}x{self.size[0]}")

    def set_references(self, dark: np.ndarray, whites: dict,
                       exposure: fmt.Exposure | None = None) -> None:
        """Dark frame (LEDs off) and blank paper under each LED, for normalisation; `exposure`:
        how the white references were exposed (needed by scenes that record theirs)."""
        missing = set(self.wavelengths) - {int(nm) for nm in whites}
        if missing:
            raise ValueError(f"white references missing for {sorted(missing)} nm")
        dark = _check_raw("dark", dark)
        self._check_size("dark reference", dark)
        write_png16(self.out / fmt.dark_path(), dark)
        for nm in self.wavelengths:
            white = _check_raw(f"white {nm} nm", whites[nm])
            self._check_size(f"white reference {nm} nm", white)
            write_png16(self.out / fmt.white_path(nm), white)
        self._has_references = True
        self.reference_exposure = exposure

    def add_scene(self, name: str, raws: dict, truth: np.ndarray, source: str | None = None,
                  exposure: fmt.Exposure | None = None,
                  materials: np.ndarray | None = None) -> None:
        """One scene: a uint16 HxW raw capture per wavelength and sRGB truth HxWx3 in [0, 1];
        `source` is its split unit (default: the scene alone); `exposure`, how its captures
        were exposed (default: as the references); `materials`, an optional HxW map of each
        pixel's material (codes into `material_families`)."""
        self._check_materials(name, materials, truth)
        fmt.check_scene_name(name)
        if exposure is not None and self._has_references and self.reference_exposure is None:
            raise ValueError(f"scene {name!r} records its exposure but the references do not")
        if name in self.scenes:
            raise ValueError(f"scene {name!r} was already added")
        raws = {int(nm): img for nm, img in raws.items()}
        if set(raws) != set(self.wavelengths):
            raise ValueError(f"scene {name!r} has captures at {sorted(raws)} nm, "
                             f"expected {list(self.wavelengths)}")
        truth = np.asarray(truth, dtype=np.float32)
        if truth.ndim != 3 or truth.shape[2] != 3:
            raise ValueError(f"scene {name!r}: truth must be HxWx3, got {truth.shape}")
        self._check_size(f"truth of scene {name!r}", truth)
        checked = {nm: _check_raw(f"{name} {nm} nm", raws[nm]) for nm in self.wavelengths}
        for nm, raw in checked.items():
            self._check_size(f"capture {nm} nm of scene {name!r}", raw)
        (self.out / "scenes" / name).mkdir(exist_ok=True)
        for nm, raw in checked.items():
            write_png16(self.out / fmt.capture_path(name, nm), raw)
        truth16 = np.round(np.clip(truth, 0.0, 1.0) * 65535.0).astype(np.uint16)
        write_png16(self.out / fmt.truth_path(name), truth16)
        if materials is not None:
            write_png16(self.out / fmt.materials_path(name), np.asarray(materials, np.uint16))
            self.with_materials.add(name)
        self.scenes.append(name)
        self.sources[name] = source or name
        if exposure is not None:
            self.exposures[name] = exposure

    def _check_materials(self, name: str, materials: np.ndarray | None,
                         truth: np.ndarray) -> None:
        if materials is not None and (self.material_families is None or np.shape(materials)
                                      != np.shape(truth)[:2]
                                      or np.max(materials) >= len(self.material_families)):
            raise ValueError(f"scene {name!r}: a material map needs the writer's "
                             "material_families and the truth's size")

    def finish(self) -> Path:
        """Write manifest.json (atomically, last) with the deterministic split; return its path."""
        if not self._has_references:
            raise ValueError("set_references() must be called before finish()")
        if not self.scenes:
            raise ValueError("a capture set needs at least one scene")
        assert self.size is not None              # the first scene set it
        split = (test_only_split(self.scenes) if self.test_only
                 else assign_split(self.scenes, self.sources))
        manifest = fmt.build_manifest(
            wavelengths=self.wavelengths, rig=self.rig, truth_mode=self.truth_mode,
            size=self.size, scenes=self.scenes, split=split, source=self.source,
            created=fmt.now_utc(), split_unit=self.split_unit, sources=self.sources,
            reference_exposure=self.reference_exposure, exposures=self.exposures,
            material_families=self.material_families, with_materials=self.with_materials)
        path = self.out / fmt.MANIFEST
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(manifest, indent=1) + "\n")
        return path
