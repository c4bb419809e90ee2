"""The sections of the viewer's TOML config as plain dataclasses, with their defaults.

Reading and validating the file is device.viewer.config's job; the roles (camera, LEDs,
strobe...) take their own section from here without depending on the loader.
"""
from __future__ import annotations

from dataclasses import dataclass, field


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
    # What the strobe must know of the sensor: a camera of device/viewer/camera_profiles.py, or
    # "" and the figures below (today's assumption: a triggered global shutter).
    profile: str = ""
    shutter: str = "global"         # without a profile: "global" or "rolling"
    line_time_us: float = 0.0       # without a profile: from one row starting to the next
    trigger_input: bool = True      # without a profile: the camera takes a trigger pulse
    strobe_output: bool = False     # without a profile: it has an output high while exposing


@dataclass
class LedConfig:
    uri: str = "sim://"             # gpio://jetson?pins=718:12,777:16,807:18&trigger=22
    pins: dict[int, int] = field(default_factory=dict)   # parsed from the URI: nm -> board pin
    trigger_pin: int | None = None


@dataclass
class StrobeConfig:
    wavelengths: tuple[int, ...] = (718, 777, 807)   # firing order
    dark_phase: bool = False        # an all-off phase for live ambient subtraction
    sync: str = "trigger"           # "trigger" | "frame" | "flash-window" | "sensor-strobe"
    settle_ms: float = 0.3          # LED rise time before the exposure starts
    margin_ms: float = 2.0          # fail-safe: an LED is forced off after its window plus this
    realtime: bool = False          # SCHED_FIFO for the strobe thread when permitted
    window_guard_ms: float = 0.5    # flash-window: the LED waits this long inside the window
                                    # before going on, and goes off this long before it closes


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
