"""bench/bench_jetson.py's arithmetic: what it counts as DRAM traffic in a graph, the roofline,
the pipelined CPU stage, and reading `device bench --json`."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "bench_jetson.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_jetson", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_jetson"] = module     # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["bench_jetson"]


def tiny_unet_like():
    """conv(3->4)+relu, maxpool, conv(4->4), resize x2, concat with the first, conv(8->3)."""
    w = lambda name, o, i: numpy_helper.from_array(np.ones((o, i, 3, 3), np.float32), name)  # noqa: E731
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("MaxPool", ["r1"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "w2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Resize", ["c2", "", "scales"], ["up"], mode="nearest"),
             helper.make_node("Concat", ["up", "r1"], ["cat"], axis=1),
             helper.make_node("Conv", ["cat", "w3"], ["y"], pads=[1, 1, 1, 1])]
    inits = [w("w1", 4, 3), w("w2", 4, 4), w("w3", 3, 8),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_dram_bytes_count_each_kept_tensor_once_written_and_once_read(bench):
    h, w = 8, 16
    px = h * w
    weights = 4 * 3 * 9 + 4 * 4 * 9 + 3 * 8 * 9 + 4
    expected = (3 * px * 4                      # the FP32 input, read once
                + 4 * px * 2 * 2                 # relu(conv1): conv1 alone is fused away
                + 4 * px // 4 * 2 * 2            # maxpool
                + 4 * px // 4 * 2 * 2            # conv2 (no activation after it)
                + 4 * px * 2 * 2                 # resize; the concat is elided
                + 3 * px * 2 * 2                 # the output
                + weights * 2)
    assert bench.materialised_bytes(tiny_unet_like(), h, w) == expected


def test_roofline_takes_the_slower_roof_and_the_pipeline_the_slower_stage(bench):
    module = bench.JetsonModule("m", fp16_dense_tflops=10.0, bandwidth_gbs=100.0, cpu_cores=6,
                                cpu_ghz=1.5)
    # 60 GFLOP at 10 TFLOPS x 0.25 = 24 ms; 0.5 GB at 100 GB/s x 0.5 = 10 ms.
    assert bench.gpu_ms(60e9, 0.5e9, module, 0.25, 0.5) == pytest.approx((24.0, "compute"))
    assert bench.gpu_ms(6e9, 0.5e9, module, 0.25, 0.5) == pytest.approx((10.0, "memory"))
    assert bench.projected_fps(24.0, 10.0) == pytest.approx((1000 / 24, "gpu"))
    assert bench.projected_fps(10.0, 40.0) == pytest.approx((25.0, "cpu"))
    # A slower clock and less work per clock both lengthen the CPU stage.
    ratio = bench.HOST_CPU_GHZ / 1.5 / bench.A78AE_WORK_PER_CLOCK_VS_HOST
    assert bench.cpu_ms_on_module(8.0, module) == pytest.approx(8.0 * ratio)


def test_device_bench_json_is_read_only_where_the_fused_path_reports(bench):
    report = '{"paths": {"fused": {"cpu_ms_per_frame": 6.5}, "classic": {"cpu_ms_per_frame": 52}}}'
    assert bench.fused_cpu_ms(report) == 6.5
    assert bench.fused_cpu_ms('{"paths": {"classic": {"cpu_ms_per_frame": 52}}}') is None
    assert bench.fused_cpu_ms("device bench: simulated rig 1280x720 ...") is None


def test_dense_fp16_from_sparse_int8_matches_the_clock_arithmetic(bench):
    """Orin Nano 8GB: 40 sparse INT8 TOPS / 4 equals 32 tensor cores x 256 FP16 FMA x 2 x
    0.625 GHz to within 3 %: the derivation and the datasheet agree."""
    assert bench.ORIN_NANO_8GB.fp16_dense_tflops == pytest.approx(32 * 256 * 2 * 0.625e9 / 1e12,
                                                                  rel=0.03)


def test_a_pointwise_chain_is_one_kernel_and_the_rest_stays_in_dram(bench):
    """kept_in_dram: a chain of pointwise layers keeps nothing between them; what a Gather or
    a pool makes or reads, and the outputs, stay (a reshape stands for its input)."""
    nodes = [helper.make_node("Mul", ["x", "k"], ["a"]),
             helper.make_node("Add", ["a", "k"], ["b"]),             # a: fused away
             helper.make_node("Reshape", ["b", "shape"], ["flat"]),   # a view of b
             helper.make_node("Gather", ["flat", "idx"], ["g"], axis=0),
             helper.make_node("Clip", ["g"], ["c"]),
             helper.make_node("Sub", ["c", "k"], ["y"])]              # c: fused away
    graph = helper.make_graph(
        nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4]),
                         helper.make_tensor_value_info("idx", TensorProto.INT32, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [numpy_helper.from_array(np.float32(2.0), "k"),
         numpy_helper.from_array(np.array([-1], np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    kept = bench.kept_in_dram(model)
    assert {"b", "idx", "g", "y"} <= kept and not {"a", "c", "flat"} & kept


@pytest.mark.slow
def test_the_temporal_filter_is_counted_on_its_own(bench):
    """On the shipped viewer graph: the filter's layers read the state once per tap through one
    index per pixel (4 taps x (C + 3) floats in, the state out), at least that much DRAM
    traffic, and less than every tensor counted (the unfused bound)."""
    layers = bench.viewer_layers_per_px()
    f, w = layers["filter"], layers["wrapper"]
    taps = 4 * (3 + 3) * 4 * 2                 # four gathered state values, written and read
    assert taps < f.bytes < f.unfused_bytes and 0 < w.bytes < w.unfused_bytes
    assert 100 < f.flops < 1000                 # elementwise work: ~0.3 % of the network's
