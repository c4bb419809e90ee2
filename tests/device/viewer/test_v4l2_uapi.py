"""The V4L2 uAPI layer: struct sizes, ioctl numbers, FourCCs and control IDs against the kernel
header itself (compiled where a C compiler and linux/videodev2.h are installed), and the pixel
unpacking against the packing the uAPI pages define (written independently in the stand-in)."""
import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from device.viewer import v4l2_uapi as u
from tests.device.viewer.v4l2_standin import (DQBUF, FORMATS, QBUF, QUERY_EXT_CTRL, QUERYBUF,
                                              QUERYCAP, REQBUFS, S_EXT_CTRLS, S_FMT, S_PARM,
                                              STREAMOFF, STREAMON, line_bytes, pack)

HEADER = Path("/usr/include/linux/videodev2.h")
PROBE = r"""
#include <stdio.h>
#include <linux/videodev2.h>
#define P(x) printf(#x " %lu\n", (unsigned long)(x));
int main(void) {
  P(sizeof(struct v4l2_capability)) P(sizeof(struct v4l2_format))
  P(sizeof(struct v4l2_requestbuffers)) P(sizeof(struct v4l2_buffer))
  P(sizeof(struct v4l2_query_ext_ctrl)) P(sizeof(struct v4l2_ext_control))
  P(sizeof(struct v4l2_ext_controls)) P(sizeof(struct v4l2_streamparm))
  P(VIDIOC_QUERYCAP) P(VIDIOC_S_FMT) P(VIDIOC_REQBUFS) P(VIDIOC_QUERYBUF) P(VIDIOC_QBUF)
  P(VIDIOC_DQBUF) P(VIDIOC_STREAMON) P(VIDIOC_STREAMOFF) P(VIDIOC_S_PARM)
  P(VIDIOC_S_EXT_CTRLS) P(VIDIOC_QUERY_EXT_CTRL)
  P(V4L2_PIX_FMT_Y10) P(V4L2_PIX_FMT_Y12) P(V4L2_PIX_FMT_Y16) P(V4L2_PIX_FMT_Y10P)
  P(V4L2_PIX_FMT_SRGGB10) P(V4L2_PIX_FMT_SRGGB12) P(V4L2_PIX_FMT_SRGGB10P)
  P(V4L2_PIX_FMT_SRGGB12P) P(V4L2_PIX_FMT_GREY)
  P(V4L2_CID_EXPOSURE) P(V4L2_CID_GAIN) P(V4L2_CID_EXPOSURE_ABSOLUTE) P(V4L2_CID_ANALOGUE_GAIN)
  P(V4L2_CAP_VIDEO_CAPTURE) P(V4L2_CAP_STREAMING) P(V4L2_CAP_DEVICE_CAPS)
  P(V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC) P(V4L2_BUF_FLAG_TSTAMP_SRC_SOE)
  P(V4L2_CTRL_FLAG_NEXT_CTRL) P(V4L2_CTRL_TYPE_INTEGER64)
  return 0;
}
"""


@pytest.fixture(scope="module")
def header_values(tmp_path_factory) -> dict[str, int]:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or not HEADER.exists():
        pytest.skip("no C compiler or linux/videodev2.h here (apt-get install gcc "
                    "linux-libc-dev) to check the uAPI layer against")
    folder = tmp_path_factory.mktemp("uapi")
    (folder / "probe.c").write_text(PROBE)
    subprocess.run([cc, "-o", str(folder / "probe"), str(folder / "probe.c")], check=True)
    out = subprocess.run([str(folder / "probe")], capture_output=True, text=True, check=True)
    return {name: int(value) for name, value in (line.rsplit(" ", 1)
                                                  for line in out.stdout.splitlines())}


def test_struct_sizes_and_ioctl_numbers_are_the_headers(header_values):
    sizes = {"v4l2_capability": u.Capability, "v4l2_format": u.Format,
             "v4l2_requestbuffers": u.RequestBuffers, "v4l2_buffer": u.Buffer,
             "v4l2_query_ext_ctrl": u.QueryExtCtrl, "v4l2_ext_control": u.ExtControl,
             "v4l2_ext_controls": u.ExtControls, "v4l2_streamparm": u.StreamParm}
    for name, struct in sizes.items():
        assert ctypes.sizeof(struct) == header_values[f"sizeof(struct {name})"], name
    ours = {"VIDIOC_QUERYCAP": u.VIDIOC_QUERYCAP, "VIDIOC_S_FMT": u.VIDIOC_S_FMT,
            "VIDIOC_REQBUFS": u.VIDIOC_REQBUFS, "VIDIOC_QUERYBUF": u.VIDIOC_QUERYBUF,
            "VIDIOC_QBUF": u.VIDIOC_QBUF, "VIDIOC_DQBUF": u.VIDIOC_DQBUF,
            "VIDIOC_STREAMON": u.VIDIOC_STREAMON, "VIDIOC_STREAMOFF": u.VIDIOC_STREAMOFF,
            "VIDIOC_S_PARM": u.VIDIOC_S_PARM, "VIDIOC_S_EXT_CTRLS": u.VIDIOC_S_EXT_CTRLS,
            "VIDIOC_QUERY_EXT_CTRL": u.VIDIOC_QUERY_EXT_CTRL}
    for name, number in ours.items():
        assert number == header_values[name], name
    # ... and the stand-in's literal numbers are the header's too
    standin = [QUERYCAP, S_FMT, REQBUFS, QUERYBUF, QBUF, DQBUF, STREAMON, STREAMOFF, S_PARM,
               S_EXT_CTRLS, QUERY_EXT_CTRL]
    assert standin == [header_values[name] for name in ours]


def test_fourccs_control_ids_and_flags_are_the_headers(header_values):
    names = {"Y10": "Y10", "Y12": "Y12", "Y16": "Y16", "Y10P": "Y10P", "RG10": "SRGGB10",
             "RG12": "SRGGB12", "pRAA": "SRGGB10P", "pRCC": "SRGGB12P", "GREY": "GREY"}
    for ours, theirs in names.items():
        assert u.PIXEL_FORMATS[ours].fourcc == header_values[f"V4L2_PIX_FMT_{theirs}"], ours
    assert u.CID_EXPOSURE == header_values["V4L2_CID_EXPOSURE"]
    assert u.CID_GAIN == header_values["V4L2_CID_GAIN"]
    assert u.CID_EXPOSURE_ABSOLUTE == header_values["V4L2_CID_EXPOSURE_ABSOLUTE"]
    assert u.CID_ANALOGUE_GAIN == header_values["V4L2_CID_ANALOGUE_GAIN"]
    assert (u.CAP_VIDEO_CAPTURE, u.CAP_STREAMING, u.CAP_DEVICE_CAPS) == tuple(
        header_values[f"V4L2_CAP_{n}"] for n in ("VIDEO_CAPTURE", "STREAMING", "DEVICE_CAPS"))
    assert u.BUF_FLAG_TIMESTAMP_MONOTONIC == header_values["V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC"]
    assert u.BUF_FLAG_TSTAMP_SRC_SOE == header_values["V4L2_BUF_FLAG_TSTAMP_SRC_SOE"]
    assert u.CTRL_FLAG_NEXT_CTRL == header_values["V4L2_CTRL_FLAG_NEXT_CTRL"]
    assert u.CTRL_TYPE_INTEGER64 == header_values["V4L2_CTRL_TYPE_INTEGER64"]


@pytest.mark.parametrize("name", sorted(u.PIXEL_FORMATS))
def test_unpack_gives_back_every_sample_the_format_packed_with_padded_lines(name):
    layout = u.PIXEL_FORMATS[name]
    bits, packing = FORMATS[layout.fourcc]
    rng = np.random.default_rng(3)
    samples = rng.integers(0, 2**bits, (6, 16), dtype=np.uint32).astype(np.uint16)
    samples[0, :4] = [0, 1, 2**bits - 1, 2**(bits - 1)]        # the range's ends and middle
    bpl = line_bytes(16, packing) + 24                            # padding after each line
    got = u.unpack(pack(samples, packing, bpl), layout, 16, 6, bpl)
    assert got.dtype == np.uint16 and got.shape == (6, 16)
    np.testing.assert_array_equal(got, samples)


def test_packed_raw10_bytes_are_the_uapi_example():
    # pixfmt-srggb10p / Y10P: bytes 0-3 the high 8 bits of 4 pixels, byte 4 their low 2 bits,
    # pixel 0 in bits 1..0. Pixels 0x3FF, 0x001, 0x2AA, 0x155 -> FF 00 AA 55 | 11 10 10 01.
    data = bytes([0xFF, 0x00, 0xAA, 0x55, 0b01_10_01_11])
    got = u.unpack(data, u.PIXEL_FORMATS["Y10P"], 4, 1, 5)
    assert got.tolist() == [[0x3FF, 0x001, 0x2AA, 0x155]]


def test_control_names_are_v4l2_ctls():
    assert u.control_name(b"Exposure Time, Absolute") == "exposure_time_absolute"
    assert u.control_name(b"Trigger Mode") == "trigger_mode"
    assert u.control_name(b"Analogue Gain") == "analogue_gain"
    assert u.control_name(b"  Frame Rate ") == "frame_rate"
