"""The camera role: what every camera backend is (`Camera`) and is given (`CameraOptions`), its
backend table (`CAMERAS`), and the OpenCV backend behind `v4l2:///dev/videoN`, `csi://N` and
`gst://PIPELINE` (registered in device.viewer.backends; the replay and simulated cameras,
`file://` and `sim://`, belong to the simulated rig's package).

`read()` blocks for the next frame and returns it with its exposure window on the monotonic
clock; a camera that stops delivering raises CameraError, which the pipeline answers with a
"no signal" screen and reconnection.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from device.common.backends import BackendTable
from device.common.uri import Uri
from device.viewer.exposure_plan import ExposurePlan
from device.viewer.gstreamer import require_gstreamer
from device.viewer.leds import Leds
from device.viewer.sections import CameraConfig, SimConfig

log = logging.getLogger(__name__)


class CameraError(Exception):
    """The camera stopped delivering frames (unplugged, driver stall, timeout)."""


@dataclass
class Frame:
    image: NDArray[np.uint16]  # HxW, raw sensor values
    exposure_start: float      # time.monotonic()
    exposure_end: float


class Camera(Protocol):
    """The camera role. `read` blocks until the next frame; CameraError when none comes."""

    def read(self) -> Frame: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CameraOptions:
    """What a camera backend is given besides its URI: one object for every backend."""
    camera: CameraConfig               # [camera]: size, rate, exposure, gain, depth, timeout
    sync: str                          # the strobe's: "trigger" (exposures start on its pulse)
    leds: Leds                         # the bank lighting the scene (a simulated camera reads it)
    resolve: Callable[[str], Path]     # a path in the config, relative to the config file
    sim: SimConfig                     # [sim]: the simulated print; only simulated cameras read it
    plan: ExposurePlan | None = None   # the strobe's timing: sensor exposure, shutter, windows


CAMERAS: BackendTable[CameraOptions, Camera] = BackendTable("camera.uri")


class OpenCvCamera:
    """A V4L2 device, a CSI sensor (GStreamer nvarguscamerasrc) or a whole GStreamer pipeline
    (`gst://`, as jetson-inference's videoSource takes one) through OpenCV."""

    def __init__(self, uri: Uri, config: CameraConfig, row_span_s: float = 0.0):
        self.exposure_s = config.exposure_ms / 1e3
        self.row_span_s = row_span_s       # a rolling shutter's rows start over this long
        if uri.scheme == "v4l2":
            self._cap = cv2.VideoCapture(uri.target, cv2.CAP_V4L2)
            self._configure_v4l2(config)
        else:
            require_gstreamer("camera.uri", uri)
            pipeline = (gst_capture_pipeline(uri.target) if uri.scheme == "gst"
                        else csi_pipeline(int(uri.target or 0), config))
            self._cap = cv2.VideoCapture(pipeline, cv2.CAP_GSTREAMER)
        if not self._cap.isOpened():
            raise CameraError(f"cannot open camera {uri.text}")
        if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):   # else a dead device blocks read()
            self._cap.set(cv2.CAP_PROP_READ_TIMEOUT_MSEC, config.timeout_s * 1e3)

    def _configure_v4l2(self, c: CameraConfig) -> None:
        cap = self._cap
        if c.bit_depth == 16:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"Y16 "))
            cap.set(cv2.CAP_PROP_CONVERT_RGB, 0)     # keep the raw 16-bit mono samples
        else:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"GREY"))
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
        # No hardware timestamps through OpenCV: the last row's exposure ended just before
        # arrival, and row 0's began the rows' span and an exposure earlier.
        return Frame(image.astype(np.uint16, copy=False),
                     arrived - self.exposure_s - self.row_span_s, arrived)

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


def open_opencv_camera(uri: Uri, options: CameraOptions) -> OpenCvCamera:
    """The sensor is set to the timing plan's exposure (in a flash window, longer than the LED
    time), and its frames' times allow for a rolling shutter's rows."""
    plan = options.plan
    if plan is None:
        return OpenCvCamera(uri, options.camera)
    config = dataclasses.replace(options.camera, exposure_ms=plan.sensor_exposure_s * 1e3)
    return OpenCvCamera(uri, config, plan.timing.row_span_s)
