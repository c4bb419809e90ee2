"""The capture-set layout and manifest schema (version 3), shared by the writer and the reader.

A capture set is a folder:

    manifest.json                      written last: its presence means the set is complete
    references/dark.png                lens capped / LEDs off (16-bit mono)
    references/white_<nm>nm.png        blank paper under each LED (16-bit mono)
    scenes/<scene>/<nm>nm.png          one raw capture per wavelength (16-bit mono)
    scenes/<scene>/truth.png           ground-truth sRGB (16-bit RGB, 65535 = 1.0)

Version 2 adds the split unit: "split_unit" says what a source is ("scene", "source", "file",
"person") and each scene lists its "source"; no source may have scenes in two splits.
Version 1 manifests (no sources: each scene its own unit) are still read.
Version 3 adds how each frame was exposed (`Exposure`: exposure time, analogue gain, and the
light on the scene relative to the rig's nominal): "references" and each scene may carry an
"exposure" object; a scene without one was taken as the references were. Versions 1 and 2 (no
exposures: every scene as its references) are still read.

Raw captures keep the camera's ADU values unscaled (a 12-bit ADC gives 0..4095 in a 16-bit
PNG); normalising with the dark and white references makes the scale irrelevant.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

from device.common.errors import UserError

FORMAT_NAME = "nightcolor-capture-set"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
# What one source is: each scene alone (version 1, the real rig, imports), a bundled photo or
# generated scene, a user's file, or a person named by LFW-style file names.
SPLIT_UNITS = ("scene", "source", "file", "person")
MANIFEST = "manifest.json"
BIT_DEPTH = 16
TRUTH_MODES = ("human", "paper")
SPLITS = ("train", "val", "test")
# Light beyond the visible band; `load_nir` defaults to these wavelengths of a set.
NIR_FROM_NM = 700

_SCENE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Exposure:
    """How one frame was exposed. Photo-electrons grow with `light` × `exposure_ms` (`photons`);
    raw values above the dark level with that times the analogue `gain` (`signal`), because a
    gain of G divides the electrons per ADU code by G. `light` is the illumination on the scene
    relative to the rig's nominal (the simulated rig's LED flux; 1 on a real rig, where it is not
    measured)."""
    exposure_ms: float
    gain: float = 1.0
    light: float = 1.0

    def __post_init__(self):
        for name in ("exposure_ms", "gain", "light"):
            value = getattr(self, name)
            if (not isinstance(value, (int, float)) or isinstance(value, bool)
                    or not math.isfinite(value) or value <= 0):
                raise ValueError(f"exposure: {name!r} must be a positive number, not {value!r}")

    @property
    def photons(self) -> float:
        return self.light * self.exposure_ms

    @property
    def signal(self) -> float:
        return self.photons * self.gain

    def to_dict(self) -> dict:
        return {"exposure_ms": float(self.exposure_ms), "gain": float(self.gain),
                "light": float(self.light)}

    @classmethod
    def from_dict(cls, d) -> "Exposure":
        """ValueError (one sentence) unless `d` is an exposure object of this version."""
        if not isinstance(d, dict) or set(d) != {"exposure_ms", "gain", "light"}:
            raise ValueError("an exposure must be an object with exactly exposure_ms, gain and "
                             "light")
        return cls(d["exposure_ms"], d["gain"], d["light"])


def dark_path() -> str:
    return "references/dark.png"


def white_path(nm: int) -> str:
    return f"references/white_{nm}nm.png"


def capture_path(scene: str, nm: int) -> str:
    return f"scenes/{scene}/{nm}nm.png"


def truth_path(scene: str) -> str:
    return f"scenes/{scene}/truth.png"


def materials_path(scene: str) -> str:
    """Optional: what each pixel is made of, codes into the manifest's "material_families"."""
    return f"scenes/{scene}/materials.png"


def check_scene_name(name: str) -> str:
    """Scene names become folder names, so they must be plain and portable."""
    if not isinstance(name, str) or not _SCENE_NAME.match(name):
        raise UserError(f"scene name {name!r} must be 1-128 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit.")
    return name


def safe_scene_name(text: str) -> str:
    """Turn a file stem ('Aaron Eckhart_0001') into a valid scene name ('Aaron-Eckhart_0001').

    Long stems keep a hash suffix so two different stems never collapse into one name.
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._") or "scene"
    if len(name) > 128:
        name = name[:119] + "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return name


def now_utc() -> str:
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


def build_manifest(*, wavelengths, rig: dict, truth_mode: str, size: tuple[int, int],
                   scenes: list[str], split: dict, source: str, created: str,
                   split_unit: str = "scene", sources: dict | None = None,
                   reference_exposure: Exposure | None = None,
                   exposures: dict | None = None,
                   material_families: tuple[str, ...] | None = None,
                   with_materials: set | frozenset = frozenset()) -> dict:
    """The manifest as plain JSON; every path in it is relative to the capture-set folder.
    `sources` maps each scene to its source (default: the scene itself); `exposures` maps a
    scene to its `Exposure` where it differs from the references' (`reference_exposure`); the
    scenes of `with_materials` list a material map whose codes index `material_families`."""
    sources, exposures = sources or {}, exposures or {}
    if exposures and reference_exposure is None:
        raise ValueError("scene exposures need the references' exposure to be normalised")
    references = {"dark": dark_path(), "white": {str(nm): white_path(nm) for nm in wavelengths}}
    if reference_exposure is not None:
        references["exposure"] = reference_exposure.to_dict()
    entries: dict[str, dict] = {}
    for s in scenes:
        entry = {"captures": {str(nm): capture_path(s, nm) for nm in wavelengths},
                 "truth": truth_path(s), "source": sources.get(s, s)}
        if s in exposures:
            entry["exposure"] = exposures[s].to_dict()
        entries[s] = entry
    manifest = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created": created,
        "source": source,
        "wavelengths": [int(nm) for nm in wavelengths],
        "truth_mode": truth_mode,
        "size": [int(size[0]), int(size[1])],
        "bit_depth": BIT_DEPTH,
        "rig": rig,
        "references": references,
        "split_unit": split_unit,
        "split": split,
        "scenes": entries,
    }
    if with_materials:   # optional, so sets without materials keep their exact manifest
        manifest["material_families"] = list(material_families or ())
        for s in with_materials:
            entries[s]["materials"] = materials_path(s)
    return manifest


def _fail(manifest_file: Path, what: str) -> UserError:
    return UserError(f"{manifest_file}: {what}.")


def _inside(rel) -> bool:
    """A listed path must stay inside the capture-set folder (no absolute paths, no '..')."""
    if not isinstance(rel, str) or not rel:
        return False
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts


def validate_manifest(m, manifest_file: Path) -> dict:
    """Check the manifest's shape; raise UserError (one sentence naming the file) otherwise.

    The version is checked first so a future manifest is refused for what it is, not for a
    field this reader does not know.
    """
    if not isinstance(m, dict) or m.get("format") != FORMAT_NAME:
        raise _fail(manifest_file, f"not a capture-set manifest (no \"format\": \"{FORMAT_NAME}\")")
    version = m.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise _fail(manifest_file, f"format version {version!r} is unknown to this reader, "
                                   f"which reads versions "
                                   f"{', '.join(map(str, READABLE_VERSIONS))}")
    wl = m.get("wavelengths")
    if (not isinstance(wl, list) or not wl or len(set(wl)) != len(wl)
            or not all(isinstance(nm, int) and not isinstance(nm, bool) and 200 <= nm <= 2000
                       for nm in wl)):
        raise _fail(manifest_file, "\"wavelengths\" must be a non-empty list of distinct whole "
                                   "nanometres between 200 and 2000")
    if m.get("truth_mode") not in TRUTH_MODES:
        raise _fail(manifest_file, f"\"truth_mode\" must be one of {', '.join(TRUTH_MODES)}, "
                                   f"not {m.get('truth_mode')!r}")
    size = m.get("size")
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and v > 0 for v in size)):
        raise _fail(manifest_file, "\"size\" must be [height, width] in pixels")
    if m.get("bit_depth") != BIT_DEPTH:
        raise _fail(manifest_file, f"\"bit_depth\" is {m.get('bit_depth')!r}, "
                                   f"but version {version} stores {BIT_DEPTH}-bit PNGs")
    if not isinstance(m.get("rig"), dict):
        raise _fail(manifest_file, "\"rig\" must be an object describing the rig")
    scenes = _check_files_listed(m, wl, manifest_file)
    split = m.get("split")
    if not isinstance(split, dict) or sorted(split) != sorted(SPLITS):
        raise _fail(manifest_file, "\"split\" must have exactly the lists train, val and test")
    listed = [s for part in SPLITS for s in split[part]]
    if sorted(listed) != sorted(scenes):
        raise _fail(manifest_file, "\"split\" must name every scene exactly once")
    if version >= 2:
        _check_sources(m, manifest_file)
    if version >= 3:
        _check_exposures(m, manifest_file)
    return m


def _check_files_listed(m: dict, wl: list, manifest_file: Path) -> dict:
    """The references and every scene's captures and truth, each listed inside the folder;
    returns the scenes."""
    refs = m.get("references")
    if (not isinstance(refs, dict) or not isinstance(refs.get("dark"), str)
            or not isinstance(refs.get("white"), dict)):
        raise _fail(manifest_file, "\"references\" must name a dark file and one white file per "
                                   "wavelength")
    if not _inside(refs["dark"]):
        raise _fail(manifest_file, f"dark reference path {refs['dark']!r} leaves the folder")
    for nm in wl:
        if not _inside(refs["white"].get(str(nm))):
            raise _fail(manifest_file, f"no white reference is listed for {nm} nm")
    scenes = m.get("scenes")
    if not isinstance(scenes, dict) or not scenes:
        raise _fail(manifest_file, "\"scenes\" must list at least one scene")
    for name, entry in scenes.items():
        if not _SCENE_NAME.match(name):
            raise _fail(manifest_file, f"scene name {name!r} is not a plain folder name")
        caps = entry.get("captures") if isinstance(entry, dict) else None
        if not isinstance(caps, dict) or not _inside(entry.get("truth")):
            raise _fail(manifest_file, f"scene {name!r} must list its captures and its truth file")
        for nm in wl:
            if not _inside(caps.get(str(nm))):
                raise _fail(manifest_file, f"scene {name!r} has no {nm} nm capture listed")
        if "materials" in entry and (not _inside(entry["materials"])
                                     or not isinstance(m.get("material_families"), list)):
            raise _fail(manifest_file, f"scene {name!r} lists a material map without a "
                                       "\"material_families\" list, or outside the folder")
    return scenes


def _check_exposures(m: dict, manifest_file: Path) -> None:
    exposed = [name for name, entry in m["scenes"].items() if "exposure" in entry]
    if "exposure" not in m["references"]:
        if exposed:
            raise _fail(manifest_file, f"scene {exposed[0]!r} records its exposure but the "
                                       "references do not, so it cannot be normalised")
        return
    for where, d in [("the references", m["references"]["exposure"]),
                     *((f"scene {name!r}", m["scenes"][name]["exposure"]) for name in exposed)]:
        try:
            Exposure.from_dict(d)
        except ValueError as exc:
            raise _fail(manifest_file, f"{where}: {exc}") from None


def _check_sources(m: dict, manifest_file: Path) -> None:
    if m.get("split_unit") not in SPLIT_UNITS:
        raise _fail(manifest_file, f"\"split_unit\" must be one of {', '.join(SPLIT_UNITS)}, "
                                   f"not {m.get('split_unit')!r}")
    part_of_source: dict[str, str] = {}
    for part in SPLITS:
        for scene in m["split"][part]:
            source = m["scenes"][scene].get("source")
            if not isinstance(source, str) or not source:
                raise _fail(manifest_file, f"scene {scene!r} must name its source")
            if part_of_source.setdefault(source, part) != part:
                raise _fail(manifest_file, f"source {source!r} has scenes in both the "
                                           f"{part_of_source[source]} and {part} splits")
