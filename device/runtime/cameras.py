"""Cameras: `v4l2:///dev/videoN`, `csi://N`, `gst://PIPELINE` (OpenCV), `file://capture-set`
(replay) and `sim://`.

`read()` blocks for the next frame and returns it with its exposure window on the monotonic
clock; a camera that stops delivering raises CameraError, which the pipeline answers with a
"no signal" screen and reconnection. The replay and simulated cameras are lit by the simulated
LED bank: each frame mixes the per-LED images by how long each LED was on during its exposure,
so a strobe that is late, early or overlapping shows in the picture.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import cv2
import numpy as np

from device.captures.files import UserError
from device.runtime.config import CAMERA_SCHEMES, CameraConfig, Config
from device.runtime.gstreamer import require_gstreamer
from device.runtime.leds import Leds, SimLeds
from device.runtime.uri import parse_uri

log = logging.getLogger(__name__)


class CameraError(Exception):
    """The camera stopped delivering frames (unplugged, driver stall, timeout)."""


@dataclass
class Frame:
    image: np.ndarray          # uint16 HxW, raw sensor values
    exposure_start: float      # time.monotonic()
    exposure_end: float


class Camera:
    def read(self) -> Frame:
        raise NotImplementedError

    def close(self) -> None:
        pass


class OpenCvCamera(Camera):
    """A V4L2 device, a CSI sensor (GStreamer nvarguscamerasrc) or a whole GStreamer pipeline
    (`gst://`, as jetson-inference's videoSource takes one) through OpenCV."""

    def __init__(self, config: CameraConfig):
        uri = parse_uri(config.uri, "camera.uri", CAMERA_SCHEMES)
        self.exposure_s = config.exposure_ms / 1e3
        if uri.scheme == "v4l2":
            self._cap = cv2.VideoCapture(uri.target, cv2.CAP_V4L2)
            self._configure_v4l2(config)
        else:
            require_gstreamer("camera.uri", config.uri)
            pipeline = (gst_capture_pipeline(uri.target) if uri.scheme == "gst"
                        else csi_pipeline(int(uri.target or 0), config))
            self._cap = cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)
        if not self._cap.isOpened():
            raise CameraError(f"cannot open camera {config.uri}")
        if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):   # else a dead device blocks read()
            self._cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, config.timeout_s * 1e3)

    def _configure_v4l2(self, c: CameraConfig) -> None:
        cap = self._cap
        if c.bit_depth == 16:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"Y16 "))
            cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)     # keep the raw 16-bit mono samples
        else:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"GREY"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, c.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, c.height)
        cap.set(cv2.CAP_PROP_FPS, c.fps)
        cap.set(cv2.CAP_PROP_AUTO_EXPOSURE, 1)       # V4L2 "manual": the strobe needs fixed timing
        cap.set(cv2.CAP_PROP_EXPOSURE, c.exposure_ms * 10)   # V4L2 units of 100 us
        cap.set(cv2.CAP_PROP_GAIN, c.gain)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)          # the newest frame, not a stale queue

    def read(self) -> Frame:
        ok, image = self._cap.read()
        arrived = time.monotonic()
        if not ok or image is None:
            raise CameraError("camera stopped delivering frames")
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        # No hardware timestamps through OpenCV: the exposure ended just before arrival.
        return Frame(image.astype(np.uint16, copy=False), arrived - self.exposure_s, arrived)

    def close(self) -> None:
        self._cap.release()


APPSINK = "appsink drop=true max-buffers=1 sync=false"   # the newest frame, never a backlog


def gst_capture_pipeline(pipeline: str) -> str:
    """A `gst://` camera's pipeline as OpenCV needs it: ending in an appsink (added if absent)."""
    last = pipeline.rsplit("!", 1)[-1].split()
    return pipeline if last and last[0] == "appsink" else f"{pipeline.strip()} ! {APPSINK}"


@dataclass(frozen=True)
class CsiElements:
    """The Jetson-only parts of the csi:// pipeline. Tests swap them for stock GStreamer ones
    (videotestsrc, system memory, videoconvert) so the rest of the string is what gets checked."""
    source: str = ("nvarguscamerasrc sensor-id={sensor_id} aelock=true "
                   "exposuretimerange=\"{exposure_ns} {exposure_ns}\" gainrange=\"{gain} {gain}\"")
    memory: str = "(memory:NVMM)"      # Argus hands out NVMM buffers
    convert: str = "nvvidconv"         # NVMM -> system memory, and the format conversion


ARGUS = CsiElements()


def csi_pipeline(sensor_id: int, c: CameraConfig, elements: CsiElements = ARGUS) -> str:
    """nvarguscamerasrc with exposure and gain pinned (ns), converted to GRAY8 for appsink."""
    exposure_ns = int(c.exposure_ms * 1e6)
    source = elements.source.format(sensor_id=sensor_id, exposure_ns=exposure_ns, gain=c.gain)
    return (f"{source} ! video/x-raw{elements.memory},width={c.width},height={c.height},"
            f"framerate={int(round(c.fps))}/1 ! {elements.convert} ! video/x-raw,format=GRAY8 ! "
            f"{APPSINK}")


class LitBySimLeds(Camera):
    """Exposure timing shared by the replay and simulated cameras.

    `trigger` sync: an exposure starts on each trigger pulse of the simulated bank.
    `frame` sync: exposures follow a free-running clock at `fps`. Either way the frame is
    delivered when its exposure ends (real time), mixed from what the LEDs did meanwhile.
    """

    def __init__(self, leds: Leds, config: CameraConfig, sync: str, stall_after: int | None):
        if not isinstance(leds, SimLeds):
            raise UserError(f"camera.uri {config.uri} needs the simulated LEDs (leds.uri = "
                            "\"sim://\" or --rig sim): it is lit by them.")
        self.leds = leds
        self.exposure_s = config.exposure_ms / 1e3
        self.period_s = 1.0 / config.fps
        self.timeout_s = config.timeout_s
        self.sync = sync
        self.frames = 0
        self.stall_after = stall_after       # fault injection: stop delivering after N frames
        self.fail_after: int | None = None   # fault injection: raise inside the loop after N
        self._triggers_seen = leds.triggers
        self._clock0 = time.monotonic()
        self._next_index = 0

    def read(self) -> Frame:
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError(f"injected fault after {self.frames} frames (camera.uri fail_after)")
        if self.stall_after is not None and self.frames >= self.stall_after:
            time.sleep(self.timeout_s)
            raise CameraError(f"camera stopped delivering frames after {self.frames}")
        start = self._trigger_exposure() if self.sync == "trigger" else self._clock_exposure()
        end = start + self.exposure_s
        time.sleep(max(0.0, end - time.monotonic()))
        on = self.leds.on_time(start, end)
        image = self.expose({nm: t / self.exposure_s for nm, t in on.items()}, start)
        self.frames += 1
        return Frame(image, start, end)

    def _trigger_exposure(self) -> float:
        deadline = time.monotonic() + self.timeout_s
        while self.leds.triggers == self._triggers_seen:
            if time.monotonic() > deadline:
                raise CameraError("camera got no trigger pulse")
            time.sleep(0.0002)
        self._triggers_seen = self.leds.triggers
        return self.leds.last_trigger

    def _clock_exposure(self) -> float:
        # A free-running sensor keeps only the newest frame: a late reader skips ahead.
        now = time.monotonic()
        latest_done = math.floor((now - self._clock0 - self.exposure_s) / self.period_s)
        index = max(self._next_index, latest_done)
        self._next_index = index + 1
        return self._clock0 + index * self.period_s

    def expose(self, fractions: dict[int, float], start: float) -> np.ndarray:
        """The raw frame exposed from `start` while each LED nm was lit for `fractions[nm]`
        of the exposure."""
        raise NotImplementedError


class ReplayCamera(LitBySimLeds):
    """`file://capture-set`: replays recorded frames, `hold` frames per scene, cycling scenes."""

    def __init__(self, path: str, leds: Leds, config: CameraConfig, sync: str,
                 hold: int, stall_after: int | None):
        from device.captures import CaptureSet

        super().__init__(leds, config, sync, stall_after)
        self.captures = CaptureSet.open(path)
        missing = [nm for nm in leds.wavelengths if nm not in self.captures.wavelengths]
        if missing:
            raise UserError(f"{path}: capture set has no frames at {missing} nm, which the "
                            "strobe fires.")
        self.hold = hold
        self._dark = self.captures.references()["dark"]
        self._scene_raws: tuple[str, dict[int, np.ndarray]] | None = None

    def expose(self, fractions: dict[int, float], start: float) -> np.ndarray:
        scenes = self.captures.scenes
        scene = scenes[(self.frames // self.hold) % len(scenes)]
        if self._scene_raws is None or self._scene_raws[0] != scene:
            self._scene_raws = (scene, {nm: self.captures.load_raw(scene, nm).astype(np.float32)
                                        for nm in self.leds.wavelengths})
        raws = self._scene_raws[1]
        # A linear sensor: each LED adds its recorded signal above dark, scaled by its on-time.
        mixed = self._dark.copy()
        for nm, f in fractions.items():
            mixed += f * (raws[nm] - self._dark)
        return np.clip(mixed, 0, 65535).astype(np.uint16)


def open_camera(config: Config, leds: Leds) -> Camera:
    c = config.camera
    uri = parse_uri(c.uri, "camera.uri", CAMERA_SCHEMES)
    stall = int(uri.params["stall_after"]) if "stall_after" in uri.params else None
    if uri.scheme in ("v4l2", "csi", "gst"):
        return OpenCvCamera(c)
    if uri.scheme == "file":
        return ReplayCamera(str(config.resolve(uri.target)), leds, c, config.strobe.sync,
                            int(uri.params.get("hold", 30)), stall)
    from device.runtime.sim_camera import SimCamera
    camera = SimCamera(config, leds, stall)
    if "fail_after" in uri.params:
        camera.fail_after = int(uri.params["fail_after"])
    return camera
