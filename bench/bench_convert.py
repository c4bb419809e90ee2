"""Convert benchmark: ONNX size, parity and onnxruntime CPU time per 720p frame, FP32 vs FP16.

For each model, converts a checkpoint with `convert --fp16` (the real pipeline: export, parity
checks, FP16 pass), then times one 1 x C x 720 x 1280 frame through onnxruntime's CPU provider
for the FP32 and the FP16 ONNX in the same run, and prints both with their ratio.

The CPU provider has no FP16 kernels for most ops on x86, so it runs the FP16 graph through
inserted Casts: the FP16 column here says what a CPU fallback costs, not what the Jetson's GPU
gains (there TensorRT runs FP16 on tensor cores).

Run: .venv/bin/python bench/bench_convert.py [ckpt.pt ...] [--models edge linear]
     [--size 720x1280] [--repeats 3] [--threads 0]
Without checkpoints, each --models entry is built at its default (paper/Jetson) width with
random weights: sizes and times do not depend on the weights; parity figures are indicative.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from convert.pipeline import Options, convert_checkpoint
from device.engines.model_card import load_model_card
from train.checkpoint import save_checkpoint
from train.data import FROM_REFLECTANCE, TO_SRGB
from train.models import build_model


def random_checkpoint(name: str, folder: Path) -> Path:
    torch.manual_seed(0)
    model = build_model({"name": name}).eval()
    path = folder / f"{name}.pt"
    save_checkpoint(path, model, {
        "model": model.config, "inputs": [718, 777, 807], "truth_mode": "human",
        "normalisation": {"input": dict(FROM_REFLECTANCE), "output": dict(TO_SRGB)},
        "spatial_multiple": model.spatial_multiple})
    return path


def ms_per_frame(onnx_path: Path, frame: np.ndarray, repeats: int, threads: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: frame}
    session.run(None, feed)                       # warm-up: allocations, kernel selection
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, feed)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="*", type=Path, help="trained checkpoints")
    parser.add_argument("--models", nargs="+", default=["edge", "linear"],
                        help="registry names to build with random weights when no checkpoint "
                             "is given (default: edge linear)")
    parser.add_argument("--size", default="720x1280", help="frame HxW (default 720x1280)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime threads (0 = all)")
    args = parser.parse_args()
    h, w = (int(v) for v in args.size.split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoints = args.checkpoints or [random_checkpoint(n, folder) for n in args.models]
        rows = []
        for ckpt in checkpoints:
            out = convert_checkpoint(ckpt, Options(fp16=True, out_dir=folder), log=lambda _: None)
            multiple = load_model_card(out.card).spatial_multiple
            fh, fw = (-(-d // multiple) * multiple for d in (h, w))   # padded as the viewer does
            frame = np.random.default_rng(0).uniform(-1, 1, (1, 3, fh, fw)).astype(np.float32)
            fp32_ms = ms_per_frame(out.onnx, frame, args.repeats, args.threads)
            fp16_ms = ms_per_frame(out.fp16_onnx, frame, args.repeats, args.threads)
            n = out.numbers
            rows.append((ckpt.stem, n["onnx_bytes"], n["fp16_onnx_bytes"],
                         n["fp32_max_abs_error"], n["fp16_psnr_db"], fp32_ms, fp16_ms, (fh, fw)))

    print(f"onnxruntime {ort.__version__} CPU, {args.threads or 'all'} threads, "
          f"median of {args.repeats} after a warm-up, frame 1x3x{h}x{w} (padded to the multiple)")
    header = (f"{'model':10} {'FP32 MB':>8} {'FP16 MB':>8} {'size':>6} {'max|err|':>9} "
              f"{'PSNR dB':>8} {'FP32 ms':>9} {'FP16 ms':>9} {'FP16/FP32':>9}")
    print(header)
    print("-" * len(header))
    for name, b32, b16, err, psnr, t32, t16, _ in rows:
        print(f"{name:10} {b32 / 1e6:8.2f} {b16 / 1e6:8.2f} {b16 / b32:6.2f} {err:9.1e} "
              f"{psnr:8.1f} {t32:9.1f} {t16:9.1f} {t16 / t32:9.2f}")


if __name__ == "__main__":
    main()
