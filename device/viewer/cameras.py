"""Cameras: `v4l2:///dev/videoN`, `csi://N` (OpenCV), `file://capture-set` (replay) and `sim://`.

`read()` blocks for the next frame and returns it with its exposure window on the monotonic
clock; a camera that stops delivering raises CameraError, which the pipeline answers with a
"no signal" screen and reconnection. The replay and simulated cameras (device.simulated) are lit
by the simulated LED bank.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

from device.common.uri import Uri
from device.viewer.camera_backends import CAMERAS
from device.viewer.config import CameraConfig, Config
from device.viewer.leds import Leds

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
    """A V4L2 device or a CSI sensor (GStreamer nvarguscamerasrc) through OpenCV."""

    def __init__(self, config: CameraConfig):
        uri = CAMERAS.parse(config.uri)
        self.exposure_s = config.exposure_ms / 1e3
        if uri.scheme == "v4l2":
            self._cap = cv2.VideoCapture(uri.target, cv2.CAP_V4L2)
            self._configure_v4l2(config)
        else:
            self._cap = cv2.VideoCapture(csi_pipeline(int(uri.target or 0), config),
                                         cv2.CAP_GSTREAMER)
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


def csi_pipeline(sensor_id: int, c: CameraConfig) -> str:
    """nvarguscamerasrc with exposure and gain pinned (ns), converted to GRAY8 for appsink."""
    exposure_ns = int(c.exposure_ms * 1e6)
    return (f"nvarguscamerasrc sensor-id={sensor_id} aelock=true "
            f"exposuretimerange=\"{exposure_ns} {exposure_ns}\" gainrange=\"{c.gain} {c.gain}\" ! "
            f"video/x-raw(memory:NVMM),width={c.width},height={c.height},"
            f"framerate={int(round(c.fps))}/1 ! nvvidconv ! video/x-raw,format=GRAY8 ! "
            f"appsink drop=true max-buffers=1 sync=false")


def open_camera(config: Config, leds: Leds) -> Camera:
    return CAMERAS.open(config.camera.uri, config, leds)


def open_opencv_camera(uri: Uri, config: Config, leds: Leds) -> Camera:
    return OpenCvCamera(config.camera)
