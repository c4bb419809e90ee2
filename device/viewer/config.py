"""The viewer's one TOML config: plain dataclasses, validated in one place at start.

Every mistake is one sentence naming the file and the key; all of them are reported together so
a user fixes the file in one go. Relative paths are taken from the config file's folder.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from device.common.errors import UserError
from device.common.uri import Uri
from device.engines.engine import ENGINES
from device.viewer import backends as _real_hardware  # noqa: F401  fills the tables below
from device.viewer.camera_profiles import PROFILES
from device.viewer.cameras import CAMERAS
from device.viewer.displays import DISPLAYS
from device.viewer.exposure_plan import timing_problems
from device.viewer.leds import LEDS
from device.viewer.sections import (CameraConfig, DisplayConfig, EngineConfig, ExposureConfig,
                                    LedConfig, PipelineConfig, PreprocessConfig, SimConfig,
                                    StrobeConfig, TemporalConfig)
from device.viewer.strobe import STROBE_TIMINGS

if sys.version_info >= (3, 11):
    import tomllib
else:  # JetPack 6 ships Python 3.10, which has no tomllib: its backport (a dependency there)
    import tomli as tomllib

__all__ = ["CameraConfig", "Config", "DisplayConfig", "EngineConfig", "ExposureConfig",
           "LedConfig", "PipelineConfig", "PreprocessConfig", "SimConfig", "StrobeConfig",
           "TemporalConfig", "load_config", "model_card_beside"]
EXPOSURE_MODES = ("auto", "fixed")
SIM_MOTIONS = ("none", "hand", "slide")


@dataclass
class Config:
    path: Path
    camera: CameraConfig = field(default_factory=CameraConfig)
    leds: LedConfig = field(default_factory=LedConfig)
    strobe: StrobeConfig = field(default_factory=StrobeConfig)
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    sim: SimConfig = field(default_factory=SimConfig)

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.path.parent / p

    def model_card_path(self) -> Path:
        if self.engine.model_card:
            return self.resolve(self.engine.model_card)
        return model_card_beside(self.resolve(ENGINES.parse(self.engine.uri).target))



SECTIONS: dict[str, type] = {"camera": CameraConfig, "leds": LedConfig, "strobe": StrobeConfig,
            "exposure": ExposureConfig, "temporal": TemporalConfig, "engine": EngineConfig,
            "preprocess": PreprocessConfig, "display": DisplayConfig,
            "pipeline": PipelineConfig, "sim": SimConfig}
DERIVED = {("leds", "pins"), ("leds", "trigger_pin")}   # parsed from the URI, not keys


def model_card_beside(model: Path) -> Path:
    """`ckpt.onnx`, `ckpt.fp16.onnx` and `ckpt.fp16.engine` all describe `ckpt.json`."""
    stem = model.name.split(".")[0]
    return model.with_name(stem + ".json")


def load_config(path: str | Path, check_model: bool = True, check_schemes: bool = True) -> Config:
    """Read and validate `path`; with `check_model`, also against the engine's model card.

    `check_schemes` False checks each URI's form but not that this process has a backend for
    its scheme: for the service's helpers (the ExecStopPost fail-safe, install.sh's model plan),
    which never import the simulated rig's package and so do not know `sim://` and `file://`."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read config file ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc}).") from None
    errors: list[str] = []
    config = Config(path=path.resolve())
    for section, table in raw.items():
        if section not in SECTIONS:
            errors.append(f"unknown section [{section}]")
            continue
        if not isinstance(table, dict):
            errors.append(f"'{section}' must be a [{section}] table")
            continue
        setattr(config, section, _read_section(section, table, errors))
    _take_profile_timing(config, raw)
    _check_values(config, errors, check_schemes)
    errors += timing_problems(config.camera, config.strobe, _given(raw, "camera"))
    if check_model and not errors:
        _check_against_model(config, errors)
    if errors:
        raise UserError(" ".join(f"{path}: {e}." for e in errors))
    return config


def _given(raw: dict[str, Any], section: str) -> frozenset[str]:
    table = raw.get(section)
    return frozenset(table) if isinstance(table, dict) else frozenset()


def _take_profile_timing(config: Config, raw: dict[str, Any]) -> None:
    """A camera profile picks the strobe's timing unless the file sets `strobe.sync`."""
    profile = PROFILES.get(config.camera.profile)
    if profile is not None and "sync" not in _given(raw, "strobe"):
        config.strobe.sync = profile.default_sync


def _read_section(name: str, table: dict[str, Any], errors: list[str]) -> Any:
    cls = SECTIONS[name]
    fields = {f.name: f for f in dataclasses.fields(cls) if (name, f.name) not in DERIVED}
    values = {}
    for key, value in table.items():
        if key not in fields:
            errors.append(f"unknown key '{name}.{key}'")
            continue
        default = getattr(cls(), key)
        expected = type(default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and isinstance(value, list):
            value = tuple(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            kind = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                    tuple: "a list"}[expected]
            errors.append(f"'{name}.{key}' must be {kind}, not {value!r}")
            continue
        values[key] = value
    return cls(**values)


def _parse_uris(c: Config, errors: list[str], registered: bool) -> dict[str, Uri]:
    """Each role's URI parsed by its backend table (so adding a backend is one registration);
    a refusal is one error."""
    parsers: tuple[tuple[str, Callable[[str, bool], Uri], str], ...] = (
        ("camera", CAMERAS.parse, c.camera.uri), ("leds", LEDS.parse, c.leds.uri),
        ("engine", ENGINES.parse, c.engine.uri), ("display", DISPLAYS.parse, c.display.uri))
    uris = {}
    for role, parse, text in parsers:
        try:
            uris[role] = parse(text, registered)
        except UserError as exc:
            errors.append(str(exc).rstrip("."))
    return uris


def _check_values(c: Config, errors: list[str], registered: bool) -> None:
    uris = _parse_uris(c, errors, registered)
    for key, value in (("camera.width", c.camera.width), ("camera.height", c.camera.height),
                       ("camera.fps", c.camera.fps), ("camera.exposure_ms", c.camera.exposure_ms),
                       ("camera.timeout_s", c.camera.timeout_s),
                       ("pipeline.queue_size", c.pipeline.queue_size),
                       ("pipeline.stats_every_s", c.pipeline.stats_every_s),
                       ("preprocess.align_scale", c.preprocess.align_scale)):
        if value <= 0:
            errors.append(f"'{key}' must be positive, not {value}")
    if c.camera.bit_depth not in (8, 16):
        errors.append(f"'camera.bit_depth' must be 8 or 16, not {c.camera.bit_depth}")
    if c.strobe.sync not in STROBE_TIMINGS:
        names = " or ".join(f'"{name}"' for name in STROBE_TIMINGS)
        errors.append(f"'strobe.sync' must be {names}, not \"{c.strobe.sync}\"")
    if c.preprocess.align not in ("phase", "ecc", "none"):
        errors.append(f"'preprocess.align' must be \"phase\", \"ecc\" or \"none\", "
                      f"not \"{c.preprocess.align}\"")
    if c.camera.fps > 0 and c.strobe.sync == "frame" and c.camera.exposure_ms >= 1000 / c.camera.fps:
        errors.append(f"'camera.exposure_ms' ({c.camera.exposure_ms}) must be shorter than one "
                      f"frame at camera.fps {c.camera.fps:g}")
    _check_exposure_and_video(c, errors)
    nms = c.strobe.wavelengths
    if len(set(nms)) != len(nms) or not all(isinstance(n, int) for n in nms):
        errors.append(f"'strobe.wavelengths' must list distinct integers (nm), not {list(nms)}")
        return
    leds = uris.get("leds")
    if leds is not None and leds.scheme == "gpio":
        _parse_pins(leds, c, errors)
        camera = uris.get("camera")
        backend = None if camera is None else CAMERAS.get(camera.scheme)
        # A simulated camera is triggered by the simulated bank itself, not through a wire.
        wired = backend is not None and not backend.simulated
        if c.strobe.sync == "trigger" and c.leds.trigger_pin is None and wired:
            errors.append("'strobe.sync' is \"trigger\" but 'leds.uri' names no trigger=PIN")


def _check_exposure_and_video(c: Config, errors: list[str]) -> None:
    """[exposure], [temporal] and the simulated rig's light and motion."""
    e, t, sim = c.exposure, c.temporal, c.sim
    if e.mode not in EXPOSURE_MODES:
        errors.append(f"'exposure.mode' must be \"auto\" or \"fixed\", not \"{e.mode}\"")
    ranges = (("exposure.target", e.target, 0.0, 1.0), ("exposure.percentile", e.percentile,
              50.0, 100.0), ("exposure.max_duty", e.max_duty, 0.0, 1.0),
              ("exposure.gain_target", e.gain_target, 0.0, 1.0))
    for key, value, low, high in ranges:
        if not low < value <= high:
            errors.append(f"'{key}' must be above {low:g} and at most {high:g}, not {value}")
    if e.min_on_ms <= 0 or e.max_on_ms < 0:
        errors.append(f"'exposure.min_on_ms' must be positive and 'exposure.max_on_ms' not "
                      f"negative, not {e.min_on_ms} and {e.max_on_ms}")
    if e.max_gain < 1 or e.saturation < 1:
        errors.append(f"'exposure.max_gain' and 'exposure.saturation' must be at least 1, not "
                      f"{e.max_gain} and {e.saturation}")
    if not 0 <= t.strength < 1:
        errors.append(f"'temporal.strength' must be at least 0 and below 1, not {t.strength}")
    if sim.light <= 0 or sim.light_change_to <= 0:
        errors.append(f"'sim.light' and 'sim.light_change_to' must be positive, not "
                      f"{sim.light} and {sim.light_change_to}")
    if sim.motion not in SIM_MOTIONS:
        errors.append(f"'sim.motion' must be \"none\", \"hand\" or \"slide\", not "
                      f"\"{sim.motion}\"")


def _parse_pins(uri: Uri, c: Config, errors: list[str]) -> None:
    if uri.target not in ("jetson", "rpi"):
        errors.append(f"'leds.uri' board must be gpio://jetson or gpio://rpi, not '{uri.target}'")
    unknown = set(uri.params) - {"pins", "trigger"}
    if unknown:
        errors.append(f"'leds.uri' has unknown parameter(s) {', '.join(sorted(unknown))}; "
                      "expected pins=NM:PIN,... and trigger=PIN")
    used: dict[int, str] = {}

    def claim(pin_text: str, what: str) -> int | None:
        if not pin_text.strip().isdigit():
            errors.append(f"'leds.uri' pin for {what} must be a board pin number, not '{pin_text}'")
            return None
        pin = int(pin_text)
        if pin in used:
            errors.append(f"'leds.uri' uses pin {pin} twice ({used[pin]} and {what})")
        used[pin] = what
        return pin

    for item in filter(None, uri.params.get("pins", "").split(",")):
        nm_text, _, pin_text = item.partition(":")
        if not nm_text.strip().isdigit():
            errors.append(f"'leds.uri' pins entry '{item}' must be NM:PIN, e.g. 718:12")
            continue
        pin = claim(pin_text, f"{nm_text.strip()} nm")
        if pin is not None:
            c.leds.pins[int(nm_text)] = pin
    if "trigger" in uri.params:
        c.leds.trigger_pin = claim(uri.params["trigger"], "the camera trigger")
    missing = [nm for nm in c.strobe.wavelengths if nm not in c.leds.pins]
    if missing:
        errors.append(f"'leds.uri' has no pin for {', '.join(map(str, missing))} nm")


def _check_against_model(c: Config, errors: list[str]) -> None:
    from device.engines.model_card import UPGRADE_COMMAND, load_model_card

    card_path = c.model_card_path()
    card = load_model_card(card_path)
    trained = tuple(card.wavelengths_nm)
    extra = [nm for nm in c.strobe.wavelengths if nm not in trained]
    missing = [nm for nm in trained if nm not in c.strobe.wavelengths]
    if extra:
        errors.append(f"'strobe.wavelengths' includes {', '.join(map(str, extra))} nm but the "
                      f"model ({card_path.name}) was trained on "
                      f"{', '.join(map(str, trained))} nm")
    elif missing:
        errors.append(f"'strobe.wavelengths' lacks {', '.join(map(str, missing))} nm, which the "
                      f"model ({card_path.name}) needs")
    if card.viewer_pads:       # the viewer graph pads any frame to the network's multiple
        return
    m = card.spatial_multiple
    for key, value in (("camera.width", c.camera.width), ("camera.height", c.camera.height)):
        if value % m:
            errors.append(f"'{key}' {value} is not a multiple of {m}, which the model "
                          f"({card_path.name}) needs until its viewer graphs are rebuilt to "
                          f"pad (`{UPGRADE_COMMAND} {card_path.name}`)")
