"""A stand-in for the kernel's side of a V4L2 capture device, for device.viewer.v4l2_camera.

Kernel modules cannot be loaded here (no v4l2loopback, no vivid), so this answers the ioctls a
capture makes the way the kernel and a sensor driver do, from their documentation rather than
from the module under test:
- requests are recognised by their full ioctl numbers as videodev2.h defines them on a 64-bit
  kernel (literal values below; tests/device/viewer/test_v4l2_uapi.py checks them against the
  real header), so a wrong struct size or direction bit is ENOTTY, as the kernel's dispatch
  gives;
- S_FMT adjusts a request to what the driver has (the uAPI: "drivers should not return an
  error code unless the type field is invalid") and pads lines to 64 bytes, as NVIDIA's VI
  does;
- frames are packed as the uAPI's pixfmt pages define (Y10/Y12/Y16 and RG10/RG12: little-endian
  16-bit words, high bits zero; Y10P/pRAA: 4 samples in 5 bytes; pRCC: 2 in 3), written here
  independently of the module's unpacking;
- DQBUF hands buffers back in queue order with CLOCK_MONOTONIC timestamps and sequence numbers,
  EAGAIN when none is ready (the descriptor is non-blocking);
- controls are enumerated with V4L2_CTRL_FLAG_NEXT_CTRL and set with S_EXT_CTRLS, range-checked
  (ERANGE), with the names and types the drivers give them: mainline sensor drivers' Exposure
  (lines) and Analogue Gain, Arducam's Trigger Mode, the Tegra framework's 64-bit Exposure.
"""
from __future__ import annotations

import ctypes
import errno
import math
import time
from dataclasses import dataclass, field

import numpy as np

# videodev2.h on LP64, by number (the C header's values; checked against it by the uapi test).
QUERYCAP, S_FMT, REQBUFS, QUERYBUF = 0x80685600, 0xC0D05605, 0xC0145608, 0xC0585609
QBUF, DQBUF, STREAMON, STREAMOFF = 0xC058560F, 0xC0585611, 0x40045612, 0x40045613
S_PARM, S_EXT_CTRLS, QUERY_EXT_CTRL = 0xC0CC5616, 0xC0205648, 0xC0E85667
PAGE = 4096


def _fourcc(code: str) -> int:
    return int.from_bytes(code.encode("ascii"), "little")


# pixfmt pages: fourcc -> (bits, packing)
FORMATS = {_fourcc("Y10 "): (10, "u16"), _fourcc("Y12 "): (12, "u16"),
           _fourcc("Y16 "): (16, "u16"), _fourcc("RG10"): (10, "u16"),
           _fourcc("RG12"): (12, "u16"), _fourcc("Y10P"): (10, "p10"),
           _fourcc("pRAA"): (10, "p10"), _fourcc("pRCC"): (12, "p12"),
           _fourcc("GREY"): (8, "u8")}


def pack(samples: np.ndarray, packing: str, bytesperline: int) -> bytes:
    """One frame's bytes, lines padded to `bytesperline` (the uAPI's layouts)."""
    h, w = samples.shape
    s = samples.astype(np.uint32)
    if packing == "u8":
        line = s.astype(np.uint8)
    elif packing == "u16":
        line = np.stack([s & 0xFF, s >> 8], axis=-1).reshape(h, 2 * w).astype(np.uint8)
    elif packing == "p10":
        g = s.reshape(h, w // 4, 4)
        low = sum(((g[:, :, i] & 3) << (2 * i)) for i in range(4))
        line = np.concatenate([g >> 2, low[:, :, None]], axis=2).reshape(h, w * 5 // 4)
    else:   # p12
        g = s.reshape(h, w // 2, 2)
        low = (g[:, :, 0] & 0xF) | ((g[:, :, 1] & 0xF) << 4)
        line = np.concatenate([g >> 4, low[:, :, None]], axis=2).reshape(h, w * 3 // 2)
    out = np.zeros((h, bytesperline), np.uint8)
    out[:, :line.shape[1]] = line
    return out.tobytes()


def line_bytes(width: int, packing: str) -> int:
    return {"u8": width, "u16": 2 * width, "p10": width * 5 // 4, "p12": width * 3 // 2}[packing]


@dataclass
class Control:
    name: str            # as the driver names it ("Trigger Mode")
    id: int
    minimum: int
    maximum: int
    value: int
    type: int = 1        # V4L2_CTRL_TYPE_INTEGER; 5: INTEGER64; 2: BOOLEAN


def mainline_sensor_controls() -> list[Control]:
    """What a mainline sensor driver (ov9282.c, imx219.c) and Arducam's trigger offer."""
    return [Control("Exposure", 0x00980911, 1, 65535, 1000),
            Control("Analogue Gain", 0x009E0903, 0, 232, 0),
            Control("Vertical Blanking", 0x009E0901, 4, 65535, 32),
            Control("Trigger Mode", 0x009A2010, 0, 1, 0)]


def tegra_controls() -> list[Control]:
    """The Tegra camera framework's (TEGRA_CAMERA_CID_*): 64-bit exposure in us, gain."""
    return [Control("Gain", 0x009A2009, 16, 356, 16, type=5),
            Control("Exposure", 0x009A200A, 13, 683709, 33334, type=5),
            Control("Frame Rate", 0x009A200B, 2000000, 120000000, 60000000, type=5)]


@dataclass
class StandInV4l2:
    """One device node, /dev/video0: sizes by fourcc, controls, and a sensor that gives frame
    k's samples (`sensor(k)` -> height x width uint16 within the format's bits)."""
    sizes: dict[int, list[tuple[int, int]]]
    controls: list[Control]
    sensor: object
    period_s: float = 1 / 60
    soe: bool = False                 # timestamps at start of exposure (else end of frame)
    exposure_s: float = 0.004         # for end-of-frame timestamps: stamp = start + this + read
    readout_s: float = 0.0
    s_parm: bool = True               # the driver takes VIDIOC_S_PARM
    drop: set[int] = field(default_factory=set)   # frame indices the "hardware" loses
    log: list[str] = field(default_factory=list)
    fmt: tuple[int, int, int, int] = (0, 0, 0, 0)  # fourcc, width, height, bytesperline
    buffers: list[bytearray] = field(default_factory=list)
    queued: list[int] = field(default_factory=list)
    streaming: bool = False
    timeperframe: tuple[int, int] = (0, 0)
    opened: int = 0
    _frame: int = 0
    _t0: float = 0.0

    # -- the system calls -----------------------------------------------------------------
    def open(self, path: str) -> int:
        if path != "/dev/video0":
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.opened += 1
        return 3

    def close(self, fd: int) -> None:
        self.opened -= 1
        self.log.append("close")

    def wait_readable(self, fd: int, timeout_s: float) -> bool:
        return self.streaming and bool(self.queued)

    def mmap(self, fd: int, length: int, offset: int):
        index = offset // PAGE
        if offset % PAGE or index >= len(self.buffers) or length != len(self.buffers[index]):
            raise OSError(errno.EINVAL, "bad mmap")
        return Mapped(self.buffers[index])

    def ioctl(self, fd: int, request: int, arg) -> None:
        handler = {QUERYCAP: self._querycap, S_FMT: self._s_fmt, REQBUFS: self._reqbufs,
                   QUERYBUF: self._querybuf, QBUF: self._qbuf, DQBUF: self._dqbuf,
                   STREAMON: self._streamon, STREAMOFF: self._streamoff,
                   S_PARM: self._s_parm, S_EXT_CTRLS: self._s_ext_ctrls,
                   QUERY_EXT_CTRL: self._query_ext_ctrl}.get(request)
        if handler is None or ctypes.sizeof(arg) != (request >> 16) & 0x3FFF:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
        self.log.append(handler.__name__[1:])
        handler(arg)

    # -- the ioctls ------------------------------------------------------------------------
    def _querycap(self, cap) -> None:
        cap.driver, cap.card = b"standin", b"stand-in sensor"
        cap.device_caps = 0x00000001 | 0x04000000          # VIDEO_CAPTURE | STREAMING
        cap.capabilities = cap.device_caps | 0x80000000    # | DEVICE_CAPS

    def _s_fmt(self, f) -> None:
        if f.type != 1:
            raise OSError(errno.EINVAL, "bad type")
        pix = f.fmt.pix
        fourcc = pix.pixelformat if pix.pixelformat in self.sizes else next(iter(self.sizes))
        sizes = self.sizes[fourcc]
        w, h = min(sizes, key=lambda s: abs(s[0] - pix.width) + abs(s[1] - pix.height))
        packing = FORMATS[fourcc][1]
        bpl = math.ceil(line_bytes(w, packing) / 64) * 64      # VI: 64-byte line alignment
        pix.pixelformat, pix.width, pix.height, pix.field = fourcc, w, h, 1
        pix.bytesperline, pix.sizeimage = bpl, bpl * h
        self.fmt = (fourcc, w, h, bpl)

    def _reqbufs(self, req) -> None:
        if req.memory != 1 or req.type != 1:
            raise OSError(errno.EINVAL, "only MMAP capture")
        size = self.fmt[3] * self.fmt[2]
        req.count = min(req.count, 8)
        self.buffers = [bytearray(math.ceil(size / PAGE) * PAGE) for _ in range(req.count)]

    def _querybuf(self, buf) -> None:
        if buf.index >= len(self.buffers):
            raise OSError(errno.EINVAL, "no such buffer")
        buf.length, buf.m.offset = len(self.buffers[buf.index]), buf.index * PAGE

    def _qbuf(self, buf) -> None:
        if buf.index >= len(self.buffers) or buf.index in self.queued:
            raise OSError(errno.EINVAL, "bad buffer")
        self.queued.append(buf.index)

    def _dqbuf(self, buf) -> None:
        if not self.streaming:
            raise OSError(errno.EINVAL, "not streaming")
        if not self.queued:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
        while self._frame in self.drop:
            self._frame += 1
        index, k = self.queued.pop(0), self._frame
        self._frame += 1
        fourcc, w, h, bpl = self.fmt
        data = pack(np.asarray(self.sensor(k)), FORMATS[fourcc][1], bpl)
        self.buffers[index][:len(data)] = data
        start = self._t0 + k * self.period_s
        stamp = start if self.soe else start + self.exposure_s + self.readout_s
        buf.index, buf.bytesused, buf.sequence, buf.field = index, len(data), k, 1
        buf.timestamp.tv_sec, buf.timestamp.tv_usec = int(stamp), round(stamp % 1 * 1e6)
        buf.flags = 0x2000 | (0x10000 if self.soe else 0)   # MONOTONIC | SRC_SOE or SRC_EOF

    def _streamon(self, kind) -> None:
        if kind.value != 1 or not self.buffers:
            raise OSError(errno.EINVAL, "cannot stream")
        self.streaming, self._t0 = True, time.monotonic()

    def _streamoff(self, kind) -> None:
        self.streaming = False
        self.queued.clear()

    def _s_parm(self, parm) -> None:
        if not self.s_parm:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
        t = parm.parm.capture.timeperframe
        self.timeperframe = (t.numerator, t.denominator)

    def _query_ext_ctrl(self, q) -> None:
        wanted, next_ = q.id & ~0xC0000000, bool(q.id & 0x80000000)
        ordered = sorted(self.controls, key=lambda c: c.id)
        found = [c for c in ordered if (c.id > wanted if next_ else c.id == wanted)]
        if not found:
            raise OSError(errno.EINVAL, "no more controls")
        c = found[0]
        q.id, q.type, q.name = c.id, c.type, c.name.encode()
        q.minimum, q.maximum, q.step, q.default_value, q.flags = c.minimum, c.maximum, 1, 0, 0
        q.elems, q.elem_size = 1, 8 if c.type == 5 else 4

    def _s_ext_ctrls(self, ctrls) -> None:
        for i in range(ctrls.count):
            ext = ctrls.controls[i]
            control = next((c for c in self.controls if c.id == ext.id), None)
            if control is None:
                ctrls.error_idx = i
                raise OSError(errno.EINVAL, "no such control")
            value = ext.u.value64 if control.type == 5 else ext.u.value
            if not control.minimum <= value <= control.maximum:
                raise OSError(errno.ERANGE, "out of range")
            control.value = value

    def value(self, name: str) -> int:
        return next(c.value for c in self.controls if c.name == name)


class Mapped:
    """What mmap(2) gives the reader: the buffer's bytes."""

    def __init__(self, buffer: bytearray):
        self.buffer = buffer
        self.closed = False

    def __len__(self) -> int:
        return len(self.buffer)

    def __getitem__(self, index: slice) -> bytes:
        return bytes(self.buffer[index])

    def close(self) -> None:
        self.closed = True

