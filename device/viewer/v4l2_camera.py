"""`v4l2raw:///dev/videoN?format=Y10`: a raw sensor read through the V4L2 ioctls themselves, for
the mono global-shutter sensors (OV9281, IMX296) that Argus does not open and for a NoIR Bayer
sensor read without the ISP.

- The samples stay as the sensor gave them: Y10/Y12/Y16 and the Bayer RG10/RG12 in 16-bit words,
  the CSI-2 packed Y10P/pRAA/pRCC unpacked to 16 bits (device.viewer.v4l2_uapi), never scaled
  to 8 bits. A Bayer frame is one plane: the colour filters' different NIR responses are fixed
  per pixel, so the per-pixel white calibration (`device calibrate`) flattens them, as it does
  vignetting, instead of the ISP's demosaic and white balance.
- Exposure (by the timing plan: the sensor exposure, longer than the LED time in a flash
  window), the trigger mode and any `ctrl.NAME=VALUE` of the URI are set as v4l2-ctl names them;
  the exposure's unit is the driver's (`exposure_unit=lines|us|100us`, else guessed: 100 us for
  UVC's exposure_time_absolute, us for the Tegra camera framework's 64-bit "exposure", lines
  for mainline sensor drivers).
- The frame rate is asked for with VIDIOC_S_PARM where the driver takes it.
- Each frame's exposure comes from the driver's buffer timestamp (CLOCK_MONOTONIC): start of
  exposure when the buffer says so (V4L2_BUF_FLAG_TSTAMP_SRC_SOE), else end of frame less the
  exposure and readout. The flash-window strobe times its LEDs from these.

All system calls go through a `V4l2Io`, so the tests drive this module through a stand-in of the
kernel's side (tests/device/viewer/v4l2_standin.py); `KernelIo` is the real one.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import mmap
import os
import select
import time
from typing import Protocol, Union

import numpy as np
from numpy.typing import NDArray

from device.common.errors import UserError
from device.common.uri import Uri
from device.viewer import v4l2_uapi as v4l2
from device.viewer.camera_profiles import PROFILES
from device.viewer.cameras import CameraError, CameraOptions, Frame
from device.viewer.exposure_plan import plan_exposure
from device.viewer.sections import StrobeConfig

log = logging.getLogger(__name__)
BUFFERS = 4                  # driver-owned frames in flight
IoctlArg = Union[ctypes.Structure, ctypes.c_int]


class MappedBuffer(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: "slice[int | None, int | None, int | None]") -> bytes: ...

    def close(self) -> None: ...


class V4l2Io(Protocol):
    """The system calls a capture makes; OSError (with errno) on failure, as the kernel's."""

    def open(self, path: str) -> int: ...

    def ioctl(self, fd: int, request: int, arg: IoctlArg) -> None: ...

    def mmap(self, fd: int, length: int, offset: int) -> MappedBuffer: ...

    def wait_readable(self, fd: int, timeout_s: float) -> bool: ...

    def close(self, fd: int) -> None: ...


class KernelIo:
    """The real calls: a non-blocking descriptor, ioctl(2) through fcntl, mmap(2), select(2)."""

    def open(self, path: str) -> int:
        return os.open(path, os.O_RDWR | os.O_NONBLOCK)

    def ioctl(self, fd: int, request: int, arg: IoctlArg) -> None:
        while True:
            try:
                fcntl.ioctl(fd, request, arg)
                return
            except InterruptedError:
                continue

    def mmap(self, fd: int, length: int, offset: int) -> MappedBuffer:
        return mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                         offset=offset)

    def wait_readable(self, fd: int, timeout_s: float) -> bool:
        return bool(select.select([fd], [], [], timeout_s)[0])

    def close(self, fd: int) -> None:
        os.close(fd)


class V4l2RawCamera:
    def __init__(self, uri: Uri, options: CameraOptions, io: V4l2Io | None = None):
        self.io = io or KernelIo()
        self.uri, self.config = uri, options.camera
        self.plan = options.plan or plan_exposure(options.camera,
                                                  StrobeConfig(sync=options.sync))
        self.layout = _layout(uri, options)
        self.timeout_s = options.camera.timeout_s
        self.sequence: int | None = None
        self.lost_frames = 0                 # gaps in the driver's frame sequence numbers
        self._buffers: list[MappedBuffer] = []
        self.fd: int | None = None
        self.fd = self._open(uri.target)
        try:
            self.bytesperline = self._set_format()
            self._set_controls(options.sync)
            self._set_frame_rate(options.camera.fps)
            self._start()
        except BaseException:
            self.close()
            raise

    def _open(self, path: str) -> int:
        try:
            fd = self.io.open(path)
        except OSError as exc:
            raise CameraError(f"camera.uri {self.uri.text}: cannot open {path} ({exc})") \
                from None
        cap = v4l2.Capability()
        self._ioctl(v4l2.VIDIOC_QUERYCAP, cap, "query its capabilities", fd)
        caps = cap.device_caps if cap.capabilities & v4l2.CAP_DEVICE_CAPS else cap.capabilities
        if not caps & v4l2.CAP_VIDEO_CAPTURE or not caps & v4l2.CAP_STREAMING:
            self.io.close(fd)
            raise UserError(f"camera.uri {self.uri.text}: {path} ({cap.card.decode()}) is not "
                            "a streaming video capture device.")
        return fd

    def _set_format(self) -> int:
        c, layout = self.config, self.layout
        fmt = v4l2.Format(type=v4l2.BUF_TYPE_VIDEO_CAPTURE)
        fmt.fmt.pix.width, fmt.fmt.pix.height = c.width, c.height
        fmt.fmt.pix.pixelformat, fmt.fmt.pix.field = layout.fourcc, v4l2.FIELD_NONE
        self._ioctl(v4l2.VIDIOC_S_FMT, fmt, f"set {c.width}x{c.height} {layout.name}")
        pix = fmt.fmt.pix
        if (pix.pixelformat, pix.width, pix.height) != (layout.fourcc, c.width, c.height):
            raise UserError(f"camera.uri {self.uri.text}: the device offers "
                            f"{pix.width}x{pix.height} {v4l2.fourcc_text(pix.pixelformat)!r} "
                            f"where camera.width/height and format ask for {c.width}x{c.height} "
                            f"{layout.name!r}; set them to a mode the sensor has.")
        return int(pix.bytesperline)

    def _controls(self) -> dict[str, v4l2.QueryExtCtrl]:
        """Every enabled control of the device, by its v4l2-ctl name."""
        found: dict[str, v4l2.QueryExtCtrl] = {}
        query = v4l2.QueryExtCtrl(id=v4l2.CTRL_FLAG_NEXT_CTRL)
        while True:
            try:
                self._ioctl(v4l2.VIDIOC_QUERY_EXT_CTRL, query, "list its controls")
            except CameraError:       # EINVAL past the last control
                return found
            if not query.flags & v4l2.CTRL_FLAG_DISABLED:
                found[v4l2.control_name(query.name)] = v4l2.QueryExtCtrl.from_buffer_copy(query)
            query = v4l2.QueryExtCtrl(id=query.id | v4l2.CTRL_FLAG_NEXT_CTRL)

    def _set_controls(self, sync: str) -> None:
        controls = self._controls()
        wanted = {name[len("ctrl."):]: int(value) for name, value in self.uri.params.items()
                  if name.startswith("ctrl.")}
        exposure = _exposure_control(controls)
        if exposure is not None and exposure not in wanted:
            wanted[exposure] = self._exposure_value(exposure, controls[exposure])
        trigger = _profile_control(self.config.profile, "trigger") or "trigger_mode"
        if trigger in controls and trigger not in wanted:
            wanted[trigger] = 1 if sync == "trigger" else 0
        for name, value in wanted.items():
            if name not in controls:
                raise UserError(f"camera.uri {self.uri.text}: the device has no control "
                                f"'{name}'; it has {', '.join(sorted(controls))}.")
            self._set_control(name, controls[name], value)

    def _exposure_value(self, name: str, control: v4l2.QueryExtCtrl) -> int:
        exposure_s = self.plan.sensor_exposure_s
        unit = self.uri.params.get("exposure_unit") or _guess_unit(name, control)
        if unit == "lines":
            line_s = self.plan.timing.line_time_s
            if not line_s > 0:
                raise UserError(f"camera.uri {self.uri.text}: the exposure control counts lines "
                                "but the line time is not known: set camera.profile (or "
                                "camera.line_time_us), or exposure_unit=us.")
            return round(exposure_s / line_s)
        return round(exposure_s / {"us": 1e-6, "100us": 1e-4}[unit])

    def _set_control(self, name: str, control: v4l2.QueryExtCtrl, value: int) -> None:
        if not control.minimum <= value <= control.maximum:
            raise UserError(f"camera.uri {self.uri.text}: control {name} = {value} is outside "
                            f"the device's {control.minimum}..{control.maximum}.")
        ext = v4l2.ExtControl(id=control.id)
        if control.type == v4l2.CTRL_TYPE_INTEGER64:
            ext.u.value64 = value
        else:
            ext.u.value = value
        ctrls = v4l2.ExtControls(which=v4l2.CTRL_WHICH_CUR_VAL, count=1,
                                 controls=ctypes.pointer(ext))
        self._ioctl(v4l2.VIDIOC_S_EXT_CTRLS, ctrls, f"set {name} to {value}")
        log.info("camera %s: %s = %d", self.uri.text, name, value)

    def _set_frame_rate(self, fps: float) -> None:
        parm = v4l2.StreamParm(type=v4l2.BUF_TYPE_VIDEO_CAPTURE)
        parm.parm.capture.timeperframe = v4l2.Fract(1000, max(1, round(fps * 1000)))
        try:
            self._ioctl(v4l2.VIDIOC_S_PARM, parm, "set the frame rate")
        except CameraError as exc:   # many sensor drivers take the rate from VBLANK instead
            log.info("camera %s: no VIDIOC_S_PARM frame rate (%s)", self.uri.text, exc)

    def _start(self) -> None:
        req = v4l2.RequestBuffers(count=BUFFERS, type=v4l2.BUF_TYPE_VIDEO_CAPTURE,
                                  memory=v4l2.MEMORY_MMAP)
        self._ioctl(v4l2.VIDIOC_REQBUFS, req, "get capture buffers")
        for index in range(req.count):
            buf = self._buffer(index)
            self._ioctl(v4l2.VIDIOC_QUERYBUF, buf, "query a buffer")
            assert self.fd is not None
            self._buffers.append(self.io.mmap(self.fd, buf.length, buf.m.offset))
            self._ioctl(v4l2.VIDIOC_QBUF, buf, "queue a buffer")
        self._ioctl(v4l2.VIDIOC_STREAMON, ctypes.c_int(v4l2.BUF_TYPE_VIDEO_CAPTURE),
                    "start streaming")

    def read(self) -> Frame:
        fd = self.fd
        if fd is None:
            raise CameraError(f"camera {self.uri.text} is closed")
        deadline = time.monotonic() + self.timeout_s
        while True:
            if not self.io.wait_readable(fd, max(0.0, deadline - time.monotonic())):
                raise CameraError(f"camera {self.uri.text} delivered no frame in "
                                  f"{self.timeout_s:g} s")
            buf = self._buffer(0)
            try:
                self.io.ioctl(fd, v4l2.VIDIOC_DQBUF, buf)
                break
            except OSError as exc:
                if exc.errno != errno.EAGAIN:
                    raise CameraError(f"camera {self.uri.text}: {exc}") from None
        try:
            data = self._buffers[buf.index][:buf.bytesused]
            image = v4l2.unpack(data, self.layout, self.config.width, self.config.height,
                                self.bytesperline)
        finally:
            self._ioctl(v4l2.VIDIOC_QBUF, buf, "requeue a buffer")
        self._count_lost(buf.sequence)
        return self._frame(image, buf)

    def _frame(self, image: NDArray[np.uint16], buf: v4l2.Buffer) -> Frame:
        """The frame with its exposure: row 0's start, and the last row's end."""
        stamp = buf.timestamp.tv_sec + buf.timestamp.tv_usec * 1e-6
        plan, timing = self.plan, self.plan.timing
        if buf.flags & v4l2.BUF_FLAG_TSTAMP_SRC_MASK == v4l2.BUF_FLAG_TSTAMP_SRC_SOE:
            start = stamp
        else:     # end of frame: the last row read out after its exposure
            start = stamp - plan.sensor_exposure_s - timing.readout_s
        return Frame(image, start, start + timing.row_span_s + plan.sensor_exposure_s)

    def _count_lost(self, sequence: int) -> None:
        if self.sequence is not None and sequence > self.sequence + 1:
            self.lost_frames += sequence - self.sequence - 1
        self.sequence = sequence

    def _buffer(self, index: int) -> v4l2.Buffer:
        return v4l2.Buffer(index=index, type=v4l2.BUF_TYPE_VIDEO_CAPTURE,
                           memory=v4l2.MEMORY_MMAP)

    def _ioctl(self, request: int, arg: IoctlArg, what: str, fd: int | None = None) -> None:
        fd = self.fd if fd is None else fd
        if fd is None:
            raise CameraError(f"camera {self.uri.text} is closed")
        try:
            self.io.ioctl(fd, request, arg)
        except OSError as exc:
            raise CameraError(f"camera {self.uri.text}: cannot {what} ({exc})") from None

    def close(self) -> None:
        fd = self.fd
        if fd is None:
            return
        self.fd = None
        try:
            self.io.ioctl(fd, v4l2.VIDIOC_STREAMOFF, ctypes.c_int(v4l2.BUF_TYPE_VIDEO_CAPTURE))
        except OSError:
            pass
        finally:
            for mapped in self._buffers:
                mapped.close()
            self._buffers.clear()
            self.io.close(fd)


def _layout(uri: Uri, options: CameraOptions) -> v4l2.PixelLayout:
    """The pixel format: the URI's `format=`, else the profile's."""
    profile = PROFILES.get(options.camera.profile)
    name = uri.params.get("format") or (profile.pixel_format if profile else "Y16")
    layout = v4l2.PIXEL_FORMATS.get(name)
    if layout is None:
        raise UserError(f"camera.uri {uri.text}: format {name!r} is not one this reader "
                        f"unpacks; use one of {', '.join(v4l2.PIXEL_FORMATS)}.")
    return layout


def _profile_control(profile_name: str, role: str) -> str | None:
    profile = PROFILES.get(profile_name)
    return None if profile is None else profile.v4l2_controls.get(role)


def _exposure_control(controls: dict[str, v4l2.QueryExtCtrl]) -> str | None:
    for name in ("exposure", "exposure_time_absolute", "exposure_absolute"):
        if name in controls:
            return name
    return None


def _guess_unit(name: str, control: v4l2.QueryExtCtrl) -> str:
    if name != "exposure":
        return "100us"            # UVC: V4L2_CID_EXPOSURE_ABSOLUTE, 100 us units
    return "us" if control.type == v4l2.CTRL_TYPE_INTEGER64 else "lines"


def open_v4l2raw_camera(uri: Uri, options: CameraOptions) -> V4l2RawCamera:
    return V4l2RawCamera(uri, options)
