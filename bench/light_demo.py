"""The viewer at fixed exposures: models side by side on the held-out prints (sim rig, still
print, per-frame path), mean ΔE00 to the eye's truth and shimmer.

Run: .venv/bin/python bench/light_demo.py OLD.onnx NEW.onnx [--exposures 2 8 16]
     [--scenes astronaut coffee motorcycle] [--frames 30] [--width 192] [--height 144]

Each cell is one `device demo --json --exposure-ms MS --filter off --motion none --lockstep
--settle 0 --model M` (the command is printed under the table): the sim camera at that exposure
(photons ∝ exposure at the sim LEDs' flux: 10 ms is the rig's nominal light 1), calibration at
the same exposure, no hand shake (a still print: the frame-to-frame change is noise alone),
automatic exposure and the temporal filter off, `--frames` colour frames, every one scored:
- mean ΔE00: every frame against what the eye would see (`mean_de00`);
- shimmer: the mean ΔE00 of each frame to the run's temporal mean (`shimmer_de00`, issue 16's
  definition).
A model's card must be of the viewer graph's version (`python -m convert.viewer CARD` rebuilds
an older one around its ONNX file).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def demo_command(model: str, exposure_ms: float, scene: str, frames: int, width: int,
                 height: int, out: Path) -> list[str]:
    return ["device", "demo", "--model", model, "--exposure-ms", f"{exposure_ms:g}",
            "--filter", "off", "--motion", "none", "--lockstep", "--settle", "0",
            "--scene", scene, "--frames", str(frames), "--width", str(width),
            "--height", str(height), "--out", str(out), "--json", str(out / "result.json")]


def run_once(model: Path, exposure_ms: float, scene: str, frames: int, width: int,
             height: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="nightcolor-light-") as folder:
        out = Path(folder)
        cmd = demo_command(str(model.resolve()), exposure_ms, scene, frames, width, height, out)
        proc = subprocess.run([sys.executable, "-m", *cmd], cwd=REPO, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1]}")
        result = json.loads((out / "result.json").read_text())
    return float(result["mean_de00"]), float(result["shimmer_de00"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", type=Path, help="ONNX models (with their cards)")
    parser.add_argument("--exposures", nargs="+", type=float, default=[2.0, 8.0, 16.0])
    parser.add_argument("--scenes", nargs="+", default=["astronaut", "coffee", "motorcycle"])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--width", type=int, default=192)
    parser.add_argument("--height", type=int, default=144)
    args = parser.parse_args()
    print("| model | exposure (ms) | " + " | ".join(f"{s} ΔE00 / shimmer" for s in args.scenes)
          + " | mean ΔE00 | mean shimmer |")
    print("|---|---|" + "---|" * len(args.scenes) + "---|---|")
    for model in args.models:
        for exposure in args.exposures:
            results = [run_once(model, exposure, s, args.frames, args.width, args.height)
                       for s in args.scenes]
            cells = " | ".join(f"{d:.1f} / {s:.1f}" for d, s in results)
            means = np.mean(results, axis=0)
            print(f"| {model} | {exposure:g} | {cells} | {means[0]:.2f} | {means[1]:.2f} |",
                  flush=True)
    print("\nEach cell: " + " ".join(demo_command("MODEL", 8.0, "SCENE", args.frames, args.width,
                                       args.height, Path("OUT"))))


if __name__ == "__main__":
    main()
