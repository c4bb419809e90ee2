"""PROJECTION, not a measurement: color frames per second of the viewer on Jetson Orin modules,
from what is counted and measured here combined with published hardware figures.

Run: .venv/bin/python bench/bench_jetson.py [--models edge unet linear]
        [--sizes 1280x720 1920x1080] [--cpu-ms MS] [--bench-frames 30]

Per model (train's registry, default widths: `edge` base 16 is the shipped model) and
resolution it counts, on this machine:
- FLOPs per pixel: torch's FlopCounterMode on a real forward pass, the count bench_models.py
  and the docs use (train.models.flops), BatchNorm folded as deployed;
- activation bytes per pixel: the exported ONNX (convert's own export: BN folded, onnxslim)
  with the input fixed to the frame size and ONNX shape inference run over it. Every tensor
  the engine must keep in DRAM counts its elements x 2 bytes (FP16) x 2 (written once, read
  once); a Conv's output read only by the activation after it is not counted (TensorRT fuses
  the activation into the convolution) and a Concat's output is not counted again (TensorRT
  writes its inputs straight into the concatenated buffer). The FP32 input is read once (4 B
  per value), the FP16 weights once per frame. On-chip reuse (L2) is ignored: an upper bound;
- the viewer graph's own layers around the network (normalisation, the warp of the older
  sub-frames, the temporal filter with the warp of its state, 8-bit sRGB), counted on the
  shipped model's viewer graph (its card in device/assets): one FLOP per element of every
  layer's output; DRAM bytes for the tensors TensorRT must keep in memory, at 4 bytes (FP32,
  as built) written once and read once: those a non-pointwise layer makes or reads (Gather,
  AveragePool, ReduceMean, Slice, Concat, Transpose) and the graph's outputs, while a chain of
  pointwise layers (Add, Mul, Clip...) is one fused kernel whose intermediates stay in
  registers (TensorRT's pointwise fusion; reshapes are views). Every tensor counted instead
  ("unfused") is the upper bound, printed beside it. The temporal filter is reported on its
  own;
- CPU ms per frame of the viewer's remaining CPU work: `python -m device bench --width W
  --height H --json`, key paths.fused.cpu_ms_per_frame, or `--cpu-ms` given by hand.

It projects, per Jetson module (MODULES below), a roofline for the GPU:
    gpu_ms = max(FLOPs / (peak FP16 x compute efficiency), bytes / (bandwidth x memory efficiency))
and a CPU stage scaled from this machine's core to the module's, pipelined with the GPU:
    fps = 1000 / max(gpu_ms, cpu_ms_on_module)
at the low and the high end of the efficiency ranges.

Every assumption is a named constant in the block below, with its source, so a measurement on
a real Jetson (`trtexec --loadEngine=... ` for the GPU, `device bench` for the CPU) replaces it
in one place.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from device.common.command_line import run_cli  # noqa: E402
from device.common.errors import UserError  # noqa: E402

# =============================================================================================
# Assumptions. Each one is replaced by a measurement on the module when there is one.
# =============================================================================================


@dataclass(frozen=True)
class JetsonModule:
    name: str
    fp16_dense_tflops: float   # tensor cores, dense (no 2:4 sparsity), FP16
    bandwidth_gbs: float       # DRAM, shared by CPU and GPU
    cpu_cores: int             # Arm Cortex-A78AE
    cpu_ghz: float


# Dense FP16 tensor throughput is derived from the GPU's sparse INT8 TOPS that NVIDIA quotes:
# on Ampere tensor cores INT8 runs at twice the FP16 rate and 2:4 sparsity doubles either
# (NVIDIA blog "Accelerating Inference with Sparsity Using the NVIDIA Ampere Architecture and
# NVIDIA TensorRT", table 1: FP16 312 dense / 624 sparse, INT8 624 dense / 1248 sparse), so
# dense FP16 TFLOPS = GPU sparse INT8 TOPS / 4.
SPARSE_INT8_PER_DENSE_FP16 = 4.0

# Orin Nano 8GB: 1024 CUDA cores, 32 tensor cores, GPU max 625 MHz, 40 sparse / 20 dense INT8
# TOPS (the 4GB module is quoted at half), 128-bit LPDDR5 68 GB/s, 6-core Cortex-A78AE at
# 1.5 GHz: NVIDIA Jetson Orin Nano series datasheet (stored copy:
# https://www.scribd.com/document/673174036/Orin-nano-datasheet ) and NVIDIA's Jetson Orin
# page. 40 / 4 = 10 TFLOPS (= 32 tensor cores x 256 FP16 FMA x 2 x 0.625 GHz = 10.2).
ORIN_NANO_8GB = JetsonModule("Orin Nano 8GB", 40 / SPARSE_INT8_PER_DENSE_FP16, 68.0, 6, 1.5)

# Orin Nano 8GB in JetPack 6.2's "Super" mode (MAXN SUPER): same silicon, GPU 1020 MHz,
# 67 sparse INT8 TOPS, 102 GB/s, CPU 1.7 GHz: NVIDIA's announcement "NVIDIA Jetson Orin Nano
# Developer Kit Gets a 'Super' Boost" and the Super developer kit datasheet, as summarised at
# https://www.brojogopalsapui.com/ai-foundations/sub_contents/AI_hardware/jetson_orin_nano_light.html
# (the stored page; it names those two NVIDIA documents as its source).
ORIN_NANO_8GB_SUPER = JetsonModule("Orin Nano 8GB Super", 67 / SPARSE_INT8_PER_DENSE_FP16,
                                   102.0, 6, 1.7)

# Orin NX 16GB: the same 8-SM, 32-tensor-core GPU as Orin Nano 8GB at 918 MHz (deviceQuery on
# an Orin NX 16GB: "GPU Max Clock rate: 918 MHz", 8 SMs x 128 cores,
# https://gist.github.com/atinfinity/8cede915acda05d0ff427c09604735dd ), so 40 x 918 / 625 =
# 58.8 sparse INT8 TOPS on the GPU (the "100 TOPS" headline adds its two DLAs, which TensorRT
# would use only if told to). NOT FOUND in a stored source's text: the 102.4 GB/s (128-bit
# LPDDR5) and the 8 cores at 2.0 GHz are NVIDIA's published figures as commonly quoted; check
# them against the Orin NX series datasheet DS-10712-001 before relying on them.
ORIN_NX_16GB = JetsonModule("Orin NX 16GB", 40 * 918 / 625 / SPARSE_INT8_PER_DENSE_FP16,
                            102.4, 8, 2.0)

# AGX Orin 64GB: 16 SMs, 2048 CUDA cores, 64 tensor cores, 170 sparse INT8 TOPS on the GPU
# (275 with the DLAs), 12 Cortex-A78AE cores: NVIDIA Jetson AGX Orin Series Technical Brief
# (stored summary: http://mzph.cn/web/30785.shtml ). NOT FOUND in a stored source's text: the
# 204.8 GB/s (256-bit LPDDR5) and the 2.2 GHz CPU clock, NVIDIA's published figures as
# commonly quoted; check them against the AGX Orin datasheet.
AGX_ORIN_64GB = JetsonModule("AGX Orin 64GB", 170 / SPARSE_INT8_PER_DENSE_FP16, 204.8, 12, 2.2)

MODULES = (ORIN_NANO_8GB, ORIN_NANO_8GB_SUPER, ORIN_NX_16GB, AGX_ORIN_64GB)

# Fraction of the FP16 tensor peak a TensorRT FP16 convolutional network reaches on Orin,
# end to end, from published results, with FLOPs per image from Ultralytics' YOLOv8 table
# (https://docs.ultralytics.com/models/yolov8 : s 28.6, m 78.9, l 165.2 GFLOPs at 640x640):
# - Orin Nano 8GB, TensorRT FP16, yolov8s 11.4 ms, yolov8m 23.6 ms
#   (https://github.com/the0807/YOLOv8-ONNX-TensorRT ): 28.6 GFLOP / 11.4 ms / 10.2 TFLOPS
#   = 0.25; 78.9 / 23.6 / 10.2 = 0.33;
# - Orin NX, TensorRT, yolov8m 44.5/s, yolov8l 32.5/s (Roboflow inference benchmarks,
#   https://docs.roboflow.com/reference/inference/inference-python/benchmarks ):
#   3.5 and 5.4 TFLOPS, 0.24 and 0.36 of 14.7.
# Those timings include pre/post-processing and small layers, so the range is conservative
# for a network whose every layer runs at full frame resolution.
COMPUTE_EFFICIENCY = (0.24, 0.36)

# Fraction of DRAM bandwidth reached by streaming kernels. NOT FOUND in a stored source: an
# assumption (typical of LPDDR5 systems), and the GPU shares the bus with the CPU and camera.
MEMORY_EFFICIENCY = (0.60, 0.80)

# This machine's CPU, whose per-frame CPU work is scaled to the module's core: AMD EPYC
# (family 25 model 1: Zen 3) under KVM, nominal 2.45 GHz (lscpu's BogoMIPS / 2; the boost
# clock the VM gets is unknown).
HOST_CPU_GHZ = 2.45
# Work per clock of a Cortex-A78AE core relative to this Zen 3 core. NOT FOUND in a stored
# source: an assumption. The viewer's remaining CPU work (the fused path's prepare, align, feed
# and postprocess stages) runs on one core per frame, so CPU ms on the module = host ms x
# HOST_CPU_GHZ / module GHz / this.
A78AE_WORK_PER_CLOCK_VS_HOST = 0.75

# =============================================================================================

SIZES = ((1280, 720), (1920, 1080))
BYTES_FP16 = 2
BYTES_FP32_IO = 4
FUSED_ACTIVATIONS = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid"}
CONV_OPS = {"Conv", "ConvTranspose"}


def cpu_ms_on_module(host_ms: float, module: JetsonModule) -> float:
    return host_ms * HOST_CPU_GHZ / module.cpu_ghz / A78AE_WORK_PER_CLOCK_VS_HOST


def gpu_ms(flops: float, nbytes: float, module: JetsonModule, compute_eff: float,
           memory_eff: float) -> tuple[float, str]:
    """Roofline time of one frame and which roof binds."""
    compute = flops / (module.fp16_dense_tflops * 1e12 * compute_eff) * 1e3
    memory = nbytes / (module.bandwidth_gbs * 1e9 * memory_eff) * 1e3
    return (compute, "compute") if compute >= memory else (memory, "memory")


def projected_fps(gpu: float, cpu: float) -> tuple[float, str]:
    """Pipelined: the GPU works on frame N while the CPU prepares frame N+1."""
    return (1e3 / gpu, "gpu") if gpu >= cpu else (1e3 / cpu, "cpu")


def materialised_bytes(model, height: int, width: int) -> int:
    """DRAM bytes one frame moves through the graph's tensors (see the module docstring)."""
    import onnx
    from onnx import TensorProto, numpy_helper, shape_inference

    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph_input = model.graph.input[0]
    dims = graph_input.type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, dims[1].dim_value, height, width)):
        dim.Clear()
        dim.dim_value = value
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    shapes = {}
    for info in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input):
        t = info.type.tensor_type
        shapes[info.name] = (t.elem_type, [d.dim_value if d.HasField("dim_value") else None
                                           for d in t.shape.dim])
    consumers: dict[str, list] = {}
    for node in inferred.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def elements(name: str) -> int:
        elem_type, shape = shapes[name]
        if elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16):
            return 0
        if any(d is None for d in shape):
            raise UserError(f"shape inference left {name} without a size at {width}x{height}.")
        return int(np.prod(shape, dtype=np.int64))

    total = elements(graph_input.name) * BYTES_FP32_IO
    for node in inferred.graph.node:
        if node.op_type in ("Constant", "Concat"):
            continue
        for name in node.output:
            users = consumers.get(name, [])
            if node.op_type in CONV_OPS and len(users) == 1 and \
                    users[0].op_type in FUSED_ACTIVATIONS:
                continue
            total += elements(name) * BYTES_FP16 * 2
    weights = sum(numpy_helper.to_array(t).size for t in inferred.graph.initializer)
    return total + weights * BYTES_FP16


@dataclass(frozen=True)
class PerPixel:
    flops: float
    bytes: float
    unfused_bytes: float = 0.0


POINTWISE = {"Add", "Sub", "Mul", "Div", "Clip", "Max", "Min", "Floor", "Cast", "Relu", "Sqrt",
             "Reciprocal", "Neg", "Abs"}
VIEWS = {"Reshape", "Squeeze", "Unsqueeze", "Identity"}


def kept_in_dram(model) -> set[str]:
    """The tensors of `model` that TensorRT keeps in memory, by the rule in the docstring:
    made or read by a layer that is neither pointwise nor a view, or a graph output (a view's
    output stands for its input)."""
    alias: dict[str, str] = {}
    for node in model.graph.node:
        if node.op_type in VIEWS:
            alias[node.output[0]] = alias.get(node.input[0], node.input[0])
    kept = {alias.get(o.name, o.name) for o in model.graph.output}
    for node in model.graph.node:
        if node.op_type in POINTWISE or node.op_type in VIEWS:
            continue
        kept.update(node.output)
        kept.update(alias.get(i, i) for i in node.input)
    return kept


def viewer_layers_per_px(size: tuple[int, int] = (64, 80)) -> dict[str, PerPixel]:
    """FLOPs and DRAM bytes per pixel of the viewer graph's layers around the network: the
    temporal filter ("filter") and the rest ("wrapper"), counted by running the shipped viewer
    graph at a small frame with every such layer's output kept (the counts scale with pixels;
    the few per-frame constants are negligible)."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, shape_inference

    from convert.viewer import feeds_for, random_samples
    from convert.viewer_graph import PREFIX, TEMPORAL
    from device.engines.model_card import load_model_card
    from device.simulated.presets import SHIPPED_MODEL

    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    model = shape_inference.infer_shapes(onnx.load(str(card.viewer_onnx)))
    kept = kept_in_dram(model)          # before the counted tensors become outputs below
    types = {v.name: v.type.tensor_type.elem_type for v in model.graph.value_info}
    parts = {"filter": PREFIX + TEMPORAL, "wrapper": PREFIX}
    named = {}
    for node in model.graph.node:
        part = next((k for k, prefix in parts.items() if node.name.startswith(prefix)), None)
        if part is not None and node.op_type not in ("Shape", "Constant"):
            named.update({out: part for out in node.output if out in types})
    model.graph.output.extend(helper.make_tensor_value_info(n, types[n], None) for n in named)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = feeds_for(random_samples(card.wavelengths_nm, size=size)[0], card.wavelengths_nm)
    values = session.run(list(named), feeds)
    pixels = size[0] * size[1]
    totals = {part: PerPixel(0.0, 0.0) for part in parts}
    for name, value in zip(named, values):
        part, elements = named[name], np.asarray(value).size
        moved = elements * (4 if types[name] in (TensorProto.FLOAT, TensorProto.INT32) else 1) * 2
        t = totals[part]
        totals[part] = PerPixel(t.flops + elements / pixels,
                                t.bytes + (moved if name in kept else 0) / pixels,
                                t.unfused_bytes + moved / pixels)
    return totals


@dataclass(frozen=True)
class Workload:
    model: str
    width: int
    height: int
    flops_per_px: float
    bytes_per_px: float

    @property
    def pixels(self) -> int:
        return self.width * self.height


def count_workloads(names: list[str], sizes: list[tuple[int, int]]) -> list[Workload]:
    import torch  # noqa: F401  (train's registry needs it)

    from convert.export import MIN_OPSET, export_onnx
    from train.models import build_model
    from train.models.flops import flops_per_pixel
    from train.models.fold import fold_batchnorm

    workloads = []
    for name in names:
        model = build_model({"name": name}).eval()
        channels, multiple = model.config["in_channels"], model.spatial_multiple
        flops = flops_per_pixel(fold_batchnorm(model), channels)
        graph = export_onnx(model, channels, MIN_OPSET)
        for width, height in sizes:
            h, w = (-(-d // multiple) * multiple for d in (height, width))
            nbytes = materialised_bytes(graph, h, w)
            workloads.append(Workload(name, width, height, flops, nbytes / (h * w)))
    return workloads


def device_bench_cpu_ms(width: int, height: int, frames: int) -> tuple[float | None, str]:
    """The fused path's CPU ms per color frame from `device bench --json`; (None, why) when the
    command or the key is missing."""
    command = [sys.executable, "-m", "device", "bench", "--width", str(width), "--height",
               str(height), "--frames", str(frames), "--json"]
    shown = " ".join(["python", *command[1:]])
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return None, f"`{shown}` failed ({why})"
    ms = fused_cpu_ms(proc.stdout)
    return (ms, shown) if ms is not None else \
        (None, f"`{shown}` printed no paths.fused.cpu_ms_per_frame")


def fused_cpu_ms(bench_json: str) -> float | None:
    """paths.fused.cpu_ms_per_frame of `device bench --json`'s output, None where absent."""
    try:
        return float(json.loads(bench_json)["paths"]["fused"]["cpu_ms_per_frame"])
    except (ValueError, KeyError, TypeError):
        return None


def host_cpu_ms(args, width: int, height: int) -> tuple[float, str]:
    if args.cpu_ms is not None:
        # Given for 1280x720; the per-pixel CPU work scales with the frame's pixel count.
        return args.cpu_ms * width * height / (1280 * 720), "--cpu-ms (given, scaled by pixels)"
    ms, source = device_bench_cpu_ms(width, height, args.bench_frames)
    if ms is None:
        raise UserError(f"{source}, so this machine's CPU time per frame is unknown; pass "
                        f"--cpu-ms MS, the viewer's CPU ms per 1280x720 color frame outside the "
                        f"engine measured here.")
    return ms, source


def fmt_range(low: float, high: float, digits: int = 0) -> str:
    return f"{low:.{digits}f}–{high:.{digits}f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["edge", "unet", "linear"])
    parser.add_argument("--sizes", nargs="+", default=[f"{w}x{h}" for w, h in SIZES],
                        help="frame sizes WxH (default 1280x720 1920x1080)")
    parser.add_argument("--cpu-ms", type=float, default=None,
                        help="instead of running `device bench --json`: the viewer's CPU ms "
                             "per 1280x720 color frame outside the engine, measured on this "
                             "machine (scaled by pixels to other sizes)")
    parser.add_argument("--bench-frames", type=int, default=30,
                        help="color frames per `device bench` run (default 30)")
    args = parser.parse_args()
    try:
        sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
        if any(len(s) != 2 or min(s) < 1 for s in sizes):
            raise ValueError
    except ValueError:
        raise UserError(f"--sizes {' '.join(args.sizes)}: give each size as WxH, "
                        f"e.g. 1280x720.") from None

    cpu = {size: host_cpu_ms(args, *size) for size in sizes}
    workloads = count_workloads(args.models, sizes)
    layers = viewer_layers_per_px()
    extra = PerPixel(sum(p.flops for p in layers.values()), sum(p.bytes for p in layers.values()))

    print("PROJECTION, not a measurement: roofline of published Orin figures x counts and CPU "
          "times from this machine (assumptions and sources: bench/bench_jetson.py).")
    print(f"efficiency: compute {fmt_range(*COMPUTE_EFFICIENCY, 2)} of dense FP16 peak, memory "
          f"{fmt_range(*MEMORY_EFFICIENCY, 2)} of DRAM bandwidth; CPU: {HOST_CPU_GHZ} GHz Zen 3 "
          f"here, A78AE work per clock x{A78AE_WORK_PER_CLOCK_VS_HOST}")
    for (w, h), (ms, source) in cpu.items():
        print(f"CPU here at {w}x{h}: {ms:.1f} ms per color frame ({source})")
    f, w = layers["filter"], layers["wrapper"]
    print(f"the viewer graph's layers around the network, per pixel (every model, counted in "
          f"the GPU ms below): temporal filter {f.flops:.0f} FLOP, {f.bytes:.0f} B "
          f"({f.unfused_bytes:.0f} B unfused); the rest {w.flops:.0f} FLOP, {w.bytes:.0f} B "
          f"({w.unfused_bytes:.0f} B unfused)")
    print()
    print("| model | frame | kFLOP/px | act. B/px | GFLOP/frame | MB/frame | module | GPU ms "
          "| CPU ms | fps (low–high) | bound |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for load in workloads:
        flops = (load.flops_per_px + extra.flops) * load.pixels
        nbytes = (load.bytes_per_px + extra.bytes) * load.pixels
        host_ms = cpu[(load.width, load.height)][0]
        for module in MODULES:
            slow, bound_slow = gpu_ms(flops, nbytes, module, COMPUTE_EFFICIENCY[0],
                                      MEMORY_EFFICIENCY[0])
            fast, _ = gpu_ms(flops, nbytes, module, COMPUTE_EFFICIENCY[1], MEMORY_EFFICIENCY[1])
            cpu_ms = cpu_ms_on_module(host_ms, module)
            fps_low, stage = projected_fps(slow, cpu_ms)
            fps_high, _ = projected_fps(fast, cpu_ms)
            bound = bound_slow if stage == "gpu" else "CPU"
            print(f"| {load.model} | {load.width}x{load.height} | "
                  f"{(load.flops_per_px + extra.flops) / 1e3:.1f} "
                  f"| {load.bytes_per_px + extra.bytes:.0f} | {flops / 1e9:.1f} "
                  f"| {nbytes / 1e6:.0f} "
                  f"| {module.name} | {fmt_range(fast, slow, 1)} | {cpu_ms:.1f} "
                  f"| **{fmt_range(fps_low, fps_high, 1)}** | {bound} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("bench_jetson.py", main))
