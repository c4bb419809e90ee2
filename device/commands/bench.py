"""`device bench`: per-stage milliseconds and frame rates of the viewer on the simulated rig,
with the sliding window (a color frame per sub-frame) and without it (one per strobe cycle),
plus what each sub-frame alignment method costs."""
from __future__ import annotations

import tempfile
from pathlib import Path

from device.benchmark import COLORIZE_STAGES, align_ms, run_sim, stage_bound_fps
from device.simulated.presets import SHIPPED_MODEL, sim_config


def run(args) -> int:
    with tempfile.TemporaryDirectory(prefix="nightcolor-bench-") as folder:
        config = sim_config(Path(folder), engine=args.model, width=args.width,
                            height=args.height, fps=args.fps, exposure_ms=args.exposure_ms)
        reports = {sliding: run_sim(config, args.frames, sliding) for sliding in (True, False)}
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
    print(f"device bench: simulated rig {args.width}x{args.height}, camera {args.fps:g} fps, "
          f"{args.frames} color frames each, engine {reports[True].engine}")
    print(table(("stage", *columns), [(name, *cells) for name, cells in rows]))
    print("sub-frame alignment, one pair: " + ", ".join(
        f"{m} {ms:.2f} ms" for m, ms in aligns.items()))
    return 0


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(line, rows)])


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="per-stage ms and fps on the simulated rig",
                              description=__doc__)
    p.add_argument("--frames", type=int, default=200, help="color frames per run (default 200)")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--fps", type=float, default=60.0, help="simulated camera rate")
    p.add_argument("--exposure-ms", type=float, default=8.0)
    p.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="ONNX model (with its card)")
    p.set_defaults(func=run)
