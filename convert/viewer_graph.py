"""The viewer graph: the network ONNX wrapped, with onnx.helper alone (no torch, so it can be
rebuilt anywhere the network ONNX is), in every per-pixel step the viewer used to do on the CPU.

    raw sub-frames, dark, gain, scale, warp
      -> (raw - dark) * gain * scale            reflectance, paper white = 1, in sensor pixels
      -> bilinear warp of each plane (Gather)   the older sub-frames onto the newest, on a
                                                grid padded to the network's spatial multiple
      -> * from_reflectance                     the card's input mapping, 1 x C x H' x W'
      -> network                                `nir` -> `rgb`, unchanged
      -> crop to H x W (Slice)
      -> temporal filter (below)                blended with the previous frame where still
      -> * to_srgb, clip [0, 1], floor(255 x + 0.5), H x W x 3     8-bit sRGB

The temporal filter is recursive and motion-adaptive, in the manner of an ISP's temporal noise
reduction (and NVIDIA VPI's TNR, which weighs the previous frame against the current by how
much they differ for the noise expected at the scene's light): the state (`state` in,
`state_next` out, kept in the engine between frames) holds the previous frame's filtered
reflectance and filtered network output, and is first warped onto this frame by `state_warp`
(the alignment's estimate of the motion between the two frames' newest sub-frames, with the
same bilinear Gather as the sub-frames). Per pixel, the reflectance's difference from the
state is measured in units of the sensor's noise (`noise` at white, scaled as shot noise by the
state's reflectance), averaged over the planes and a POOL x POOL neighbourhood (AveragePool);
a mean square up to STILL (a still pixel reads about 1, more at edges where the alignment's
own jitter adds) keeps the history's full weight (`history`), from MOVED on (a difference of
about 2.2 noise in every plane) none, linear
between; where CUT_SOME of the frame or more moved (a scene cut) the weight falls for all of it,
to none from CUT_ALL (a pixel where the old and the new scene agree would otherwise keep the
old output: the network saw its surroundings). The output is then output + w (state - output),
the state likewise: a still print is averaged over about 1 / (1 - history) frames, anything
that moved or changed shows at once.
It filters the network's output, not its input: the shipped model was trained at one noise
level, and fed denoised reflectance it is much worse (docs/video.md), while averaging its
outputs removes the shimmer the noise causes. `history` 0 gives this frame alone (the first
frame, a reset, the filter switched off): exactly the per-frame output.

Padding: H' and W' are H and W rounded up to the network's spatial multiple (a U-Net's
skip connections only line up on such sizes; 1080 is not a multiple of 16), computed in the
graph from the frame's dynamic shape. The pad is the replicated bottom row and right column of
the warped planes, as `cv2.copyMakeBorder(BORDER_REPLICATE)` of the classic path: the warp's
output grid is clamped to the frame before the displacement is applied, so the padded rows and
columns sample exactly what the last row and column do, at no extra cost.

Operators (all in the TensorRT ONNX parser's support matrix for 8.5, JetPack 5.1, and for
10.x, JetPack 6/7; onnx-tensorrt docs/operators.md, release/8.5-GA and 10.x): Unsqueeze, Concat,
Sub, Mul, Add, Reshape, Shape, Slice, Squeeze, Cast (FP32 <-> INT32), Range (INT32), Floor,
Min, Max (INT32, FP32), Gather (FP32), Clip (constant bounds), Transpose; the temporal filter adds
Div, ReduceMean (axes as an attribute: opset 17), AveragePool (2D, FP32) and Identity (the
float32 output's last step). The uint8
output's Cast is
not in 8.5's matrix (its Cast lists FP32, FP16, INT32, INT8, BOOL; UINT8 I/O arrived with later
versions, where TensorRT converts float to uint8 by truncation): for 8.5 build the graph with
`output_dtype="float32"` (the same integral codes, cast on the CPU).

Why Gather and not GridSample: one graph for every JetPack, and the warp then reproduces
`cv2.warpAffine(INTER_LINEAR, BORDER_REPLICATE)`, the reference: bilinear at the exact source
coordinate (OpenCV 5; 4.x rounded it to 1/32 px), neighbours clamped to the frame (replicated
border).
Coordinates are split into the integer output pixel plus a small float displacement, and
indices are computed in INT32, so a TensorRT build that runs these layers in FP16 still lands on
the right pixels (FP16 cannot hold 1280 with any fraction).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from device.engines import viewer_io

PREFIX = "viewer/"      # every tensor this module adds; checked against the network's names
TEMPORAL = "temporal/"  # the temporal filter's nodes are PREFIX + TEMPORAL + ... (bench_jetson)
# The operators this module adds, each listed as supported (with the types used here) in the
# ONNX parser's matrix of TensorRT 8.5 (onnx-tensorrt release/8.5-GA docs/operators.md) and of
# 10.x; the tests hold the built graph to this list.
TENSORRT_85_OPS = frozenset({
    "Unsqueeze", "Concat", "Sub", "Mul", "Add", "Reshape", "Shape", "Slice", "Squeeze", "Cast",
    "Range", "Floor", "Min", "Max", "Gather", "Clip", "Transpose",
    "Div", "ReduceMean", "AveragePool", "Identity"})
# The temporal filter's constants (see the module docstring): mean squared difference, in units
# of the noise's variance, up to which a pixel counts as still and from which as moved; the
# neighbourhood it is averaged over; the reflectance below which the noise stops falling with
# the signal (read noise and dark pixels).
STILL, MOVED = 3.0, 6.0
POOL = 5
# A scene change: where this share of the frame or more moved, the whole frame starts over
# (none of it is blended); from CUT_SOME, less and less of it.
CUT_SOME, CUT_ALL = 0.3, 0.6
NOISE_FLOOR_REFLECTANCE = 0.05


class _Graph:
    """Nodes and initializers under construction, every name prefixed."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.scope = ""          # a part's nodes are named PREFIX + scope (TEMPORAL: the filter)
        self._count = 0

    def const(self, value, dtype) -> str:
        name = self._name("const")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        out = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out],
                                           name=self._name(self.scope + op_type), **attrs))
        return out

    def _name(self, what: str) -> str:
        self._count += 1
        return f"{PREFIX}{what}_{self._count}"


@dataclass(frozen=True)
class _Grid:
    """Output pixel positions as INT32 and float: rows 1 x H' x 1, columns 1 x 1 x W'."""
    rows: str
    cols: str
    rows_f: str
    cols_f: str


@dataclass(frozen=True)
class _Frame:
    """The frame's size as INT32 scalars, and two output pixel grids: the network's (padded to
    its multiple, the pad rows and columns clamped onto the last) and the frame's own (H x W,
    the temporal filter's)."""
    raw_shape: str       # INT64 [H, W]
    height: str
    width: str
    padded: _Grid
    plain: _Grid
    one_i: str
    zero_i: str


def build_viewer_graph(network: onnx.ModelProto, wavelengths, from_reflectance, to_srgb,
                       output_dtype: str = "uint8", *,
                       spatial_multiple: int) -> onnx.ModelProto:
    """The viewer graph around `network` (input `nir`, output `rgb`, float32 at both edges:
    the FP32 or the FP16 network ONNX). `from_reflectance` and `to_srgb` are the card's
    Affine mappings; `spatial_multiple` the card's, what the network's H and W must divide by."""
    net_in, net_out = _check_network(network, wavelengths, output_dtype, spatial_multiple)
    g = _Graph()
    zero_axis = g.const([0], np.int64)
    channels = len(wavelengths)
    flat = _reflectance(g, wavelengths, zero_axis)
    frame = _frame_grid(g, wavelengths, spatial_multiple, zero_axis)
    aligned = _warped(g, flat, frame, frame.padded, _plane_warp(g), channels)
    # The card's input mapping, as the network was trained.
    f32 = np.float32
    mapped = g.op("Add", g.op("Mul", aligned, g.const(from_reflectance.scale, f32)),
                  g.const(from_reflectance.offset, f32))
    g.op("Unsqueeze", mapped, zero_axis, out=net_in)
    pre_nodes = list(g.nodes)
    g.nodes.clear()
    start, hw_axes = g.const([0, 0], np.int64), g.const([1, 2], np.int64)
    reflectance = g.op("Slice", aligned, start, frame.raw_shape, hw_axes)      # C x H x W
    rgb = g.op("Squeeze", g.op("Slice", net_out, start, frame.raw_shape,
                               g.const([2, 3], np.int64)), zero_axis)          # 3 x H x W
    filtered = _temporal(g, reflectance, rgb, frame, channels, zero_axis)
    _to_srgb8(g, filtered, to_srgb, output_dtype)
    inputs, outputs = _graph_io(wavelengths, output_dtype)
    graph = helper.make_graph(
        pre_nodes + list(network.graph.node) + g.nodes, "nightcolor_viewer", inputs, outputs,
        initializer=list(network.graph.initializer) + g.inits)
    model = helper.make_model(graph, opset_imports=list(network.opset_import),
                              producer_name="nightcolor convert (viewer graph)")
    model.ir_version = network.ir_version
    onnx.checker.check_model(model, full_check=True)
    return model


def _check_network(network: onnx.ModelProto, wavelengths, output_dtype: str,
                   spatial_multiple: int) -> tuple[str, str]:
    """The network's input and output names, once the arguments and its names allow wrapping."""
    if output_dtype not in viewer_io.OUTPUT_DTYPES:
        raise ValueError(f"output_dtype must be one of {viewer_io.OUTPUT_DTYPES}")
    if not isinstance(spatial_multiple, int) or spatial_multiple < 1:
        raise ValueError("spatial_multiple must be a positive integer")
    (net_in,), (net_out,) = network.graph.input, network.graph.output
    taken = {t for n in network.graph.node for t in (*n.input, *n.output)}
    taken |= {i.name for i in network.graph.initializer}
    clash = sorted(t for t in taken if t.startswith(PREFIX)
                   or t in viewer_io.input_names(wavelengths)
                   or t in viewer_io.output_names())
    if clash:
        raise ValueError(f"the network already uses tensor names {clash[:3]}")
    return net_in.name, net_out.name


def _reflectance(g: _Graph, wavelengths, zero_axis: str) -> str:
    """Reflectance in sensor pixels, C x H x W flattened: dark and gain belong to the sensor,
    so they apply first."""
    planes = [g.op("Unsqueeze", viewer_io.raw_name(nm), zero_axis) for nm in wavelengths]
    stack = g.op("Concat", *planes, axis=0) if len(wavelengths) > 1 else planes[0]
    reflectance = g.op("Mul", g.op("Mul", g.op("Sub", stack, viewer_io.DARK), viewer_io.GAIN),
                       viewer_io.SCALE)
    return g.op("Reshape", reflectance, g.const([-1], np.int64))


def _frame_grid(g: _Graph, wavelengths, spatial_multiple: int, zero_axis: str) -> _Frame:
    """Frame size as INT32 scalars, and the output pixel grid."""
    i32 = np.int32
    raw_shape = g.op("Shape", viewer_io.raw_name(wavelengths[0]))          # INT64 [H, W]
    shape = g.op("Cast", raw_shape, to=TensorProto.INT32)
    height = g.op("Slice", shape, g.const([0], np.int64), g.const([1], np.int64))
    width = g.op("Slice", shape, g.const([1], np.int64), g.const([2], np.int64))
    one_i, zero_i = g.const(1, i32), g.const(0, i32)
    multiple_i = g.const(spatial_multiple, i32)

    def padded(size: str) -> str:
        """`size` rounded up to the multiple, in INT32 without Div (not in the list): Range(0,
        size, multiple) has ceil(size / multiple) elements, so its length times the multiple."""
        steps = g.op("Range", zero_i, g.op("Squeeze", size, zero_axis), multiple_i)
        return g.op("Mul", g.op("Cast", g.op("Shape", steps), to=TensorProto.INT32), multiple_i)

    def grid(size: str, axes: list[int]) -> str:
        """0 .. padded(size) - 1 clamped to size - 1: the pad rows/columns repeat the last."""
        positions = g.op("Range", zero_i, g.op("Squeeze", padded(size), zero_axis), one_i)
        return g.op("Reshape", g.op("Min", positions, g.op("Sub", size, one_i)),
                    g.const(axes, np.int64))

    def plain(size: str, axes: list[int]) -> str:
        positions = g.op("Range", zero_i, g.op("Squeeze", size, zero_axis), one_i)
        return g.op("Reshape", positions, g.const(axes, np.int64))

    def both(rows: str, cols: str) -> _Grid:
        return _Grid(rows, cols, g.op("Cast", rows, to=TensorProto.FLOAT),
                     g.op("Cast", cols, to=TensorProto.FLOAT))

    padded_grid = both(grid(height, [1, -1, 1]), grid(width, [1, 1, -1]))
    plain_grid = both(plain(height, [1, -1, 1]), plain(width, [1, 1, -1]))
    return _Frame(raw_shape, height, width, padded_grid, plain_grid, one_i, zero_i)


def _plane_warp(g: _Graph):
    """Coefficient (r, c) of each plane's `warp` (C x 2 x 3) as C x 1 x 1."""
    def coefficient(r: int, c: int) -> str:
        return g.op("Slice", viewer_io.WARP, g.const([r, c], np.int64),
                    g.const([r + 1, c + 1], np.int64), g.const([1, 2], np.int64))
    return coefficient


def _state_warp(g: _Graph):
    """Coefficient (r, c) of `state_warp` (2 x 3), one for every plane of the state: 1 x 1."""
    def coefficient(r: int, c: int) -> str:
        return g.op("Slice", viewer_io.STATE_WARP, g.const([r, c], np.int64),
                    g.const([r + 1, c + 1], np.int64), g.const([0, 1], np.int64))
    return coefficient


def _warped(g: _Graph, flat: str, frame: _Frame, grid: _Grid, coefficient,
            planes: int = 0) -> str:
    """Each of the `planes` H x W planes of `flat` (one after another) sampled bilinearly
    where the warp (`coefficient(r, c)`, broadcasting over the planes) puts each pixel of
    `grid`: planes x H' x W'. With `planes` 0, `flat` is (H x W) x K, pixels with K values
    each that one warp moves together (the filter's state): one index per pixel fetches all
    K, and the result is H' x W' x K."""
    f32 = np.float32
    one_i, zero_i = frame.one_i, frame.zero_i

    # Each plane's displacement from the output pixel, d = (M - I) [x y 1]^T: small numbers.
    def term(r: int, c: int) -> str:
        m = coefficient(r, c)
        return g.op("Sub", m, g.const(1.0, f32)) if r == c else m

    def displacement(r: int) -> str:
        terms = [g.op("Mul", term(r, 0), grid.cols_f), g.op("Mul", term(r, 1), grid.rows_f)]
        return g.op("Add", g.op("Add", terms[0], terms[1]), term(r, 2))

    def split(d: str, positions: str, limit: str) -> tuple[str, str, str]:
        """(lower index, upper index, weight of the upper), indices clamped to the frame."""
        whole = g.op("Floor", d)
        frac = g.op("Sub", d, whole)
        low = g.op("Add", positions, g.op("Cast", whole, to=TensorProto.INT32))
        last = g.op("Sub", limit, one_i)
        clamp = lambda i: g.op("Max", g.op("Min", i, last), zero_i)   # noqa: E731
        return clamp(low), clamp(g.op("Add", low, one_i)), frac

    x0, x1, fx = split(displacement(0), grid.cols, frame.width)
    y0, y1, fy = split(displacement(1), grid.rows, frame.height)
    row0, row1 = (g.op("Mul", y, frame.width) for y in (y0, y1))
    if planes:
        plane_offset = g.op("Mul", g.const(np.arange(planes).reshape(-1, 1, 1), np.int32),
                            g.op("Mul", frame.height, frame.width))
        row0, row1 = (g.op("Add", row, plane_offset) for row in (row0, row1))
    else:             # 1 x H' x W' indices fetch 1 x H' x W' x K: weights get a last axis
        last_axis = g.const([3], np.int64)
        fx, fy = (g.op("Unsqueeze", w, last_axis) for w in (fx, fy))
    v00, v01, v10, v11 = (g.op("Gather", flat, g.op("Add", row, col), axis=0)
                          for row, col in ((row0, x0), (row0, x1), (row1, x0), (row1, x1)))
    one_f = g.const(1.0, f32)
    gx, gy = g.op("Sub", one_f, fx), g.op("Sub", one_f, fy)
    top = g.op("Add", g.op("Mul", v00, gx), g.op("Mul", v01, fx))
    bottom = g.op("Add", g.op("Mul", v10, gx), g.op("Mul", v11, fx))
    sampled = g.op("Add", g.op("Mul", top, gy), g.op("Mul", bottom, fy))
    return sampled if planes else g.op("Squeeze", sampled, g.const([0], np.int64))


def _temporal(g: _Graph, reflectance: str, rgb: str, frame: _Frame, channels: int,
              zero_axis: str) -> str:
    """The recursive, motion-adaptive filter (module docstring): this frame's reflectance
    (C x H x W) and network output (3 x H x W) blended with the state warped onto them; writes
    `state_next` and returns the filtered output, H x W x 3. The state is H x W x (C + 3),
    channels last, so that one index per pixel fetches all of a pixel's state (a third of the
    memory traffic of a gather per plane)."""
    f32 = np.float32
    g.scope = TEMPORAL
    flat_state = g.op("Reshape", viewer_io.STATE,
                      g.const([-1, viewer_io.state_channels(channels)], np.int64))
    state = _warped(g, flat_state, frame, frame.plain, _state_warp(g))      # H x W x (C+3)
    last = g.const([2], np.int64)
    past_x = g.op("Slice", state, g.const([0], np.int64), g.const([channels], np.int64), last)
    past_rgb = g.op("Slice", state, g.const([channels], np.int64),
                    g.const([channels + viewer_io.RGB_CHANNELS], np.int64), last)
    now_x, now_rgb = (g.op("Transpose", t, perm=[1, 2, 0]) for t in (reflectance, rgb))
    noise = g.op("Reshape", viewer_io.NOISE, g.const([1, 1, channels], np.int64))
    # Squared difference over the noise's variance there (shot noise: variance in proportion
    # to the reflectance, down to a floor), mean over the planes, then over a neighbourhood.
    diff = g.op("Sub", now_x, past_x)
    variance = g.op("Mul", g.op("Mul", noise, noise),
                    g.op("Max", past_x, g.const(NOISE_FLOOR_REFLECTANCE, f32)))
    ratio = g.op("ReduceMean", g.op("Div", g.op("Mul", diff, diff),
                                    g.op("Max", variance, g.const(1e-12, f32))),
                 axes=[2], keepdims=1)                                       # H x W x 1
    image = g.op("Unsqueeze", g.op("Squeeze", ratio, last), g.const([0, 1], np.int64))
    local = g.op("Reshape", g.op("AveragePool", image, kernel_shape=[POOL, POOL],
                                 pads=[POOL // 2] * 4, count_include_pad=0),
                 g.op("Shape", ratio))                                       # H x W x 1
    still = g.op("Clip", g.op("Mul", g.op("Sub", g.const(MOVED, f32), local),
                              g.const(1.0 / (MOVED - STILL), f32)),
                 g.const(0.0, f32), g.const(1.0, f32))
    # A cut moves most of the frame; where the two prints happen to agree within the noise
    # the network's output still differs (it sees their surroundings), so all starts over.
    moved = g.op("Sub", g.const(1.0, f32), g.op("ReduceMean", still, axes=[0, 1, 2],
                                                keepdims=1))
    scene = g.op("Clip", g.op("Mul", g.op("Sub", g.const(CUT_ALL, f32), moved),
                              g.const(1.0 / (CUT_ALL - CUT_SOME), f32)),
                 g.const(0.0, f32), g.const(1.0, f32))                      # 1 x 1 x 1
    weight = g.op("Mul", g.op("Mul", viewer_io.HISTORY, scene), still)      # H x W x 1

    def blend(now: str, past: str) -> str:
        return g.op("Add", now, g.op("Mul", weight, g.op("Sub", past, now)))

    filtered = blend(now_rgb, past_rgb)
    g.op("Concat", blend(now_x, past_x), filtered, axis=2, out=viewer_io.STATE_NEXT)
    g.scope = ""
    return filtered


def _to_srgb8(g: _Graph, rgb: str, to_srgb, output_dtype: str) -> None:
    """The network's output (H x W x 3, cropped and filtered) to 8-bit sRGB, as the display
    wants it, into the graph's output."""
    f32 = np.float32
    srgb = g.op("Add", g.op("Mul", rgb, g.const(to_srgb.scale, f32)),
                g.const(to_srgb.offset, f32))
    clipped = g.op("Clip", srgb, g.const(0.0, f32), g.const(1.0, f32))
    codes = g.op("Floor", g.op("Add", g.op("Mul", clipped, g.const(255.0, f32)),
                               g.const(0.5, f32)))
    if output_dtype == "uint8":
        g.op("Cast", codes, to=TensorProto.UINT8, out=viewer_io.OUTPUT)
    else:
        g.op("Identity", codes, out=viewer_io.OUTPUT)


def _graph_io(wavelengths, output_dtype: str) -> tuple[list[onnx.ValueInfoProto],
                                                       list[onnx.ValueInfoProto]]:
    """The graph's inputs (viewer_io.input_names) and outputs (sRGB, the filter's state)."""
    channels = len(wavelengths)
    hw = ["H", "W"]
    state = [*hw, viewer_io.state_channels(channels)]
    float_inputs = {viewer_io.DARK: hw, viewer_io.GAIN: [channels, *hw],
                    viewer_io.SCALE: [channels, 1, 1], viewer_io.WARP: [channels, 2, 3],
                    viewer_io.NOISE: [channels, 1, 1], viewer_io.HISTORY: [1, 1, 1],
                    viewer_io.STATE_WARP: [2, 3], viewer_io.STATE: state}
    inputs = [helper.make_tensor_value_info(viewer_io.raw_name(nm), TensorProto.FLOAT, hw)
              for nm in wavelengths]
    inputs += [helper.make_tensor_value_info(name, TensorProto.FLOAT, float_inputs[name])
               for name in viewer_io.input_names(wavelengths)[channels:]]
    out_type = TensorProto.UINT8 if output_dtype == "uint8" else TensorProto.FLOAT
    outputs = [helper.make_tensor_value_info(viewer_io.OUTPUT, out_type, [*hw, 3]),
               helper.make_tensor_value_info(viewer_io.STATE_NEXT, TensorProto.FLOAT, state)]
    return inputs, outputs


def count_ops(model: onnx.ModelProto) -> set[str]:
    return {node.op_type for node in model.graph.node}
