"""The Done-when table of issue 16 (video in the dark), measured with `device demo --json` on the
three held-out bundled prints, and printed as the tables of docs/video.md.

Run: .venv/bin/python bench/video_table.py [--sizes 192x144 640x480] [--scenes ...]
        [--out DIR] [--model edge.onnx] [--rows stability light fixed motion cut step]

Every row is one `device demo --json --lockstep` run (every triplet colored, as on a device that
keeps up, and the same frames each run; the demo's own defaults otherwise: automatic
exposure, the temporal filter, the hand-held print); the per-frame path is measured on the very
same frames (the demo runs each frame again through the viewer graph with the filter's history
0). The commands are printed with the tables, so any row can be run again by hand. After the
retrained model lands, run it again with its card (`--model`).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCENES = ("astronaut", "coffee", "motorcycle")       # the held-out bundled photos
LIGHTS = (0.25, 0.5, 1.0, 2.0)
# The camera frame of the cut and of the light step, and the frames of such a run: the event
# after the filter and automatic exposure settled, 30 color frames after it (fewer at 640x480).
EVENTS = {"192x144": (60, 90), "640x480": (20, 40)}
# Automatic exposure aimed higher than its default (0.3, about the photons the shipped model was
# trained at: device/viewer/sections.py): the bright end at 0.8 of the range, the most signal
# that does not clip, for a model that colours every light level alike.
HIGH_TARGET = 0.8
# Frames per run and frames left out before the steady measurements: the filter's history
# 0.95 keeps 0.95^40 = 13 % of its first frame after 40 frames. At 640x480 a color frame takes
# ~1 s of this CPU, so fewer (the steady-state figures there are less settled: said with them).
FRAMES = {"192x144": (100, 40), "640x480": (30, 10)}
TARGETS = {"shimmer_1": 0.6, "shimmer_025": 1.0, "still_vs_per_frame": 0.2,
           "light_spread": 1.0, "clipped": 0.5, "motion_vs_per_frame": 0.3,
           "cut_frames": 3, "step_frames": 10}


@dataclass(frozen=True)
class Row:
    key: str             # what the tables call it
    group: str           # which table
    args: tuple[str, ...]
    events: bool = False     # a cut or a step ("{event}" in args: the camera frame, EVENTS;
    #                          "{other}": the print a cut swaps in)


def rows() -> list[Row]:
    out = [Row("still 1", "stability", ("--motion", "none")),
           Row("still 0.25", "stability", ("--motion", "none", "--light", "0.25"))]
    out += [Row(f"light {light:g}", "light", ("--light", f"{light:g}")) for light in LIGHTS]
    out += [Row(f"light {light:g} at {HIGH_TARGET:g}", "target",
                ("--light", f"{light:g}", "--exposure-target", f"{HIGH_TARGET:g}"))
            for light in LIGHTS]
    out += [Row(f"fixed {ms} ms", "fixed", ("--exposure-ms", str(ms))) for ms in (2, 8, 16)]
    out += [Row("slide", "motion", ("--motion", "slide"))]
    out += [Row("cut", "cut", ("--motion", "none", "--cut", "{event}:{other}"), True),
            Row("step 1 -> 0.25", "step", ("--motion", "none", "--light-step",
                                            "{event}:0.25"), True),
            Row("step 0.25 -> 1", "step", ("--motion", "none", "--light", "0.25",
                                            "--light-step", "{event}:1"), True)]
    return out


def other_print(scene: str) -> str:
    """What a cut swaps `scene` for: the next held-out print."""
    return SCENES[(SCENES.index(scene) + 1) % len(SCENES)] if scene in SCENES else SCENES[0]


def command(row: Row, scene: str, size: str, model: str | None, out: Path) -> list[str]:
    width, height = size.split("x")
    frames, settle = FRAMES.get(size, FRAMES["640x480"])
    event, event_frames = EVENTS.get(size, EVENTS["640x480"])
    if row.events:
        frames = event_frames
    cmd = ["device", "demo", "--scene", scene, "--width", width, "--height", height,
           "--frames", str(frames), "--settle", str(settle), "--lockstep", "--json",
           str(out / "result.json"), "--out", str(out),
           *(a.format(event=event, other=other_print(scene)) for a in row.args)]
    return cmd + (["--model", model] if model else [])


def saved(keep: Path, scene: str, size: str, row: Row) -> Path:
    return keep / f"{scene}-{size}-{row.key.replace(' ', '_').replace('>', '')}.json"


def run(row: Row, scene: str, size: str, model: str | None, keep: Path | None,
        resume: bool = False) -> dict:
    if resume and keep is not None and saved(keep, scene, size, row).is_file():
        return json.loads(saved(keep, scene, size, row).read_text())
    with tempfile.TemporaryDirectory(prefix="nightcolor-video-") as folder:
        out = Path(folder)
        cmd = command(row, scene, size, model, out)
        proc = subprocess.run([sys.executable, "-m", *cmd], cwd=REPO, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.strip().splitlines()[-1]}")
        result = json.loads((out / "result.json").read_text())
    result["command"] = " ".join(cmd).replace(f" --out {out}", "").replace(
        f" {out / 'result.json'}", "")
    if keep is not None:
        saved(keep, scene, size, row).write_text(json.dumps(result, indent=1))
    return result


def scenes_of(results: dict, size: str) -> list[str]:
    return [s for s in SCENES if any(k[0] == s and k[1] == size for k in results)]


def f(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(header: list[str], lines: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] +
                     ["| " + " | ".join(line) + " |" for line in lines])


def stability(results: dict, size: str) -> str:
    lines = []
    for scene in scenes_of(results, size):
        for key, light in (("still 1", "1"), ("still 0.25", "0.25")):
            r = results[scene, size, key]
            lines.append([scene, light, f(r["shimmer_de00"]), f(r["per_frame_shimmer_de00"]),
                          f(r["mean_de00"]), f(r["per_frame_mean_de00"]),
                          f(r["mean_de00"] - r["per_frame_mean_de00"])])
    return table(["print", "light", "shimmer", "per-frame shimmer", "mean ΔE00",
                  "per-frame mean ΔE00", "filter − per-frame"], lines)


def light_levels(results: dict, size: str, suffix: str = "") -> str:
    lines = []
    for scene in scenes_of(results, size):
        by_light = {light: results[scene, size, f"light {light:g}{suffix}"] for light in LIGHTS}
        base = by_light[1.0]["mean_de00"]
        spread = max(abs(r["mean_de00"] - base) for r in by_light.values())
        lines.append([scene, *(f(r["mean_de00"]) for r in by_light.values()), f(spread),
                      f(max(r["clipped_percent"] for r in by_light.values()), 3),
                      "; ".join(exposures(r) for r in (by_light[0.25], by_light[2.0]))])
    return table(["print", *(f"light {light:g}" for light in LIGHTS), "largest difference to light 1",
                  "clipped % (max)", "exposure at 0.25; at 2"], lines)


def exposures(r: dict) -> str:
    return " ".join(f"{nm}:{e['on_ms']:.1f}ms×{e['gain']:.1f}" for nm, e in r["exposure"].items())


def fixed(results: dict, size: str) -> str:
    lines = []
    for scene in scenes_of(results, size):
        rs = [results[scene, size, f"fixed {ms} ms"] for ms in (2, 8, 16)]
        lines.append([scene, *(f"{f(r['mean_de00'])} ({f(r['per_frame_mean_de00'])})"
                               for r in rs)])
    scenes = scenes_of(results, size)
    means = [sum(results[s, size, f"fixed {ms} ms"]["mean_de00"] for s in scenes) / len(scenes)
             for ms in (2, 8, 16)]
    lines.append([f"mean of the {len(scenes)}", *(f(m) for m in means)])
    return table(["print", "2 ms", "8 ms", "16 ms"], lines)


def motion(results: dict, size: str) -> str:
    lines = []
    for scene in scenes_of(results, size):
        hand, slide = results[scene, size, "light 1"], results[scene, size, "slide"]
        lines.append([scene, *(f"{f(r['mean_de00'])} / {f(r['per_frame_mean_de00'])} "
                               f"({f(r['mean_de00'] - r['per_frame_mean_de00'])})"
                               for r in (hand, slide))])
    return table(["print", "hand: filter / per-frame (Δ)", "slide: filter / per-frame (Δ)"],
                 lines)


def events(results: dict, size: str) -> str:
    lines = []
    for scene in scenes_of(results, size):
        cut = results[scene, size, "cut"]
        down, up = results[scene, size, "step 1 -> 0.25"], results[scene, size, "step 0.25 -> 1"]
        lines.append([scene,
                      f"{cut['cut_recovery_frames']} ({cut['per_frame_cut_recovery_frames']})",
                      *(f"{r.get('step_plan_settle_frames', '–')} / {r['step_settle_frames']} "
                        f"({f(r['step_clipped_after_settle_percent'], 3)} %)"
                        for r in (down, up))])
    return table(["print", "cut: frames to within 1 ΔE00 (per-frame)",
                  "step 1 → 0.25: frames to settle, plan / got (clipped after)",
                  "step 0.25 → 1: frames to settle, plan / got (clipped after)"], lines)


SECTIONS = {"stability": ("Stability (still print)", stability),
            "light": ("Every light level (automatic exposure, hand-held)", light_levels),
            "target": (f"Every light level, automatic exposure aimed at {HIGH_TARGET:g}",
                       lambda results, size: light_levels(results, size, f" at {HIGH_TARGET:g}")),
            "fixed": ("Fixed exposures (today's model; filter (per-frame))", fixed),
            "motion": ("Motion", motion), "cut": ("Scene cut and light steps", events)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(FRAMES))
    parser.add_argument("--scenes", nargs="+", default=list(SCENES))
    parser.add_argument("--rows", nargs="+", default=list(SECTIONS) + ["step"],
                        help="groups of rows: stability light target fixed motion cut step")
    parser.add_argument("--model", default=None, help="ONNX model with its card (default shipped)")
    parser.add_argument("--out", type=Path, default=None, help="keep every run's JSON here")
    parser.add_argument("--resume", action="store_true",
                        help="with --out: take the runs already kept there instead of running "
                             "them again")
    args = parser.parse_args()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    wanted = [r for r in rows() if r.group in args.rows or
              (r.group == "light" and r.key == "light 1" and "motion" in args.rows)]
    results: dict = {}
    for size in args.sizes:
        for scene in args.scenes:
            for row in wanted:
                results[scene, size, row.key] = r = run(row, scene, size, args.model, args.out,
                                                        args.resume)
                print(f"{size} {scene} {row.key}: mean ΔE00 {r['mean_de00']:.2f}, shimmer "
                      f"{r['shimmer_de00']:.2f}   ({r['command']})", flush=True)
    for size in args.sizes:
        print(f"\n## {size}, {FRAMES.get(size, FRAMES['640x480'])[0]} color frames, the first "
              f"{FRAMES.get(size, FRAMES['640x480'])[1]} left out of the steady figures\n")
        for group, (title, make) in SECTIONS.items():
            try:
                print(f"### {title}\n\n{make(results, size)}\n")
            except KeyError:
                continue          # a group not asked for
    return 0


if __name__ == "__main__":
    sys.exit(main())
