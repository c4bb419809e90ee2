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
class ExposureConfig:
    """Automatic exposure (device.viewer.exposure): per LED, the LED's on-time within the
    sensor's exposure window (`camera.exposure_ms`) and the camera's analogue gain, chosen from
    each sub-frame's raw histogram. `mode = "fixed"`: the LED is lit for all of the window at
    `camera.gain`, as before. The eye-safety and LED limits below are assumptions where no
    datasheet of the rig is known: see docs/video.md, Exposure control."""
    mode: str = "auto"              # "auto" or "fixed"
    # The bright end's aim, a fraction of the range above dark. 0.3: on the sim rig paper white
    # under 718 nm (the brightest channel, the first to clip) reaches 0.30 of the range in the
    # 10 ms the shipped model was trained at (3114 of 10336 e-, docs/light-levels.md), and
    # that model colours best at its training noise (ibid., "What the viewer does with it"):
    # so the on-time shortens in bright light instead of filling the range, and only a dim
    # scene gets the longest on-time and gain. A model trained for every light level: 0.8, the
    # most signal that does not clip (docs/video.md, the measurements).
    target: float = 0.3
    percentile: float = 99.9        # the bright end: this percentile of the sub-frame's sample
    saturation: int = 4095          # the raw code at which the sensor clips (12-bit ADC)
    min_on_ms: float = 0.1          # the shortest LED on-time it may choose
    max_on_ms: float = 0.0          # the longest (0: as long as the strobe timing allows)
    max_duty: float = 0.25          # each LED lit at most this fraction of the time (assumed)
    max_gain: float = 8.0           # analogue gain, above 1 only once the on-time is capped,
    gain_target: float = 0.25       # ... and only to bring the bright end up to this share


@dataclass
class TemporalConfig:
    """The recursive, motion-adaptive filter in the viewer graph (convert/viewer_graph.py):
    each color frame is blended with the previous one, warped onto it, where they agree
    within the sensor's noise; where they do not (motion the warp missed, a new scene) the
    new frame is shown as it is."""
    filter: bool = True
    strength: float = 0.95          # the history's weight where nothing moved (0: off)


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
    # Light and moving content for tests and `device demo` (device/simulated/sim_camera.py).
    light: float = 1.0              # the LEDs' light on the print (1: the demo's, 1200 ph/px/ms)
    light_change_at: int = 0        # camera frame at which the light starts to change (0: never)
    light_change_to: float = 1.0    # ... to this factor
    light_change_frames: int = 0    # ... over this many frames (0: a step)
    motion: str = "hand"            # "none", "hand" (the jitter above) or "slide"
    slide_px: float = 0.5           # "slide": the print moves this far right per camera frame
    cut_at: int = 0                 # camera frame at which the print is swapped (0: never)
    cut_to: str = "coffee"          # ... for this one
