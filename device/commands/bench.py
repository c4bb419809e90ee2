"""`device bench`: the CPU cost per color frame of the classic per-pixel path (numpy/OpenCV
around the network) and the fused one (the viewer graph) side by side on the simulated rig, the
engine call timed apart; with `--live`, also the live pipeline's per-stage milliseconds and
frame rates with the sliding window and without it, and what each alignment method costs.

`--json [FILE]` writes the comparison as JSON (to stdout without FILE) for scripts such as
bench/bench_jetson.py: {"width", "height", "paths": {"classic"|"fused": {"cpu_ms_per_frame",
"engine_ms_per_frame", "stages_ms"}}}.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from device.benchmark import (COLORIZE_STAGES, align_ms, compare_paths, run_sim,
                              stage_bound_fps)
from device.common.errors import UserError
from device.common.files import atomic_output
from device.simulated.presets import SHIPPED_MODEL, sim_config


def run(args) -> int:
    if args.frames < 1:
        raise UserError(f"--frames {args.frames}: must be at least 1.")
    with tempfile.TemporaryDirectory(prefix="nightcolor-bench-") as folder:
        config = sim_config(Path(folder), engine=args.model, width=args.width,
                            height=args.height, fps=args.fps, exposure_ms=args.exposure_ms)
        paths = compare_paths(config, args.frames)
        result = {"width": args.width, "height": args.height,
                  "paths": {name: times.to_dict() for name, times in paths.items()}}
        if args.json is not None:
            text = json.dumps(result, indent=2) + "\n"
            if args.json == "-":
                sys.stdout.write(text)
                return 0
            with atomic_output(args.json) as tmp:
                tmp.write_text(text)
        print_comparison(result, args.frames)
        if args.live:
            print_live(config, args)
    return 0


def print_comparison(result: dict, frames: int) -> None:
    paths = result["paths"]
    stages = list(dict.fromkeys(s for p in paths.values() for s in p["stages_ms"]))
    rows = [(f"{stage} (ms)", *(f"{p['stages_ms'][stage]:.1f}" if stage in p["stages_ms"]
                                else "-" for p in paths.values())) for stage in stages]
    rows += [("CPU outside the engine (ms/frame)",
              *(f"{p['cpu_ms_per_frame']:.1f}" for p in paths.values())),
             ("engine (ms/frame)", *(f"{p['engine_ms_per_frame']:.1f}" for p in paths.values()))]
    classic, fused = (paths[k]["cpu_ms_per_frame"] for k in ("classic", "fused"))
    print(f"device bench: simulated rig {result['width']}x{result['height']}, {frames} color "
          f"frames per path, alternating on the same triplets, CPU time per stage; engine: "
          f"onnxruntime on the CPU")
    print(table(("stage", *paths), rows))
    print(f"CPU per color frame outside the engine: classic {classic:.1f} ms, fused "
          f"{fused:.1f} ms ({classic / max(fused, 1e-9):.1f}x less)")


def print_live(config, args) -> None:
    reports = {sliding: run_sim(config, args.live_frames, sliding) for sliding in (True, False)}
    aligns = {m: align_ms(config, m) for m in ("phase", "ecc")}
    columns = ("sliding window", "one per cycle")
    rows = [(f"{stage} (ms)", [f"{r.stage_ms.get(stage, 0.0):.1f}" for r in reports.values()])
            for stage in ("capture", *COLORIZE_STAGES, "display")]
    rows += [
        ("sub-frames/s", [f"{r.subframe_fps:.1f}" for r in reports.values()]),
        ("color fps", [f"{r.fps:.1f}" for r in reports.values()]),
        ("slowest stage allows", [f"{stage_bound_fps(r, s)[1]:.1f} ({stage_bound_fps(r, s)[0]})"
                                  for s, r in reports.items()]),
        ("latency (ms)", [f"{r.latency_ms:.0f}" for r in reports.values()]),
        ("dropped triplets", [str(r.dropped["triplets"]) for r in reports.values()]),
    ]
    print(f"live viewer: camera {args.fps:g} fps, {args.live_frames} color frames each, engine "
          f"{reports[True].engine}")
    print(table(("stage", *columns), [(name, *cells) for name, cells in rows]))
    print("sub-frame alignment, one pair: " + ", ".join(
        f"{m} {ms:.2f} ms" for m, ms in aligns.items()))


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="CPU ms per color frame, classic vs fused path; "
                                            "--live: the live viewer's stages and fps",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=20,
                   help="color frames per path in the comparison (default 20)")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--fps", type=float, default=60.0, help="simulated camera rate")
    p.add_argument("--exposure-ms", type=float, default=8.0)
    p.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="ONNX model (with its card)")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="write the comparison as JSON to FILE (stdout without FILE: no table)")
    p.add_argument("--live", action="store_true",
                   help="also run the live viewer, with and without the sliding window")
    p.add_argument("--live-frames", type=int, default=200,
                   help="color frames per live run (default 200)")
    p.set_defaults(func=run)
