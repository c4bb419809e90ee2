"""Shimmer of checkpoints without the viewer: K independent noise draws of each scene (binomial
thinning of a bright capture, `train.light`) through each model, side by side in one run.

Run: .venv/bin/python bench/model_shimmer.py --data SET CKPT.pt [CKPT.pt ...]
     [--lights 0.0625 0.25 1] [--draws 8] [--scenes 24] [--split test]

For every light and model: mean ΔE00 of each output to the truth, and shimmer, the mean ΔE00
of each draw's output to the mean output over the draws (issue 16's definition, on the network
alone: what a still print's frames would show with no temporal filter). The set must be
captured at least as bright as the brightest --lights (e.g. `device capture --light 2`), and the
scenes should be ones the models did not train on (the test split of their own set).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    from device.captures import CaptureSet
    from device.sim import delta_e00
    from train.checkpoint import load_checkpoint
    from train.data import TO_SRGB, check_split
    from train.infer import predict
    from train.light import ThinnedScenes, to_network, white_sigma

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpts", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--lights", nargs="+", type=float, default=[0.0625, 0.25, 1.0])
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--scenes", type=int, default=24)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    cs = CaptureSet.open(args.data)
    names = check_split(cs, args.split)[:args.scenes]
    models = [load_checkpoint(p) for p in args.ckpts]
    inputs = tuple(models[0][1]["inputs"])
    scenes = ThinnedScenes(cs, inputs)
    whole = (slice(None), slice(None))
    print(f"{len(names)} {args.split} scenes of {cs.root}, {args.draws} draws each")
    print("| light | " + " | ".join(f"{p}: ΔE00 / shimmer" for p in args.ckpts) + " |")
    print("|---|" + "---|" * len(models))
    for light in args.lights:
        cells = []
        for model, config in models:
            errors, shimmer = [], []
            noise = (torch.from_numpy(white_sigma(scenes.white_e, [light],
                                                  scenes.rig.read_noise_e))
                     if config["model"].get("noise_input") else None)
            for i, name in enumerate(names):
                truth = cs.load_truth(name)
                outs = []
                for k in range(args.draws):   # the same draws for every model
                    rng = np.random.default_rng([i, k, 0x5A1])
                    nir = to_network(scenes.reflectance(name, whole, light, 1.0, rng))
                    out = predict(model, torch.from_numpy(nir)[None], config["spatial_multiple"],
                                  noise=noise)[0].numpy().transpose(1, 2, 0)
                    outs.append(np.clip(out * TO_SRGB["scale"] + TO_SRGB["offset"], 0, 1))
                mean = np.mean(outs, axis=0)
                errors += [float(delta_e00(o, truth).mean()) for o in outs]
                shimmer += [float(delta_e00(o, mean).mean()) for o in outs]
            cells.append(f"{np.mean(errors):.2f} / {np.mean(shimmer):.2f}")
        print(f"| {light:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
