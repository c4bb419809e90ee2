"""`device capture`: record a capture set under the paper's dataset protocol.

`--rig sim` prints every image of `--prints DIR` (or, without it, the bundled content mixed
by `--mix`: dead leaves, faces, charts, smooth fields, foliage, skies, the bundled photos
that are not held out, and scenes made of skin, leaves and cloth: face-skin, foliage-leaf,
clothes-cloth, each with a material map) on the simulated rig and captures each under every
LED of `--leds`, plus the dark frame and one white reference per LED from blank paper. Scene
motion is off:
dataset prints lie still under the microscope, as in the paper. `--held-out` prints only the
held-out photos, all into the test split. Scenes are split by source: no photo, generated
scene, file or person (LFW-style `Name_0001.jpg`) has scenes in two splits. `--workers N`
renders N scenes at a time; the set is the same for every N.

`--config FILE` runs the same protocol on the real rig described by the viewer's config.
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
from pathlib import Path

import numpy as np

from device.captures import PAPER_TRUTH_NM, CaptureSetWriter
from device.captures.references import REFERENCE_FRAMES, mean_reference
from device.common.errors import UserError
from device.content.prints import DEFAULT_MIX

DEFAULT_BUNDLED_COUNT = 200   # the paper's dataset: 200 printed faces
DEFAULT_SIZE = 256            # the paper trained on 256 x 256 crops
MIN_SIZE, MAX_SIZE = 16, 8192
SIM_ONLY = ("prints", "size", "seed", "truth", "leds", "mix", "workers", "light", "gain")


def _int_option(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value
    return parse


def _leds(text: str) -> tuple[int, ...]:
    from device.sim import PALETTE_LEDS

    try:
        leds = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of "
                                         "wavelengths in nm") from None
    unknown = [nm for nm in leds if nm not in PALETTE_LEDS]
    if unknown or len(set(leds)) != len(leds):
        raise argparse.ArgumentTypeError(
            f"{text!r} must name distinct LEDs of the paper's palette "
            f"({', '.join(map(str, PALETTE_LEDS))}); {unknown or 'a repeat'} is not one")
    return leds


def _levels(option: str, lists: bool):
    def parse(text: str):
        from device.sim.light import parse_levels

        try:
            return parse_levels(text, option, lists)
        except UserError as exc:   # argparse names the option and exits 2
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{option} ")) from None
    return parse


def _mix(text: str) -> dict[str, float]:
    from device.content.prints import parse_mix

    try:
        return parse_mix(text)
    except UserError as exc:   # argparse names the option and exits 2
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--mix ")) from None


class _SceneRenderer:
    """Prints one planned scene and captures it at each of its exposures; picklable, so worker
    processes can run it.

    Every scene shares the rig and the camera (one `RigSpec`, one seed); its picture, its light
    and its sensor noise come from generators seeded by (seed, scene index) alone, so a scene is
    the same whichever process renders it and whatever was rendered before.
    """

    def __init__(self, rig, size: int, seed: int, truth: str, light, gain):
        self.rig, self.size, self.seed, self.truth = rig, size, seed, truth
        self.light, self.gain = light, gain

    def takes(self, planned) -> list:
        """(scene name, Exposure, noise seed) of each capture of `planned`: one at a drawn or
        fixed light, or one per listed level (named after it)."""
        from device.captures.format import Exposure

        rng = np.random.default_rng([self.seed, planned.index, 0x116])
        levels = self.light.each or (float(self.light.draw(rng)),)
        if len(levels) == 1:
            return [(planned.name, Exposure(self.rig.exposure, float(self.gain.draw(rng)),
                                            levels[0]), [self.seed, planned.index])]
        return [(f"{planned.name}-L{light:g}",
                 Exposure(self.rig.exposure, float(self.gain.draw(rng)), light),
                 [self.seed, planned.index, k]) for k, light in enumerate(levels)]

    def __call__(self, planned):
        from device.content.prints import render_print, render_surfaces
        from device.content.surfaces import SURFACE_KINDS
        from device.sim import PrintedScene
        from device.simulated.material_scenes import MaterialScene, surface_layout

        # One seed for every scene and the references: it is the simulated camera's
        # identity (its fixed-pattern gain), which the white reference must share.
        scene: PrintedScene
        materials = None
        if planned.kind in SURFACE_KINDS:   # skin, leaves, cloth: a scene made of materials
            layout = surface_layout(render_surfaces(planned, self.size, self.seed))
            scene, materials = MaterialScene(layout, rig=self.rig, seed=self.seed), \
                layout.family_map()
        else:
            scene = PrintedScene(render_print(planned, self.size, self.seed), rig=self.rig,
                                 seed=self.seed)
        captures = []
        for name, exposure, noise_seed in self.takes(planned):
            rng = np.random.default_rng(noise_seed)
            raws = {nm: scene.capture(nm, rng, motion=None, exposure=exposure)
                    for nm in self.rig.leds}
            captures.append((name, exposure, raws))
        return planned, captures, scene.ground_truth(mode=self.truth), materials


def _one_thread_each() -> None:
    # N workers on N cores: OpenCV's own thread pool in each would only fight over them.
    import cv2

    cv2.setNumThreads(1)


@contextlib.contextmanager
def _rendering(renderer, prints, workers: int):
    """An iterator of renderer(p) for each planned print, in plan order, on `workers`
    processes; the pool is started on entry, before any progress-bar thread exists."""
    if workers <= 1 or len(prints) <= 1:
        yield map(renderer, prints)
        return
    # Not plain fork: a process that has already used OpenCV (or onnxruntime) holds thread
    # pools whose locks a forked child inherits locked, and the child then hangs in its first
    # OpenCV call (seen: workers stuck in cv2.setNumThreads after earlier work in the same
    # process). forkserver forks each worker from a clean server process that has only imported
    # the renderer's modules (preloaded once, so workers still start in milliseconds); spawn
    # where the OS has no forkserver.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload(["device.commands.capture", "device.content.prints",
                                        "device.sim", "device.simulated.material_scenes",
                                        "colour"])
    with context.Pool(min(workers, len(prints)), initializer=_one_thread_each) as pool:
        yield pool.imap(renderer, prints, chunksize=2)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def render_sim_capture_set(out, *, prints=None, count=None, size=DEFAULT_SIZE, seed=0,
                           truth="human", leds=None, force=False, progress=True, mix=None,
                           held_out=False, test_only=False, workers=1, light=None,
                           gain=None) -> Path:
    """Render a capture set on the simulated rig; returns its folder (identical for any
    `workers`). `light` and `gain` (`device.sim.light.Levels`, default 1) set each scene's
    exposure; the references are taken at the rig's nominal one."""
    from tqdm import tqdm

    from device.content.prints import plan_prints
    from device.sim import DATASET_LEDS, PrintedScene, RigSpec
    from device.sim.light import Levels

    light = light or Levels(1.0, 1.0)
    gain = gain or Levels(1.0, 1.0)
    if gain.listed:
        raise UserError("--gain takes one value or a range; list light levels with --light.")

    leds = tuple(leds or DATASET_LEDS)
    if truth == "paper" and not set(PAPER_TRUTH_NM) <= set(leds):
        raise UserError(f"--truth paper merges the {'/'.join(map(str, PAPER_TRUTH_NM))} nm "
                        "captures as R/G/B, so --leds must include those LEDs.")
    if prints is not None and (mix is not None or held_out):
        raise UserError(f"--{'mix' if mix is not None else 'held-out'} chooses bundled content, "
                        "so it cannot be combined with --prints.")
    if held_out and mix is not None:
        raise UserError("--held-out prints only the held-out photos, so --mix has nothing to "
                        "weigh; give one or the other.")
    if prints is None and count is None:
        count = DEFAULT_BUNDLED_COUNT
    plan = plan_prints(prints, count, seed, mix, held_out)  # checks --prints before writing
    rig = RigSpec(leds=leds)
    source = (f"device capture --rig sim, {plan.description}, light {light.describe()}, "
              f"gain {gain.describe()}")
    rig_description = {"kind": "sim", "spec": rig.to_dict(), "seed": seed}
    from device.sim.materials import FAMILIES

    renderer = _SceneRenderer(rig, size, seed, truth, light, gain)
    with CaptureSetWriter(out, leds, rig_description, truth, source, force=force,
                          split_unit=plan.split_unit, test_only=test_only or held_out,
                          material_families=tuple(FAMILIES)) as writer, \
            _rendering(renderer, plan.prints, workers) as scenes:
        # Worker processes start (and begin on the scenes) while this one renders the references.
        blank = PrintedScene(np.full((size, size, 3), 255, np.uint8), rig=rig, seed=seed)
        rng = np.random.default_rng([seed, 0xDA7A])
        writer.set_references(
            mean_reference(blank.dark(rng) for _ in range(REFERENCE_FRAMES)),
            {nm: mean_reference(blank.white(nm, rng) for _ in range(REFERENCE_FRAMES))
             for nm in leds}, exposure=rig.nominal_exposure)
        for planned, captures, truth_rgb, materials in tqdm(scenes, total=len(plan.prints),
                                                            unit="print", desc="capture",
                                                            disable=not progress):
            for name, exposure, raws in captures:
                writer.add_scene(name, raws, truth_rgb, source=planned.source,
                                 exposure=exposure, materials=materials)
        writer.finish()
    return Path(out)


def _capture_with_rig(args) -> Path:
    given = [f"--{opt}" for opt in SIM_ONLY if getattr(args, opt) is not None]
    given += [f"--{opt.replace('_', '-')}" for opt in ("held_out", "test_only")
              if getattr(args, opt)]
    if given:  # (--rig and --config are already exclusive in the parser)
        raise UserError(f"{', '.join(given)} cannot be combined with --config: the real rig "
                        "takes its LEDs and camera from the config file.")
    from device.procedures.dataset_capture import capture_with_rig

    return Path(capture_with_rig(args.config, args.out, count=args.count, force=args.force))


def run(args) -> int:
    if args.config is not None:
        out = _capture_with_rig(args)
    else:
        out = render_sim_capture_set(
            args.out, prints=args.prints, count=args.count,
            size=args.size if args.size is not None else DEFAULT_SIZE,
            seed=args.seed if args.seed is not None else 0,
            truth=args.truth or "human", leds=args.leds, force=args.force, mix=args.mix,
            held_out=args.held_out, test_only=args.test_only,
            workers=args.workers if args.workers is not None else default_workers(),
            light=args.light, gain=args.gain)
    print(f"capture set written to {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "capture", help="record a capture set (simulated rig, or the real one with --config)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--rig", choices=("sim",), default=None,
                        help="the simulated rig (the default when --config is not given)")
    source.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="real rig: the viewer's config file (camera, LED pins)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="capture-set folder to write")
    p.add_argument("--prints", type=Path, default=None, metavar="DIR",
                   help="folder of RGB images to print (default: the bundled content, "
                        "see --mix)")
    p.add_argument("--count", type=_int_option(1), default=None, metavar="N",
                   help=f"number of scenes (default: every image in --prints, or "
                        f"{DEFAULT_BUNDLED_COUNT} bundled ones)")
    p.add_argument("--size", type=_int_option(MIN_SIZE, MAX_SIZE), default=None, metavar="PX",
                   help=f"side of the square scenes in pixels (default: {DEFAULT_SIZE})")
    p.add_argument("--seed", type=_int_option(0), default=None, metavar="S",
                   help="seed of crops, generated scenes and sensor noise (default: 0)")
    p.add_argument("--truth", choices=("human", "paper"), default=None,
                   help="ground truth: 'human' (CIE observer, D65 -> sRGB; default) or 'paper' "
                        "(447/529/604 nm captures as B/G/R)")
    p.add_argument("--leds", type=_leds, default=None, metavar="NM,NM,...",
                   help="LED wavelengths in nm, comma-separated (default: 447,529,604,718,777,807)")
    p.add_argument("--mix", type=_mix, default=None, metavar="KIND=W,...",
                   help="weights of the bundled content's kinds (default: "
                        + ",".join(f"{k}={w:g}" for k, w in DEFAULT_MIX.items()) + ")")
    p.add_argument("--light", type=_levels("--light", lists=True), default=None,
                   metavar="F|LO-HI|A,B,...",
                   help="photons relative to the rig's nominal exposure (10 ms at its LED flux; "
                        "default 1): a factor, a range drawn log-uniformly per print (e.g. "
                        "1/16-2), or levels each print is taken at (e.g. 0.25,0.5,1: one scene "
                        "per level, named ...-L0.25)")
    p.add_argument("--gain", type=_levels("--gain", lists=False), default=None,
                   metavar="G|LO-HI",
                   help="analogue gain (default 1): it divides the electrons per ADU code, so "
                        "bright paper clips at the top code as on a camera; a range is drawn "
                        "log-uniformly per scene")
    p.add_argument("--held-out", action="store_true",
                   help="print only the held-out photos (never in training content), all "
                        "into the test split")
    p.add_argument("--test-only", action="store_true",
                   help="put every scene in the test split (an evaluation set)")
    p.add_argument("--workers", type=_int_option(1), default=None, metavar="N",
                   help="scenes rendered at once, in N processes (default: all cores); the "
                        "set is the same for every N")
    p.add_argument("--force", action="store_true",
                   help="replace the capture set in a non-empty --out")
    p.set_defaults(func=run)
