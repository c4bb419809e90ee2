"""16-bit PNG files of a capture set: atomic writes, cheap header checks, checked reads.

Opening a capture set of hundreds of images must not decode them all, so `png_info` reads
only the 8-byte signature, the IHDR chunk (size, bit depth, colour type) and the last 12
bytes, which in a complete PNG are the IEND chunk: a file cut short fails that test.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from device.common.files import atomic_output
from device.common.errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> samples per pixel (palette: none)


@dataclass(frozen=True)
class PngInfo:
    height: int
    width: int
    bit_depth: int
    channels: int


def png_info(path: Path) -> PngInfo:
    """Size, bit depth and channels from the header; UserError if the file is not a whole PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(33)
            f.seek(0, 2)
            length = f.tell()
            f.seek(max(0, length - len(_IEND)))
            tail = f.read()
    except FileNotFoundError:
        raise UserError(f"{path}: file is missing.") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}).") from None
    if len(head) < 33 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise UserError(f"{path}: not a PNG file.")
    if tail != _IEND:
        raise UserError(f"{path}: PNG is truncated (no IEND chunk at its end).")
    width, height, bit_depth, colour_type = struct.unpack(">IIBB", head[16:26])
    return PngInfo(height, width, bit_depth, _CHANNELS.get(colour_type, 1))


def write_png16(path: Path, image: np.ndarray) -> None:
    """Write a uint16 mono (HxW) or RGB (HxWx3, RGB order) image atomically."""
    if image.dtype != np.uint16:
        raise TypeError(f"{path}: expected uint16 pixels, got {image.dtype}")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # OpenCV stores BGR
    with atomic_output(path) as tmp:
        if not cv2.imwrite(str(tmp), image):
            raise UserError(f"{path}: OpenCV could not write the PNG.")


def read_png16(path: Path, channels: int) -> np.ndarray:
    """Decode a 16-bit PNG as HxW (channels=1) or HxWx3 RGB (channels=3) uint16."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"{path}: PNG is corrupt and could not be decoded.")
    got = 1 if image.ndim == 2 else image.shape[2]
    if image.dtype != np.uint16 or got != channels:
        raise UserError(f"{path}: expected a 16-bit PNG with {channels} channel(s), "
                        f"found {image.dtype} with {got}.")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if channels == 3 else image
