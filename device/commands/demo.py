"""`device demo`: the whole viewer on the simulated rig with the shipped edge model.

A print (by default a held-out bundled photograph, one the shipped model never trained on)
lies under the simulated camera, held by a slightly shaking hand; the three NIR LEDs strobe,
automatic exposure sets each LED's on-time and gain, the model colorizes every triplet and the
temporal filter steadies it, and the result is written to DIR/demo.mp4 with a side-by-side
still DIR/demo.png: what the NIR camera sees | what nightcolor shows | what the eye would see
in daylight (the simulator's ground truth). It prints the frame rate and the mean CIEDE2000
colour error against that ground truth.

The light on the print, how it moves, a light step or a scene cut during the run, the exposure
and the filter are options; `--json` prints the measurements (docs/video.md) instead of text.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from device.commands._demo_camera import add_camera_arguments, camera_fields, with_camera
from device.common.errors import UserError
from device.common.files import atomic_output
from device.content.photos import HELD_OUT_PHOTOS
from device.engines import viewer_io
from device.engines.engine import OnnxEngine
from device.engines.model_card import load_model_card
from device.procedures.calibration import measure_calibration
from device.simulated import measures
from device.simulated.presets import SHIPPED_MODEL, sim_config, truth_for
from device.simulated.row_light import RowLightMeter
from device.simulated.sim_camera import SimCamera
from device.viewer.colorize import ColorFrame
from device.viewer.config import Config
from device.viewer.displays import overlay_text
from device.viewer.exposure import longest_window_ms
from device.viewer.loop import Pipeline
from device.viewer.observer import FrameShown, LoggingObserver
from device.viewer.preprocess import Calibration, CalibrationPlanes

SCORE_EVERY = 5                # the text summary scores every 5th frame (ΔE00 is slow)


def side_by_side(frame: ColorFrame, truth: np.ndarray) -> np.ndarray:
    """NIR | color | eye, labelled, as one RGB image."""
    nir = np.clip(np.mean(frame.nir, axis=0), 0.0, 1.0)
    panels = [(np.repeat(nir[..., None], 3, axis=2) * 255).astype(np.uint8), frame.rgb,
              (np.clip(truth, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)]
    labels = ("NIR 718/777/807 nm", "nightcolor", "eye, daylight")
    return np.concatenate([overlay_text(p, t) for p, t in zip(panels, labels)], axis=1)


def truth(frame: ColorFrame, camera: SimCamera) -> np.ndarray:
    """What the eye would see for a kept frame (its pose is in the camera's history)."""
    seen = truth_for(frame, camera)
    if seen is None:
        raise UserError("the simulated camera no longer knows the pose of a kept frame; ask "
                        "for fewer --frames.")
    return seen


class Keeper(LoggingObserver):
    """Keeps every frame shown with what the simulated camera did for its newest sub-frame
    (the truth is looked up from that after the run: measuring must not slow the display
    thread this runs in), and when the last one was shown."""

    def __init__(self, last: int) -> None:
        self.last = last
        self.pipeline: Pipeline | None = None       # whose camera knows the truth
        self.kept: list[tuple[ColorFrame, SimCamera]] = []
        # automatic exposure's plan (each LED's on-time x gain) when each kept frame was shown
        self.plans: list[dict[int, float] | None] = []
        self.last_shown_at = float("inf")          # monotonic time the last frame was shown

    def frame_shown(self, shown: FrameShown) -> None:
        if shown.frames == self.last:
            self.last_shown_at = time.monotonic()
        camera = None if self.pipeline is None else self.pipeline.camera
        if isinstance(camera, SimCamera):
            self.kept.append((shown.frame, camera))
            plan = None if self.pipeline is None else self.pipeline.exposure
            self.plans.append(None if plan is None else
                              {nm: s.product for nm, s in plan.settings().items()})


# -- the options, and the config they make --------------------------------------------------

def add_video_options(p: argparse.ArgumentParser) -> None:
    """Light, motion, exposure, the filter and the events of a run."""
    p.add_argument("--exposure-ms", default="auto", metavar="MS|auto",
                   help="automatic exposure (default), or a fixed LED on-time in ms")
    p.add_argument("--exposure-target", type=float, default=None, metavar="SHARE",
                   help="automatic exposure's aim for the bright end, a share of the range "
                        "(default the config's, 0.3: the shipped model's training light; "
                        "0.8: the most signal that does not clip)")
    p.add_argument("--light", default="1", metavar="FACTOR",
                   help="the LEDs' light on the print, as `device capture --light` and `device "
                        "sim floor --light` (1: the demo's, the rig's nominal; 0.25 or 1/4: a "
                        "quarter)")
    p.add_argument("--motion", choices=("none", "hand", "slide"), default="hand",
                   help="the print held still, by a shaking hand (default), or sliding")
    p.add_argument("--filter", choices=("on", "off"), default="on",
                   help="the temporal filter (default on); off: each frame on its own")
    p.add_argument("--light-step", metavar="FRAME:FACTOR", default=None,
                   help="the light changes to FACTOR at camera frame FRAME")
    p.add_argument("--cut", metavar="FRAME[:SCENE]", default=None,
                   help="the print is swapped at camera frame FRAME (for coffee, or SCENE)")
    p.add_argument("--settle", type=int, default=10, metavar="N",
                   help="color frames left out of the steady measurements (default 10)")
    p.add_argument("--lockstep", action="store_true",
                   help="color every triplet (the queues wait instead of dropping): the rate "
                        "of a device that keeps up, and the same frames each run")
    p.add_argument("--seed", type=int, default=0, help="the simulated camera's noise")
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="print the measurements as JSON (to FILE; stdout without FILE)")


def _event(text: str | None, option: str) -> tuple[int, str] | None:
    """FRAME:VALUE of --light-step / --cut; one sentence when it is not one."""
    if text is None:
        return None
    frame, _, value = text.partition(":")
    if not frame.isdigit() or int(frame) < 1:
        raise UserError(f"{option} {text}: give the camera frame as a positive integer, "
                        f"e.g. {option} 60:0.25.")
    return int(frame), value


def apply_video_options(config: Config, args: argparse.Namespace) -> Config:
    """The options on a sim config: exposure, light, motion, filter, events."""
    from device.sim.light import parse_level

    args.light = parse_level(args.light, "--light")
    sim = config.sim
    sim.light, sim.motion, sim.seed = args.light, args.motion, args.seed
    step, cut = _event(args.light_step, "--light-step"), _event(args.cut, "--cut")
    if step is not None:
        sim.light_change_at = step[0]
        sim.light_change_to = parse_level(step[1], f"--light-step {args.light_step}: FACTOR")
    if cut is not None:
        sim.cut_at, sim.cut_to = cut[0], cut[1] or sim.cut_to
    config.temporal.filter = args.filter == "on"
    if args.exposure_target is not None:
        if not 0 < args.exposure_target <= 1:
            raise UserError(f"--exposure-target {args.exposure_target}: must be above 0 and at "
                            "most 1.")
        config.exposure.target = args.exposure_target
    if args.exposure_ms == "auto":
        config.exposure.mode = "auto"
        config.camera.exposure_ms = longest_window_ms(config.camera, config.strobe,
                                                      config.exposure)
    else:
        try:
            config.camera.exposure_ms = float(args.exposure_ms)
        except ValueError:
            raise UserError(f"--exposure-ms {args.exposure_ms}: give milliseconds or auto.") \
                from None
        if not 0 < config.camera.exposure_ms < 1000 / config.camera.fps:
            raise UserError(f"--exposure-ms {args.exposure_ms}: must be positive and shorter "
                            f"than a frame at --fps {config.camera.fps:g}.")
        config.exposure.mode = "fixed"
    return config


# -- the measurements -------------------------------------------------------------------------

def per_frame_outputs(config: Config, calibration: Calibration,
                      frames: list[ColorFrame]) -> list[np.ndarray]:
    """The same frames through the per-frame path: the viewer graph run again on the feeds
    each was rendered from, with `history` 0 (each frame on its own)."""
    card = load_model_card(config.model_card_path())
    engine = OnnxEngine(card.viewer_graph)
    planes = CalibrationPlanes(calibration, card.wavelengths_nm,
                               (config.camera.height, config.camera.width), 1.0)
    engine.set_resident(viewer_io.DARK, planes.dark)
    engine.set_resident(viewer_io.GAIN, planes.gain)
    outputs = []
    for frame in frames:
        state = np.zeros(viewer_io.state_shape(len(card.wavelengths_nm), *planes.dark.shape),
                         np.float32)
        feeds = frame.feeds | {viewer_io.HISTORY: np.zeros((1, 1, 1), np.float32),
                               viewer_io.STATE: state}
        outputs.append(engine.run(feeds)[viewer_io.OUTPUT].astype(np.uint8))
    return outputs


def frame_errors(rgbs: list[np.ndarray], truths: list[np.ndarray]) -> list[float]:
    return [float(measures.delta_e00_map(rgb, truth).mean()) for rgb, truth in zip(rgbs, truths)]


def event_frame(kept: list[tuple[ColorFrame, SimCamera]], happened) -> int | None:
    """The index of the first kept frame whose newest sub-frame was shot after an event."""
    for i, (frame, camera) in enumerate(kept):
        shot = camera.shots.get(frame.triplet.newest.exposure_start)
        if shot is not None and happened(shot):
            return i
    return None


def exposure_products(frames: list[ColorFrame], nm: int) -> list[float]:
    return [s.led.product if (s := f.triplet.frames[nm]).led is not None else float("nan")
            for f in frames]


def settling(frames: list[ColorFrame], start: int, saturation: float,
             plans: list[dict[int, float] | None]) -> dict:
    """After a light step at frame `start`: the frames until every LED's exposure stays within
    10 % of its final one, and the clipped pixels from then on. Twice: the exposures the
    sub-frames got (as the strobe measured them: a strobe thread woken up late lights an LED
    longer than planned) and automatic exposure's plan (`plans`, when it ran)."""
    after = frames[start:]
    settled = max(measures.settle_frames(products, products[-1])
                  for products in (exposure_products(after, nm) for nm in after[0].triplet.frames))
    images = [s.image for f in after[settled - 1:] for s in f.triplet.frames.values()]
    result: dict = {
        "step_settle_frames": settled,
        "step_clipped_after_settle_percent": 100 * measures.clipped_fraction(images,
                                                                             saturation)}
    planned = [p for p in plans[start:] if p is not None]
    if planned and len(planned) == len(plans[start:]):
        result["step_plan_settle_frames"] = max(
            measures.settle_frames([p[nm] for p in planned], planned[-1][nm])
            for nm in planned[-1])
    return result


def recovery(errors: list[float], start: int, tail: int) -> int:
    """Frames after a cut at `start` until ΔE00 stays within 1 of the steady state (the mean
    of the last `tail` frames)."""
    after = errors[start:]
    return measures.recovery_frames(after, float(np.mean(after[-tail:])))


def measurements(config: Config, calibration: Calibration, report, kept, settle: int,
                 plans: list[dict[int, float] | None]) -> dict:
    """What `--json` reports of the colours, the filter and exposure (docs/video.md says
    what each field is; the camera's timing fields are camera_fields')."""
    frames = [f for f, _ in kept]
    truths = [truth(f, camera) for f, camera in kept]
    per_frame = per_frame_outputs(config, calibration, frames)
    rgbs = [f.rgb for f in frames]
    errors, per_frame_errors = frame_errors(rgbs, truths), frame_errors(per_frame, truths)
    steady = slice(min(settle, len(frames) - 2), None)
    saturation = float(config.exposure.saturation)
    last = frames[-1].triplet.frames
    result = {
        "frames": len(frames), "color_fps": report.fps,
        "mean_de00": float(np.mean(errors[steady])),
        "per_frame_mean_de00": float(np.mean(per_frame_errors[steady])),
        "shimmer_de00": measures.shimmer(rgbs[steady]),
        "per_frame_shimmer_de00": measures.shimmer(per_frame[steady]),
        "clipped_percent": 100 * measures.clipped_fraction(
            [s.image for f in frames[steady] for s in f.triplet.frames.values()], saturation),
        "exposure": {str(nm): {"on_ms": s.led.on_s * 1e3, "gain": s.led.gain}
                     for nm, s in last.items() if s.led is not None},
        "de00_per_frame": errors, "per_frame_de00_per_frame": per_frame_errors}
    step = event_frame(kept, lambda shot: shot.light != config.sim.light)
    if config.sim.light_change_at and step is not None:
        result |= settling(frames, step, saturation, plans)
    cut = event_frame(kept, lambda shot: shot.scene == 1)
    if config.sim.cut_at and cut is not None:
        tail = max(3, (len(frames) - cut) // 3)
        result |= {"cut_recovery_frames": recovery(errors, cut, tail),
                   "per_frame_cut_recovery_frames": recovery(per_frame_errors, cut, tail)}
    return result


# -- the command ----------------------------------------------------------------------------

def demo_config(args: argparse.Namespace, out: Path) -> Config:
    if args.frames < 2:
        raise UserError(f"--frames {args.frames}: must be at least 2.")
    config = sim_config(out, engine=args.model, width=args.width, height=args.height,
                        fps=args.fps, display=f"file://{out / 'demo.mp4'}", scene=args.scene,
                        calibration=str(out / "calibration.npz"))
    config = with_camera(config, args)
    config.display.overlay_fps = True
    return apply_video_options(config, args)


def run(args) -> int:
    out = Path(args.out).resolve()
    if not out.is_dir():
        raise UserError(f"{out}: --out folder does not exist.")
    config = demo_config(args, out)
    calibration = measure_calibration(config, 4)
    calibration.save(config.resolve(config.preprocess.calibration))
    keeper = Keeper(args.frames)
    meter = RowLightMeter(lambda: None if keeper.pipeline is None else keeper.pipeline.camera)
    pipeline = keeper.pipeline = Pipeline(config, keeper, stages=[meter], lockstep=args.lockstep)
    report = pipeline.run(max_frames=args.frames).report_or_raise()
    kept = keeper.kept
    if len(kept) < 2:
        raise UserError(f"only {len(kept)} frames were shown; ask for more with --frames.")
    frame, camera = kept[-1]
    with atomic_output(out / "demo.png") as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(side_by_side(frame, truth(frame, camera)),
                                           cv2.COLOR_RGB2BGR))
    if args.json is not None:
        result = {"scene": args.scene, "width": args.width, "height": args.height,
                  "exposure_mode": config.exposure.mode, "light": args.light,
                  "motion": args.motion, "filter": args.filter, "lockstep": args.lockstep,
                  "engine": report.engine}
        result |= measurements(config, calibration, report, kept, args.settle, keeper.plans)
        result |= camera_fields(config, meter, keeper.last_shown_at)
        write_json(result, args.json)
        return 0
    print_summary(args, report, kept, out)
    return 0


def write_json(result: dict, where: str) -> None:
    """One line on stdout (a script reads the last line), indented in a file."""
    if where == "-":
        sys.stdout.write(json.dumps(result) + "\n")
        return
    with atomic_output(where) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")


def print_summary(args, report, kept, out: Path) -> None:
    scored = kept[::SCORE_EVERY] + ([kept[-1]] if len(kept) % SCORE_EVERY != 1 else [])
    scores = [measures.delta_e00_map(f.rgb, truth(f, c)).mean() for f, c in scored]
    print(report.summary())
    print(f"wrote {out / 'demo.mp4'} and {out / 'demo.png'} (NIR | nightcolor | eye)")
    print(f"{report.fps:.1f} fps, mean ΔE00 {np.mean(scores):.1f} against what the eye would "
          f"see (every {SCORE_EVERY}th of {report.frames} frames, {args.width}x{args.height}, "
          f"scene {args.scene})")


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
    add_video_options(p)
    p.set_defaults(func=run)
