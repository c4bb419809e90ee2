"""The few parts of the Linux V4L2 user API a raw-sensor camera needs, in ctypes: the structs and
ioctl numbers of include/uapi/linux/videodev2.h, the pixel formats and how their bytes are laid
out (Documentation/userspace-api/media/v4l/pixfmt-*.rst), and control lookup by the names
v4l2-ctl uses (`trigger_mode`, `exposure`, `analogue_gain`).

Why not a library: linuxpy (the maintained Python V4L2 binding) is GPL-3.0-or-later, which this
MIT project may only take as an optional extra; this is the handful of ioctls a capture needs.
The struct layouts follow the header on a 64-bit kernel (LP64: aarch64 Jetsons, x86-64), and
tests/device/viewer/test_v4l2_uapi.py compiles the real header, where one is installed, to check
every size, ioctl number, FourCC and control ID here against it.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# -- ioctl numbers: _IOC(dir, type, nr, size) of include/uapi/asm-generic/ioctl.h -------------
_IOC_WRITE, _IOC_READ = 1, 2


def _ioc(direction: int, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | nr


def fourcc(code: str) -> int:
    """v4l2_fourcc(a, b, c, d): four characters, little-endian."""
    a, b, c, d = (ord(ch) for ch in code)
    return a | (b << 8) | (c << 16) | (d << 24)


def fourcc_text(value: int) -> str:
    return "".join(chr((value >> shift) & 0xFF) for shift in (0, 8, 16, 24))


class Capability(ctypes.Structure):          # struct v4l2_capability
    _fields_ = [("driver", ctypes.c_char * 16), ("card", ctypes.c_char * 32),
                ("bus_info", ctypes.c_char * 32), ("version", ctypes.c_uint32),
                ("capabilities", ctypes.c_uint32), ("device_caps", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32 * 3)]


class PixFormat(ctypes.Structure):           # struct v4l2_pix_format
    _fields_ = [("width", ctypes.c_uint32), ("height", ctypes.c_uint32),
                ("pixelformat", ctypes.c_uint32), ("field", ctypes.c_uint32),
                ("bytesperline", ctypes.c_uint32), ("sizeimage", ctypes.c_uint32),
                ("colorspace", ctypes.c_uint32), ("priv", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("ycbcr_enc", ctypes.c_uint32),
                ("quantization", ctypes.c_uint32), ("xfer_func", ctypes.c_uint32)]


class _FormatUnion(ctypes.Union):            # its other members hold pointers: 8-byte aligned
    _fields_ = [("pix", PixFormat), ("raw_data", ctypes.c_uint8 * 200),
                ("_align", ctypes.c_void_p)]


class Format(ctypes.Structure):              # struct v4l2_format
    _fields_ = [("type", ctypes.c_uint32), ("fmt", _FormatUnion)]


class RequestBuffers(ctypes.Structure):      # struct v4l2_requestbuffers
    _fields_ = [("count", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("memory", ctypes.c_uint32), ("capabilities", ctypes.c_uint32),
                ("flags", ctypes.c_uint8), ("reserved", ctypes.c_uint8 * 3)]


class Timeval(ctypes.Structure):             # struct timeval (64-bit)
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class Timecode(ctypes.Structure):            # struct v4l2_timecode
    _fields_ = [("type", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("frames", ctypes.c_uint8), ("seconds", ctypes.c_uint8),
                ("minutes", ctypes.c_uint8), ("hours", ctypes.c_uint8),
                ("userbits", ctypes.c_uint8 * 4)]


class _BufferM(ctypes.Union):
    _fields_ = [("offset", ctypes.c_uint32), ("userptr", ctypes.c_ulong),
                ("planes", ctypes.c_void_p), ("fd", ctypes.c_int32)]


class Buffer(ctypes.Structure):              # struct v4l2_buffer
    _fields_ = [("index", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("bytesused", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("field", ctypes.c_uint32), ("timestamp", Timeval),
                ("timecode", Timecode), ("sequence", ctypes.c_uint32),
                ("memory", ctypes.c_uint32), ("m", _BufferM), ("length", ctypes.c_uint32),
                ("reserved2", ctypes.c_uint32), ("request_fd", ctypes.c_int32)]


class QueryExtCtrl(ctypes.Structure):        # struct v4l2_query_ext_ctrl
    _fields_ = [("id", ctypes.c_uint32), ("type", ctypes.c_uint32),
                ("name", ctypes.c_char * 32), ("minimum", ctypes.c_int64),
                ("maximum", ctypes.c_int64), ("step", ctypes.c_uint64),
                ("default_value", ctypes.c_int64), ("flags", ctypes.c_uint32),
                ("elem_size", ctypes.c_uint32), ("elems", ctypes.c_uint32),
                ("nr_of_dims", ctypes.c_uint32), ("dims", ctypes.c_uint32 * 4),
                ("reserved", ctypes.c_uint32 * 32)]


class _ExtControlValue(ctypes.Union):
    _pack_ = 1
    _fields_ = [("value", ctypes.c_int32), ("value64", ctypes.c_int64),
                ("ptr", ctypes.c_void_p)]


class ExtControl(ctypes.Structure):          # struct v4l2_ext_control (packed)
    _pack_ = 1
    _fields_ = [("id", ctypes.c_uint32), ("size", ctypes.c_uint32),
                ("reserved2", ctypes.c_uint32), ("u", _ExtControlValue)]


class ExtControls(ctypes.Structure):         # struct v4l2_ext_controls
    _fields_ = [("which", ctypes.c_uint32), ("count", ctypes.c_uint32),
                ("error_idx", ctypes.c_uint32), ("request_fd", ctypes.c_int32),
                ("reserved", ctypes.c_uint32), ("controls", ctypes.POINTER(ExtControl))]


class Fract(ctypes.Structure):
    _fields_ = [("numerator", ctypes.c_uint32), ("denominator", ctypes.c_uint32)]


class CaptureParm(ctypes.Structure):         # struct v4l2_captureparm
    _fields_ = [("capability", ctypes.c_uint32), ("capturemode", ctypes.c_uint32),
                ("timeperframe", Fract), ("extendedmode", ctypes.c_uint32),
                ("readbuffers", ctypes.c_uint32), ("reserved", ctypes.c_uint32 * 4)]


class _StreamParmUnion(ctypes.Union):
    _fields_ = [("capture", CaptureParm), ("raw_data", ctypes.c_uint8 * 200)]


class StreamParm(ctypes.Structure):          # struct v4l2_streamparm
    _fields_ = [("type", ctypes.c_uint32), ("parm", _StreamParmUnion)]


_RW = _IOC_READ | _IOC_WRITE
VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, ctypes.sizeof(Capability))
VIDIOC_G_FMT = _ioc(_RW, 4, ctypes.sizeof(Format))
VIDIOC_S_FMT = _ioc(_RW, 5, ctypes.sizeof(Format))
VIDIOC_REQBUFS = _ioc(_RW, 8, ctypes.sizeof(RequestBuffers))
VIDIOC_QUERYBUF = _ioc(_RW, 9, ctypes.sizeof(Buffer))
VIDIOC_QBUF = _ioc(_RW, 15, ctypes.sizeof(Buffer))
VIDIOC_DQBUF = _ioc(_RW, 17, ctypes.sizeof(Buffer))
VIDIOC_STREAMON = _ioc(_IOC_WRITE, 18, ctypes.sizeof(ctypes.c_int))
VIDIOC_STREAMOFF = _ioc(_IOC_WRITE, 19, ctypes.sizeof(ctypes.c_int))
VIDIOC_S_PARM = _ioc(_RW, 22, ctypes.sizeof(StreamParm))
VIDIOC_S_EXT_CTRLS = _ioc(_RW, 72, ctypes.sizeof(ExtControls))
VIDIOC_QUERY_EXT_CTRL = _ioc(_RW, 103, ctypes.sizeof(QueryExtCtrl))

CAP_VIDEO_CAPTURE, CAP_STREAMING, CAP_DEVICE_CAPS = 0x00000001, 0x04000000, 0x80000000
BUF_TYPE_VIDEO_CAPTURE, MEMORY_MMAP, FIELD_NONE = 1, 1, 1
BUF_FLAG_TIMESTAMP_MONOTONIC = 0x00002000
BUF_FLAG_TSTAMP_SRC_MASK, BUF_FLAG_TSTAMP_SRC_SOE = 0x00070000, 0x00010000
CTRL_FLAG_DISABLED, CTRL_FLAG_NEXT_CTRL = 0x0001, 0x80000000
CTRL_TYPE_INTEGER64 = 5
CTRL_WHICH_CUR_VAL = 0
# Standard control IDs (include/uapi/linux/v4l2-controls.h), for drivers that name them so.
CID_EXPOSURE = 0x00980900 + 17               # V4L2_CID_BASE + 17: in lines on sensor drivers
CID_GAIN = 0x00980900 + 19
CID_EXPOSURE_ABSOLUTE = 0x009A0900 + 2       # V4L2_CID_CAMERA_CLASS_BASE + 2: 100 us units
CID_ANALOGUE_GAIN = 0x009E0900 + 3           # V4L2_CID_IMAGE_SOURCE_CLASS_BASE + 3


# -- pixel formats -----------------------------------------------------------------------------
@dataclass(frozen=True)
class PixelLayout:
    """How a format's bytes hold its samples (the uAPI's pixfmt pages)."""
    name: str
    fourcc: int
    bits: int
    packing: str      # "u8", "u16le" (LSB-aligned, high bits zero), "csi2p10", "csi2p12"


PIXEL_FORMATS: dict[str, PixelLayout] = {layout.name: layout for layout in (
    PixelLayout("GREY", fourcc("GREY"), 8, "u8"),
    PixelLayout("Y10", fourcc("Y10 "), 10, "u16le"),     # pixfmt-yuv-luma: 10 bits in 16
    PixelLayout("Y12", fourcc("Y12 "), 12, "u16le"),
    PixelLayout("Y16", fourcc("Y16 "), 16, "u16le"),
    PixelLayout("Y10P", fourcc("Y10P"), 10, "csi2p10"),  # MIPI CSI-2 RAW10 packing
    PixelLayout("RG10", fourcc("RG10"), 10, "u16le"),    # pixfmt-srggb10: RGGB, 10 in 16
    PixelLayout("RG12", fourcc("RG12"), 12, "u16le"),
    PixelLayout("pRAA", fourcc("pRAA"), 10, "csi2p10"),  # pixfmt-srggb10p
    PixelLayout("pRCC", fourcc("pRCC"), 12, "csi2p12"),  # pixfmt-srggb12p
)}


def unpack(data: bytes | memoryview, layout: PixelLayout, width: int, height: int,
           bytesperline: int) -> NDArray[np.uint16]:
    """The samples of one frame as height x width uint16, exactly as the sensor gave them (no
    scaling to 8 bits); `bytesperline` may include padding at each row's end."""
    rows = np.frombuffer(data, np.uint8, count=bytesperline * height).reshape(height,
                                                                           bytesperline)
    if layout.packing == "u8":
        return rows[:, :width].astype(np.uint16)
    if layout.packing == "u16le":
        return rows[:, :2 * width].copy().view("<u2").astype(np.uint16)
    if layout.packing == "csi2p10":
        # Four samples in five bytes: bytes 0-3 hold bits 9..2, byte 4 bits 1..0 of each
        # (sample 0 in bits 1..0, sample 3 in bits 7..6).
        groups = rows[:, :width * 5 // 4].reshape(height, width // 4, 5).astype(np.uint16)
        low = groups[:, :, 4:5] >> np.array([0, 2, 4, 6], np.uint16) & 3
        return ((groups[:, :, :4] << 2) | low).reshape(height, width).astype(np.uint16)
    # csi2p12: two samples in three bytes: bytes 0-1 bits 11..4, byte 2 bits 3..0 (0 low nibble)
    groups = rows[:, :width * 3 // 2].reshape(height, width // 2, 3).astype(np.uint16)
    low = groups[:, :, 2:3] >> np.array([0, 4], np.uint16) & 0xF
    return ((groups[:, :, :2] << 4) | low).reshape(height, width).astype(np.uint16)


def control_name(name: bytes) -> str:
    """The name v4l2-ctl gives a control (its name2var): lower case, runs of other characters
    one underscore. "Exposure Time, Absolute" -> exposure_time_absolute."""
    out: list[str] = []
    gap = False
    for ch in name.decode("ascii", "replace"):
        if ch.isalnum():
            if gap and out:
                out.append("_")
            gap = False
            out.append(ch.lower())
        else:
            gap = True
    return "".join(out)
