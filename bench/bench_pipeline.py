"""Does the threaded pipeline deliver what its slowest stage allows? (target: >= 90 %)

Runs the viewer on the simulated rig with the shipped edge model, with and without the sliding
window, and prints for each run the color frame rate, the rate its slowest stage alone would
allow (from the per-stage milliseconds measured in the same run) and their ratio.

    .venv/bin/python bench/bench_pipeline.py [--frames 150] [--width 256] [--height 192]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from device.benchmark import run_sim, stage_bound_fps
from device.simulated.presets import sim_config

TARGET = 0.90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--fps", type=float, default=90.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
        config = sim_config(Path(folder), width=args.width, height=args.height, fps=args.fps)
        for sliding in (True, False):
            report = run_sim(config, args.frames, sliding)
            stage, bound = stage_bound_fps(report, sliding)
            ratio = report.fps / bound
            print(f"{'sliding window' if sliding else 'one per cycle '}: {report.fps:6.1f} fps, "
                  f"slowest stage ({stage}) allows {bound:6.1f} fps -> ratio {ratio:.2f} "
                  f"({'meets' if ratio >= TARGET else 'MISSES'} the {TARGET:.0%} target)")


if __name__ == "__main__":
    main()
