"""`device capture`: record a capture set under the paper's dataset protocol.

`--rig sim` prints every image of `--prints DIR` (or, without it, the bundled photos and
generated scenes) on the simulated rig and captures each under every LED of `--leds`, plus
the dark frame and one white reference per LED from blank paper. Scene motion is off: dataset
prints lie still under the microscope, as in the paper.

`--config FILE` runs the same protocol on the real rig described by the viewer's config.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from device.captures import PAPER_TRUTH_NM, CaptureSetWriter
from device.captures.references import REFERENCE_FRAMES, mean_reference
from device.common.errors import UserError

DEFAULT_BUNDLED_COUNT = 200   # the paper's dataset: 200 printed faces
DEFAULT_SIZE = 256            # the paper trained on 256 x 256 crops
MIN_SIZE, MAX_SIZE = 16, 8192
SIM_ONLY = ("prints", "size", "seed", "truth", "leds")


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


def render_sim_capture_set(out, *, prints=None, count=None, size=DEFAULT_SIZE, seed=0,
                           truth="human", leds=None, force=False, progress=True) -> Path:
    """Render a capture set on the simulated rig; returns its folder.

    Every scene shares the rig and the camera (one `RigSpec`, one seed); sensor noise comes
    from generators seeded by (seed, scene index), so the same arguments give the same set.
    """
    from tqdm import tqdm

    from device.content import iter_prints
    from device.content.prints import list_prints
    from device.sim import DATASET_LEDS, PrintedScene, RigSpec

    leds = tuple(leds or DATASET_LEDS)
    if truth == "paper" and not set(PAPER_TRUTH_NM) <= set(leds):
        raise UserError(f"--truth paper merges the {'/'.join(map(str, PAPER_TRUTH_NM))} nm "
                        "captures as R/G/B, so --leds must include those LEDs.")
    if prints is None and count is None:
        count = DEFAULT_BUNDLED_COUNT
    artwork = iter_prints(prints, count, size, seed)  # checks --prints before writing anything
    rig = RigSpec(leds=leds)
    source = f"device capture --rig sim --prints {prints}" if prints else \
        "device capture --rig sim (bundled photos and generated scenes)"
    rig_description = {"kind": "sim", "spec": rig.to_dict(), "seed": seed}
    with CaptureSetWriter(out, leds, rig_description, truth, source, force=force) as writer:
        blank = PrintedScene(np.full((size, size, 3), 255, np.uint8), rig=rig, seed=seed)
        rng = np.random.default_rng([seed, 0xDA7A])
        writer.set_references(
            mean_reference(blank.dark(rng) for _ in range(REFERENCE_FRAMES)),
            {nm: mean_reference(blank.white(nm, rng) for _ in range(REFERENCE_FRAMES))
             for nm in leds})
        total = count if count is not None else len(list_prints(Path(prints)))
        for i, (name, rgb) in enumerate(tqdm(artwork, total=total, desc="capture", unit="scene",
                                             disable=not progress)):
            # One seed for every scene and the references: it is the simulated camera's
            # identity (its fixed-pattern gain), which the white reference must share.
            scene = PrintedScene(rgb, rig=rig, seed=seed)
            rng = np.random.default_rng([seed, i])
            writer.add_scene(name, {nm: scene.capture(nm, rng, motion=None) for nm in leds},
                             scene.ground_truth(mode=truth))
        writer.finish()
    return Path(out)


def _capture_with_rig(args) -> Path:
    given = [f"--{opt}" for opt in SIM_ONLY if getattr(args, opt) is not None]
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
            truth=args.truth or "human", leds=args.leds, force=args.force)
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
                   help="folder of RGB images to print (default: bundled photos and generated "
                        "scenes)")
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
    p.add_argument("--force", action="store_true",
                   help="replace the capture set in a non-empty --out")
    p.set_defaults(func=run)
