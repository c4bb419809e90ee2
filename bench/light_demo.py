"""The viewer at fixed exposures: models side by side on the held-out prints (sim rig, still
print, per-frame path), mean ΔE00 to the eye's truth and shimmer, through the viewer's own
Python API (`device demo` does not take an exposure yet).

Run: .venv/bin/python bench/light_demo.py OLD.onnx NEW.onnx [--exposures 2 8 16]
     [--scenes astronaut coffee motorcycle] [--frames 30] [--width 192] [--height 144]

Each run: `sim_config` at that exposure (photons ∝ exposure at the sim LEDs' flux: 10 ms is the
rig's nominal light 1), calibration at the same exposure (what `device calibrate` does), no hand
shake (a still print: the frame-to-frame change is noise alone), `--frames` colour frames.
- mean ΔE00: every frame against what the eye would see, as `device demo` scores (border left
  out);
- shimmer: the mean ΔE00 of each frame to the run's temporal mean (issue 16's definition).
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def run_once(model: Path, exposure_ms: float, scene: str, frames: int, width: int,
             height: int) -> tuple[float, float]:
    from device.procedures.calibration import measure_calibration
    from device.simulated.presets import EDGE_PX, mean_delta_e00, sim_config, truth_for
    from device.sim import delta_e00
    from device.viewer.loop import Pipeline

    with tempfile.TemporaryDirectory() as folder:
        config = sim_config(Path(folder), engine=model.resolve(), width=width, height=height, fps=30.0,
                            exposure_ms=exposure_ms, scene=scene,
                            calibration=str(Path(folder) / "calibration.npz"))
        config.sim.motion_px, config.sim.motion_deg = 0.0, 0.0
        measure_calibration(config, 4).save(config.resolve(config.preprocess.calibration))
        kept = []
        pipeline = Pipeline(config, on_color=lambda f: kept.append(
            (f.rgb.copy(), truth_for(f, pipeline.camera))))
        pipeline.run(max_frames=frames)
    scores = [mean_delta_e00(rgb, truth) for rgb, truth in kept]
    e = EDGE_PX
    stack = np.stack([rgb[e:-e, e:-e].astype(np.float32) / 255.0 for rgb, _ in kept])
    mean = stack.mean(axis=0)
    shimmer = [float(delta_e00(frame, mean).mean()) for frame in stack]
    return float(np.mean(scores)), float(np.mean(shimmer))


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


if __name__ == "__main__":
    main()
