"""The viewer's one TOML config: plain dataclasses, validated in one place at start.

Every mistake is one sentence naming the file and the key; all of them are reported together so
a user fixes the file in one go. Relative paths are taken from the config file's folder.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

from device.common.errors import UserError
from device.engines.engine_backends import ENGINES
from device.viewer.camera_backends import CAMERAS
from device.viewer.display_backends import DISPLAYS
from device.viewer.led_backends import LEDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # JetPack 6 ships Python 3.10, which has no tomllib: its backport (a dependency there)
    import tomli as tomllib


@dataclass
class CameraConfig:
    uri: str = "sim://"
    width: int = 640
    height: int = 480
    fps: float = 60.0
    exposure_ms: float = 4.0
    gain: float = 1.0
    bit_depth: int = 16
    timeout_s: float = 1.0          # no frame for this long: the camera is lost


@dataclass
class LedConfig:
    uri: str = "sim://"             # gpio://jetson?pins=718:12,777:16,807:18&trigger=22
    pins: dict[int, int] = field(default_factory=dict)   # parsed from the URI: nm -> board pin
    trigger_pin: int | None = None


@dataclass
class StrobeConfig:
    wavelengths: tuple[int, ...] = (718, 777, 807)   # firing order
    dark_phase: bool = False        # an all-off phase for live ambient subtraction
    sync: str = "trigger"           # "trigger": GPIO pulse starts the exposure; "frame": free-running
    settle_ms: float = 0.3          # LED rise time before the exposure starts
    margin_ms: float = 2.0          # fail-safe: an LED is forced off after its window plus this
    realtime: bool = False          # SCHED_FIFO for the strobe thread when permitted


@dataclass
class EngineConfig:
    uri: str = "onnx://model.onnx"
    model_card: str = ""            # default: the card beside the model (ckpt.json)


@dataclass
class PreprocessConfig:
    calibration: str = "calibration.npz"
    align: str = "ecc"              # "ecc" (rotation + shift), "phase" (shift only) or "none"
    align_scale: float = 0.25       # alignment runs on frames downscaled by this


@dataclass
class DisplayConfig:
    uri: str = "null://"
    overlay_fps: bool = False


@dataclass
class PipelineConfig:
    queue_size: int = 2
    stats_every_s: float = 5.0
    reconnect_min_s: float = 0.5    # camera lost: first retry after this, doubling up to max
    reconnect_max_s: float = 8.0


@dataclass
class SimConfig:
    """The simulated rig (`sim://` camera and LEDs, or `--rig sim`)."""
    scene: str = "astronaut"        # a bundled photo, a generated kind, "paper" or a path
    seed: int = 0
    motion_px: float = 1.0          # hand-held jitter between sub-frames
    motion_deg: float = 0.2
    ambient: float = 0.0            # room light (photons/px/ms on white; the LEDs give 1200)


@dataclass
class Config:
    path: Path
    camera: CameraConfig = field(default_factory=CameraConfig)
    leds: LedConfig = field(default_factory=LedConfig)
    strobe: StrobeConfig = field(default_factory=StrobeConfig)
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

    def with_sim_rig(self) -> "Config":
        """The same config with the simulated camera and LEDs (`--rig sim`)."""
        return dataclasses.replace(
            self, camera=dataclasses.replace(self.camera, uri="sim://"),
            leds=LedConfig(uri="sim://"))


SECTIONS = {"camera": CameraConfig, "leds": LedConfig, "strobe": StrobeConfig,
            "engine": EngineConfig, "preprocess": PreprocessConfig, "display": DisplayConfig,
            "pipeline": PipelineConfig, "sim": SimConfig}
DERIVED = {("leds", "pins"), ("leds", "trigger_pin")}   # parsed from the URI, not keys


def model_card_beside(model: Path) -> Path:
    """`ckpt.onnx`, `ckpt.fp16.onnx` and `ckpt.fp16.engine` all describe `ckpt.json`."""
    stem = model.name.split(".")[0]
    return model.with_name(stem + ".json")


def load_config(path: str | Path, check_model: bool = True) -> Config:
    """Read and validate `path`; with `check_model`, also against the engine's model card."""
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
    _check_values(config, errors)
    if check_model and not errors:
        _check_against_model(config, errors)
    if errors:
        raise UserError(" ".join(f"{path}: {e}." for e in errors))
    return config


def _read_section(name: str, table: dict, errors: list[str]):
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


def _check_values(c: Config, errors: list[str]) -> None:
    # Each role's schemes are its backend table's, so adding a backend is one edit there.
    for table, uri in ((CAMERAS, c.camera.uri), (LEDS, c.leds.uri), (ENGINES, c.engine.uri),
                       (DISPLAYS, c.display.uri)):
        try:
            table.parse(uri)
        except UserError as exc:
            errors.append(str(exc).rstrip("."))
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
    if c.strobe.sync not in ("trigger", "frame"):
        errors.append(f"'strobe.sync' must be \"trigger\" or \"frame\", not \"{c.strobe.sync}\"")
    if c.preprocess.align not in ("phase", "ecc", "none"):
        errors.append(f"'preprocess.align' must be \"phase\", \"ecc\" or \"none\", "
                      f"not \"{c.preprocess.align}\"")
    if c.camera.fps > 0 and c.strobe.sync == "frame" and c.camera.exposure_ms >= 1000 / c.camera.fps:
        errors.append(f"'camera.exposure_ms' ({c.camera.exposure_ms}) must be shorter than one "
                      f"frame at camera.fps {c.camera.fps:g}")
    nms = c.strobe.wavelengths
    if len(set(nms)) != len(nms) or not all(isinstance(n, int) for n in nms):
        errors.append(f"'strobe.wavelengths' must list distinct integers (nm), not {list(nms)}")
        return
    if c.leds.uri.startswith("gpio://"):
        _parse_pins(c, errors)


def _parse_pins(c: Config, errors: list[str]) -> None:
    uri = LEDS.parse(c.leds.uri)
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
    if c.strobe.sync == "trigger" and c.leds.trigger_pin is None \
            and not c.camera.uri.startswith("sim://"):
        errors.append("'strobe.sync' is \"trigger\" but 'leds.uri' names no trigger=PIN")


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
