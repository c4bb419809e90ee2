"""Model benchmark: FLOPs per pixel (counted by torch's FlopCounterMode) and PyTorch CPU time
per 512 x 512 frame for every registered model, side by side in one run, with edge/unet ratios.

Run: .venv/bin/python bench/bench_models.py [ckpt.pt ...] [--size 512] [--repeats 3]
     [--threads 0] [--models linear unet edge]
Without checkpoints, each model is built at its default width (paper / Jetson) with random
weights: FLOPs and time do not depend on the weights. unet-gan's generator is unet.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from train.checkpoint import load_checkpoint
from train.models import build_model
from train.models.flops import flops_per_pixel
from train.models.fold import fold_batchnorm


def time_frame(model, channels: int, size: int, repeats: int) -> float:
    """Median ms of one 1 x C x size x size forward (after one warm-up)."""
    x = torch.rand(1, channels, size, size) * 2 - 1
    times = []
    with torch.inference_mode():
        model(x)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", nargs="*", help="checkpoints (default: models at default widths)")
    parser.add_argument("--models", nargs="+", default=["linear", "unet", "edge"])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    models = []
    for path in args.ckpt:
        model, config = load_checkpoint(path)
        models.append((f"{config['model']['name']} ({Path(path).parent.name})", model,
                       config["model"]))
    if not args.ckpt:
        for name in args.models:
            model = build_model({"name": name}).eval()
            models.append((name, model, model.config))

    rows = []
    for label, model, cfg in models:
        model = fold_batchnorm(model)   # as deployed: BN folded into the convs
        size = args.size - args.size % model.spatial_multiple
        flops = flops_per_pixel(model, cfg["in_channels"], size)
        ms = time_frame(model, cfg["in_channels"], size, args.repeats)
        rows.append((label, cfg, flops, ms))

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"frame {args.size}x{args.size}, median of {args.repeats}")
    print(f"{'model':<32} {'config':<44} {'kFLOP/px':>10} {'ms/frame':>10}")
    for label, cfg, flops, ms in rows:
        options = ", ".join(f"{k}={v}" for k, v in cfg.items() if k != "name")
        print(f"{label:<32} {options:<44} {flops / 1e3:>10.1f} {ms:>10.1f}")
    by_name = {cfg["name"]: (flops, ms) for _, cfg, flops, ms in rows}
    if "unet" in by_name and "edge" in by_name:
        (uf, ums), (ef, ems) = by_name["unet"], by_name["edge"]
        print(f"edge/unet: FLOPs {ef / uf:.4f} (1/{uf / ef:.1f}), time {ems / ums:.4f} "
              f"(1/{ums / ems:.1f})")


if __name__ == "__main__":
    main()
