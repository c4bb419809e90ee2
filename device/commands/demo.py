"""`device demo`: the whole viewer on the simulated rig with the shipped edge model.

A print (by default a held-out bundled photograph, one the shipped model never trained on)
lies under the simulated camera, held by a slightly
shaking hand; the three NIR LEDs strobe, the model colorizes every triplet, and the result is
written to DIR/demo.mp4 with a side-by-side still DIR/demo.png: what the NIR camera sees | what
nightcolor shows | what the eye would see in daylight (the simulator's ground truth). It
prints the frame rate and the mean CIEDE2000 colour error against that ground truth.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from device.common.errors import UserError
from device.common.files import atomic_output
from device.commands._demo_camera import add_camera_arguments, camera_fields, with_camera
from device.content.photos import HELD_OUT_PHOTOS
from device.procedures.calibration import measure_calibration
from device.simulated.presets import SHIPPED_MODEL, mean_delta_e00, sim_config, truth_for
from device.simulated.row_light import RowLightMeter
from device.viewer.colorize import ColorFrame
from device.viewer.displays import overlay_text
from device.viewer.loop import Pipeline
from device.viewer.observer import FrameShown, LoggingObserver

SCORE_EVERY = 5


def side_by_side(frame: ColorFrame, truth: np.ndarray) -> np.ndarray:
    """NIR | color | eye, labelled, as one RGB image."""
    nir = np.clip(np.mean(frame.nir, axis=0), 0.0, 1.0)
    panels = [(np.repeat(nir[..., None], 3, axis=2) * 255).astype(np.uint8), frame.rgb,
              (np.clip(truth, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)]
    labels = ("NIR 718/777/807 nm", "nightcolor", "eye, daylight")
    return np.concatenate([overlay_text(p, t) for p, t in zip(panels, labels)], axis=1)


class Keeper(LoggingObserver):
    """Keeps every SCORE_EVERY-th frame and the last with what the eye would see then. Only the
    truth is looked up here; ΔE00 (slow) is computed after the run, so measuring does not slow
    down the display thread this runs in."""

    def __init__(self, last: int):
        self.last = last
        self.pipeline: Pipeline | None = None       # whose camera knows the truth
        self.kept: list[tuple[ColorFrame, np.ndarray]] = []
        self.last_shown_at = float("inf")          # monotonic time the last frame was shown

    def frame_shown(self, shown: FrameShown) -> None:
        if shown.frames == self.last:
            self.last_shown_at = time.monotonic()
        if shown.frames % SCORE_EVERY == 1 or shown.frames == self.last:
            camera = None if self.pipeline is None else self.pipeline.camera
            truth = None if camera is None else truth_for(shown.frame, camera)
            if truth is not None:
                self.kept.append((shown.frame, truth))


def run(args) -> int:
    out = Path(args.out).resolve()
    if not out.is_dir():
        raise UserError(f"{out}: --out folder does not exist.")
    if args.frames < 1:
        raise UserError(f"--frames {args.frames}: must be at least 1.")
    config = sim_config(out, engine=args.model, width=args.width, height=args.height,
                        fps=args.fps, display=f"file://{out / 'demo.mp4'}", scene=args.scene,
                        calibration=str(out / "calibration.npz"))
    config = with_camera(config, args)
    config.display.overlay_fps = True
    measure_calibration(config, 4).save(config.resolve(config.preprocess.calibration))
    keeper = Keeper(args.frames)
    meter = RowLightMeter(lambda: None if keeper.pipeline is None else keeper.pipeline.camera)
    pipeline = keeper.pipeline = Pipeline(config, keeper, stages=[meter])
    report = pipeline.run(max_frames=args.frames).report_or_raise()
    kept = keeper.kept
    scores = [mean_delta_e00(frame.rgb, truth) for frame, truth in kept]
    with atomic_output(out / "demo.png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(side_by_side(*kept[-1]), cv2.COLOR_RGB2BGR))
    if args.json:
        print(json.dumps({"mean_de00": round(float(np.mean(scores)), 3),
                          "color_fps": round(report.fps, 2),
                          **camera_fields(config, meter, keeper.last_shown_at)}))
        return 0
    print(report.summary())
    print(f"wrote {out / 'demo.mp4'} and {out / 'demo.png'} (NIR | nightcolor | eye)")
    print(f"{report.fps:.1f} fps, mean ΔE00 {np.mean(scores):.1f} against what the eye would "
          f"see (every {SCORE_EVERY}th of {report.frames} frames, {args.width}x{args.height}, "
          f"scene {args.scene})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="the viewer on the simulated rig: demo.mp4 + demo.png",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("."), help="folder for demo.mp4 and demo.png")
    p.add_argument("--frames", type=int, default=150, help="color frames (default 150)")
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--height", type=int, default=144)
    p.add_argument("--fps", type=float, default=30.0, help="simulated camera rate")
    p.add_argument("--scene", default=HELD_OUT_PHOTOS[0],
                   help=f"the print: a bundled photo (default {HELD_OUT_PHOTOS[0]}, held out from "
                        "training like " + ", ".join(HELD_OUT_PHOTOS[1:]) + "; chelsea, rocket"
                        "...), a generated chart, skin, gradient, deadleaves, smooth, foliage, "
                        "sky, clothes, a scene made of materials (face-skin, foliage-leaf, "
                        "clothes-cloth), or an image file")
    p.add_argument("--model", type=Path, default=SHIPPED_MODEL, help="ONNX model (with its card)")
    add_camera_arguments(p)
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=run)
