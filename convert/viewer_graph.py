"""The viewer graph: the network ONNX wrapped, with onnx.helper alone (no torch, so it can be
rebuilt anywhere the network ONNX is), in every per-pixel step the viewer used to do on the CPU.

    raw sub-frames, dark, gain, scale, warp
      -> (raw - dark) * gain * scale            reflectance, paper white = 1, in sensor pixels
      -> bilinear warp of each plane (Gather)   the older sub-frames onto the newest, on a
                                                grid padded to the network's spatial multiple
      -> * from_reflectance                     the card's input mapping, 1 x C x H' x W'
      -> network                                `nir` -> `rgb`, unchanged
      -> crop to H x W (Slice)
      -> * to_srgb, clip [0, 1], floor(255 x + 0.5), H x W x 3     8-bit sRGB

Padding: H' and W' are H and W rounded up to the network's spatial multiple (a U-Net's
skip connections only line up on such sizes; 1080 is not a multiple of 16), computed in the
graph from the frame's dynamic shape. The pad is the replicated bottom row and right column of
the warped planes, as `cv2.copyMakeBorder(BORDER_REPLICATE)` of the classic path: the warp's
output grid is clamped to the frame before the displacement is applied, so the padded rows and
columns sample exactly what the last row and column do, at no extra cost.

Operators (all in the TensorRT ONNX parser's support matrix for 8.5, JetPack 5.1, and for
10.x, JetPack 6/7; onnx-tensorrt docs/operators.md, release/8.5-GA and 10.x): Unsqueeze, Concat,
Sub, Mul, Add, Reshape, Shape, Slice, Squeeze, Cast (FP32 <-> INT32), Range (INT32), Floor,
Min, Max (INT32), Gather (FP32), Clip (constant bounds), Transpose. The uint8 output's Cast is
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
# The operators this module adds, each listed as supported (with the types used here) in the
# ONNX parser's matrix of TensorRT 8.5 (onnx-tensorrt release/8.5-GA docs/operators.md) and of
# 10.x; the tests hold the built graph to this list.
TENSORRT_85_OPS = frozenset({
    "Unsqueeze", "Concat", "Sub", "Mul", "Add", "Reshape", "Shape", "Slice", "Squeeze", "Cast",
    "Range", "Floor", "Min", "Max", "Gather", "Clip", "Transpose"})


class _Graph:
    """Nodes and initializers under construction, every name prefixed."""

    def __init__(self):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._count = 0

    def const(self, value, dtype) -> str:
        name = self._name("const")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs) -> str:
        out = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out],
                                           name=self._name(op_type), **attrs))
        return out

    def _name(self, what: str) -> str:
        self._count += 1
        return f"{PREFIX}{what}_{self._count}"


@dataclass(frozen=True)
class _Frame:
    """The frame's size as INT32 scalars, and the output pixel grid (padded to the network's
    multiple, its pad rows and columns clamped onto the last)."""
    raw_shape: str       # INT64 [H, W]
    height: str
    width: str
    rows: str            # 1 x H' x 1, INT32
    cols: str            # 1 x 1 x W', INT32
    rows_f: str
    cols_f: str
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
    flat = _reflectance(g, wavelengths, zero_axis)
    frame = _frame_grid(g, wavelengths, spatial_multiple, zero_axis)
    aligned = _warped(g, flat, frame, len(wavelengths))
    # The card's input mapping, as the network was trained.
    f32 = np.float32
    mapped = g.op("Add", g.op("Mul", aligned, g.const(from_reflectance.scale, f32)),
                  g.const(from_reflectance.offset, f32))
    g.op("Unsqueeze", mapped, zero_axis, out=net_in)
    pre_nodes = list(g.nodes)
    g.nodes.clear()
    _to_srgb8(g, net_out, frame.raw_shape, to_srgb, output_dtype, zero_axis)
    inputs, output = _graph_io(wavelengths, output_dtype)
    graph = helper.make_graph(
        pre_nodes + list(network.graph.node) + g.nodes, "nightcolor_viewer", inputs, [output],
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
                   or t in viewer_io.input_names(wavelengths) or t == viewer_io.OUTPUT)
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

    rows = grid(height, [1, -1, 1])
    cols = grid(width, [1, 1, -1])
    rows_f = g.op("Cast", rows, to=TensorProto.FLOAT)
    cols_f = g.op("Cast", cols, to=TensorProto.FLOAT)
    return _Frame(raw_shape, height, width, rows, cols, rows_f, cols_f, one_i, zero_i)


def _warped(g: _Graph, flat: str, frame: _Frame, channels: int) -> str:
    """Each plane sampled bilinearly where its warp puts the output pixel: C x H' x W'."""
    f32, i32 = np.float32, np.int32
    one_i, zero_i = frame.one_i, frame.zero_i

    # Each plane's displacement from the output pixel, d = (M - I) [x y 1]^T: small numbers.
    def coefficient(r: int, c: int, minus_one: bool) -> str:
        m = g.op("Slice", viewer_io.WARP, g.const([r, c], np.int64),
                 g.const([r + 1, c + 1], np.int64), g.const([1, 2], np.int64))   # C x 1 x 1
        return g.op("Sub", m, g.const(1.0, f32)) if minus_one else m

    def displacement(r: int) -> str:
        terms = [g.op("Mul", coefficient(r, 0, r == 0), frame.cols_f),
                 g.op("Mul", coefficient(r, 1, r == 1), frame.rows_f)]
        return g.op("Add", g.op("Add", terms[0], terms[1]), coefficient(r, 2, False))

    def split(d: str, grid: str, limit: str) -> tuple[str, str, str]:
        """(lower index, upper index, weight of the upper), indices clamped to the frame."""
        whole = g.op("Floor", d)
        frac = g.op("Sub", d, whole)
        low = g.op("Add", grid, g.op("Cast", whole, to=TensorProto.INT32))
        last = g.op("Sub", limit, one_i)
        clamp = lambda i: g.op("Max", g.op("Min", i, last), zero_i)   # noqa: E731
        return clamp(low), clamp(g.op("Add", low, one_i)), frac

    x0, x1, fx = split(displacement(0), frame.cols, frame.width)
    y0, y1, fy = split(displacement(1), frame.rows, frame.height)
    plane_offset = g.op("Mul", g.const(np.arange(channels).reshape(-1, 1, 1), i32),
                        g.op("Mul", frame.height, frame.width))
    row0 = g.op("Add", g.op("Mul", y0, frame.width), plane_offset)
    row1 = g.op("Add", g.op("Mul", y1, frame.width), plane_offset)
    v00, v01, v10, v11 = (g.op("Gather", flat, g.op("Add", row, col), axis=0)
                          for row, col in ((row0, x0), (row0, x1), (row1, x0), (row1, x1)))
    one_f = g.const(1.0, f32)
    gx, gy = g.op("Sub", one_f, fx), g.op("Sub", one_f, fy)
    top = g.op("Add", g.op("Mul", v00, gx), g.op("Mul", v01, fx))
    bottom = g.op("Add", g.op("Mul", v10, gx), g.op("Mul", v11, fx))
    return g.op("Add", g.op("Mul", top, gy), g.op("Mul", bottom, fy))


def _to_srgb8(g: _Graph, net_out: str, raw_shape: str, to_srgb, output_dtype: str,
              zero_axis: str) -> None:
    """Back to the frame's H x W (the pad was only for the network), then the output mapping
    and 8-bit sRGB, as the display wants it: H x W x 3, into the graph's output."""
    f32 = np.float32
    cropped = g.op("Slice", net_out, g.const([0, 0], np.int64), raw_shape,
                   g.const([2, 3], np.int64))
    srgb = g.op("Add", g.op("Mul", cropped, g.const(to_srgb.scale, f32)),
                g.const(to_srgb.offset, f32))
    clipped = g.op("Clip", srgb, g.const(0.0, f32), g.const(1.0, f32))
    codes = g.op("Floor", g.op("Add", g.op("Mul", clipped, g.const(255.0, f32)),
                               g.const(0.5, f32)))
    if output_dtype == "uint8":
        hwc = g.op("Transpose", g.op("Squeeze", codes, zero_axis), perm=[1, 2, 0])
        g.op("Cast", hwc, to=TensorProto.UINT8, out=viewer_io.OUTPUT)
    else:
        g.op("Transpose", g.op("Squeeze", codes, zero_axis), perm=[1, 2, 0],
             out=viewer_io.OUTPUT)


def _graph_io(wavelengths, output_dtype: str) -> tuple[list[onnx.ValueInfoProto],
                                                       onnx.ValueInfoProto]:
    """The graph's inputs (raw planes, dark, gain, scale, warp) and its output."""
    channels = len(wavelengths)
    hw = ["H", "W"]
    inputs = [helper.make_tensor_value_info(viewer_io.raw_name(nm), TensorProto.FLOAT, hw)
              for nm in wavelengths]
    inputs += [helper.make_tensor_value_info(viewer_io.DARK, TensorProto.FLOAT, hw),
               helper.make_tensor_value_info(viewer_io.GAIN, TensorProto.FLOAT,
                                             [channels, *hw]),
               helper.make_tensor_value_info(viewer_io.SCALE, TensorProto.FLOAT,
                                             [channels, 1, 1]),
               helper.make_tensor_value_info(viewer_io.WARP, TensorProto.FLOAT,
                                             [channels, 2, 3])]
    out_type = TensorProto.UINT8 if output_dtype == "uint8" else TensorProto.FLOAT
    output = helper.make_tensor_value_info(viewer_io.OUTPUT, out_type, [*hw, 3])
    return inputs, output


def count_ops(model: onnx.ModelProto) -> set[str]:
    return {node.op_type for node in model.graph.node}
