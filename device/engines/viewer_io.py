"""The viewer graph's inputs and output: the contract between `convert` (which builds the graph)
and the viewer (which feeds it), so neither spells a tensor name of its own.

Per color frame the viewer feeds:
- `raw_<nm>` (one per wavelength, in the card's order): H x W float32 raw sensor values of the
  sub-frame taken under that LED, in the camera's own pixel grid (not warped: the graph warps
  after normalising, because dark and gain are properties of sensor pixels);
- `scale`: C x 1 x 1 float32 per-sub-frame factor (1 when calibrated; 1 / the brightest paper
  when uncalibrated);
- `warp`: C x 2 x 3 float32, for each plane the affine map from an output pixel (x, y) to where
  it lies in that plane (identity for the newest sub-frame), as `cv2.warpAffine` with
  WARP_INVERSE_MAP reads it;
- `noise`: C x 1 x 1 float32, the sensor noise at paper white (reflectance 1) of each plane's
  sub-frame, from its exposure (device.viewer.feeds): what the temporal filter measures a
  difference against;
- `history`: 1 x 1 x 1 float32, the temporal filter's weight of the previous frame where
  nothing moved: 0 shows this frame alone (the first frame, after a reset, the filter off);
- `state_warp`: 2 x 3 float32, where each output pixel lies in the previous color frame.
Resident (uploaded once, kept until the calibration changes):
- `dark`: H x W float32 dark frame (or the live all-off sub-frame with a dark phase);
- `gain`: C x H x W float32 per-pixel white gain, 1 / (white - dark).
Recurrent (kept in the engine, on the device, between frames; RECURRENT):
- `state` in, `state_next` out: H x W x (C + 3) float32, the filtered reflectance and network
  output of the previous color frame (channels last: one gather index per pixel fetches all).
  The engine feeds each frame's `state_next` back as the next frame's `state` without a copy
  to the host; the viewer feeds `state` itself (zeros) only to start over.
Output: `srgb`, H x W x 3 uint8 sRGB (or float32 holding the same integral codes where the
TensorRT version has no uint8 output, see convert/viewer_graph.py).

Raw values come in as float32, not the camera's uint16: TensorRT has no 16-bit integer tensor
type in any version (the ONNX parser's data types for 8.5: DOUBLE, FLOAT32, FLOAT16, INT8, BOOL
with limited INT32/INT64; 10.x adds BFLOAT16, INT64, FP8, INT4, UINT8; onnx-tensorrt
docs/operators.md), so the one conversion per new sub-frame happens on the CPU (~0.2 ms at
1280x720).
"""
from __future__ import annotations

import numpy as np

RAW_PREFIX = "raw_"
DARK, GAIN, SCALE, WARP = "dark", "gain", "scale", "warp"
NOISE, HISTORY, STATE_WARP = "noise", "history", "state_warp"
STATE, STATE_NEXT = "state", "state_next"
OUTPUT = "srgb"
RESIDENT = (DARK, GAIN)
RECURRENT = {STATE: STATE_NEXT}      # input fed from the previous run's output, on the device
OUTPUT_DTYPES = ("uint8", "float32")
RGB_CHANNELS = 3


def raw_name(nm: int) -> str:
    return f"{RAW_PREFIX}{int(nm)}"


def input_names(wavelengths) -> tuple[str, ...]:
    return (*(raw_name(nm) for nm in wavelengths), DARK, GAIN, SCALE, WARP, NOISE, HISTORY,
            STATE_WARP, STATE)


def output_names() -> tuple[str, ...]:
    return (OUTPUT, STATE_NEXT)


def state_channels(channels: int) -> int:
    """The filter's state: each plane's filtered reflectance, then the filtered network output."""
    return channels + RGB_CHANNELS


def state_shape(channels: int, height: int, width: int) -> tuple[int, int, int]:
    return height, width, state_channels(channels)


def input_shapes(channels: int, height: int, width: int) -> dict[str, tuple[int, ...]]:
    """Each input's shape for one frame of `height` x `width` (keys without the raw_ names,
    which all take (height, width)): what a TensorRT optimisation profile needs per input."""
    return {RAW_PREFIX: (height, width), DARK: (height, width),
            GAIN: (channels, height, width), SCALE: (channels, 1, 1), WARP: (channels, 2, 3),
            NOISE: (channels, 1, 1), HISTORY: (1, 1, 1), STATE_WARP: (2, 3),
            STATE: (height, width, state_channels(channels))}


def identity_warps(channels: int) -> np.ndarray:
    return np.repeat(np.eye(2, 3, dtype=np.float32)[None], channels, axis=0)
