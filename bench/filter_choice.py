"""What should a temporal filter average: the network's input (the reflectance of each triplet)
or its output? Measured on still sim captures of held-out prints with the shipped model.

Run: .venv/bin/python bench/filter_choice.py [--scenes astronaut coffee] [--exposure-ms 8]
        [--frames 36] [--weight 0.95]

Per print: a still print under the sim rig (the demo's light, 192x144), sliding-window triplets
normalised to the averaged white references, each colored by the network ONNX alone (no
alignment: the print does not move). Three ways, on the same noisy triplets: each frame on its
own; a running mean (weight `--weight` on the past) of the network's outputs; a running mean of
its inputs, colored. Mean CIEDE2000 to the eye's truth and shimmer (ΔE00 of each frame to the
frames' mean) over the frames after the first third. The viewer graph's filter averages the
output (docs/video.md, The temporal filter): a model trained at one noise level fed denoised
input is far worse.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from device.common.command_line import run_cli  # noqa: E402
from device.engines.engine import OnnxEngine  # noqa: E402
from device.engines.model_card import load_model_card  # noqa: E402
from device.sim import PrintedScene, RigSpec  # noqa: E402
from device.simulated import measures  # noqa: E402
from device.simulated.presets import SHIPPED_MODEL  # noqa: E402
from device.simulated.sim_camera import print_artwork  # noqa: E402
from device.viewer.sections import SimConfig  # noqa: E402

SIZE = (144, 192)
NIR = (718, 777, 807)


def triplets(scene: str, exposure_ms: float, frames: int, seed: int = 0):
    """Normalised sliding-window triplets of a still print, and the eye's truth."""
    rig = RigSpec(leds=NIR, exposure=exposure_ms)
    art = print_artwork(SimConfig(scene=scene), SIZE, lambda p: p)
    printed = PrintedScene(art, rig=rig, seed=0)
    paper = PrintedScene(np.full((*SIZE, 3), 255, np.uint8), rig=rig, seed=0)
    rng = np.random.default_rng(seed)
    dark = np.mean([paper.dark(rng) for _ in range(4)], axis=0)
    white = {nm: np.mean([paper.white(nm, rng) for _ in range(4)], axis=0) for nm in NIR}
    latest, out = {}, []
    for i in range(frames + 2):
        nm = NIR[i % 3]
        raw = printed.capture(nm, rng).astype(np.float32)
        latest[nm] = (raw - dark) / np.maximum(white[nm] - dark, 1)
        if len(latest) == 3:
            out.append(np.stack([latest[k] for k in NIR]).astype(np.float32))
    return out, printed.ground_truth("human")


def measure(scene: str, args, network, card) -> dict[str, tuple[float, float]]:
    inputs, truth = triplets(scene, args.exposure_ms, args.frames)

    def color(x: np.ndarray) -> np.ndarray:
        y = network.infer(x[None] * card.from_reflectance.scale + card.from_reflectance.offset)
        return y[0]

    def srgb8(y: np.ndarray) -> np.ndarray:
        rgb = np.clip(y.transpose(1, 2, 0) * card.to_srgb.scale + card.to_srgb.offset, 0, 1)
        return np.floor(rgb * 255 + 0.5).astype(np.uint8)

    def running(values):
        mean = None
        for v in values:
            mean = v if mean is None else args.weight * mean + (1 - args.weight) * v
            yield mean

    outputs = [color(x) for x in inputs]
    ways = {"per frame": [srgb8(y) for y in outputs],
            "mean of outputs": [srgb8(y) for y in running(outputs)],
            "mean of inputs": [srgb8(color(x)) for x in running(inputs)]}
    steady = slice(len(inputs) // 3, None)
    return {way: (float(np.mean([measures.delta_e00_map(f, truth).mean()
                                 for f in frames[steady]])), measures.shimmer(frames[steady]))
            for way, frames in ways.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", nargs="+", default=["astronaut", "coffee"])
    parser.add_argument("--exposure-ms", type=float, default=8.0)
    parser.add_argument("--frames", type=int, default=36)
    parser.add_argument("--weight", type=float, default=0.95)
    args = parser.parse_args()
    card = load_model_card(SHIPPED_MODEL.with_suffix(".json"))
    network = OnnxEngine(card.onnx)
    print(f"still prints, {SIZE[1]}x{SIZE[0]}, {args.exposure_ms:g} ms, {args.frames} color "
          f"frames, running-mean weight {args.weight:g}: mean ΔE00 / shimmer")
    print("| print | per frame | mean of outputs | mean of inputs |\n|---|---|---|---|")
    for scene in args.scenes:
        r = measure(scene, args, network, card)
        print(f"| {scene} | " + " | ".join(f"{r[w][0]:.2f} / {r[w][1]:.2f}" for w in
                                           ("per frame", "mean of outputs", "mean of inputs"))
              + " |")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli("filter_choice.py", main))
