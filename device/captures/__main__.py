"""`python -m device.captures DIR`: check a capture set and print what it holds.

The same validation `train` runs when it opens the set, without starting a training run.
"""
from __future__ import annotations

import argparse
import sys

from device.common.errors import UserError
from device.captures.reader import CaptureSet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="device.captures", description=__doc__.splitlines()[0])
    parser.add_argument("path", metavar="DIR", help="capture-set folder")
    parser.add_argument("--load", action="store_true",
                        help="also decode every image (finds corruption behind intact headers)")
    args = parser.parse_args(argv)
    try:
        cs = CaptureSet.open(args.path)
        if args.load:
            for scene in cs.scenes:
                cs.load_nir(scene, cs.wavelengths)
                cs.load_truth(scene)
    except UserError as exc:
        print(f"device.captures: error: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{len(v)} {k}" for k, v in cs.split.items())
    counts += f"; split by {cs.split_unit}, {len(set(cs.sources.values()))} sources"
    lights = sorted({cs.relative_photons(s) for s in cs.scenes})
    light = (f", light {lights[0]:.3g}" if len(lights) == 1 else
             f", light {lights[0]:.3g}-{lights[-1]:.3g} ({len(lights)} levels)")
    print(f"{cs.root}: capture set v{cs.manifest['version']}, {len(cs)} scenes ({counts}), "
          f"{cs.size[1]}x{cs.size[0]} px, {', '.join(map(str, cs.wavelengths))} nm, "
          f"truth {cs.truth_mode}, rig {cs.rig.get('kind', '?')}{light}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
