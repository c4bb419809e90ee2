"""`train families`: each checkpoint's colour error on the pixels of each material family (ink,
skin, leaf, cloth) of a capture set with material maps (`device capture --mix face-skin=...`),
beside two per-pixel Bayes floors of the same pixels (`device.sim.floor`):

- family floor: the posterior over that family's own prior (`device.sim.materials`), each
  surface dimmed by a shade uniform in SHADE (the generated scenes shade faces to their rim,
  foliage in sun and shadow, creases in cloth: 0.55-1), the least error of an estimator that
  knows what the pixel is made of and reads only its LEDs;
- ink floor: the posterior over uniform sRGB prints (the floor `train eval` reports), the least
  error of one that takes every pixel for ink.

ΔE00 is averaged over every pixel of a family in the evaluated scenes (a family's pixels pooled,
so a scene that is mostly leaves weighs more for leaves); the floors on a random sample of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from device.captures import CaptureSet
from device.common.errors import UserError
from train.evaluate import evaluate_checkpoint, evaluation_scenes
from train.floor import unavailable_reason
from train.tables import markdown_table, write_csv, write_text

FLOOR_PIXELS = 4096      # pixels of each family the floors are measured on
SHADE = (0.5, 1.0)       # light on a material pixel, relative to full light (family floor)
COLUMNS = ("family", "pixels", "floor_family", "floor_ink")


def _family_pixels(cs: CaptureSet, scenes: Sequence[str]) -> dict[int, list[np.ndarray]]:
    """{family code: per scene, the flat indices of its pixels}."""
    out: dict[int, list[np.ndarray]] = {}
    for k, scene in enumerate(scenes):
        codes = cs.load_materials(scene)
        codes = np.zeros(cs.size, np.uint16) if codes is None else codes
        for code in np.unique(codes):
            out.setdefault(int(code), [np.zeros(0, int)] * len(scenes))[k] = \
                np.flatnonzero(codes.ravel() == code)
    return out


def _floors(cs: CaptureSet, scenes, pixels: dict[int, list[np.ndarray]], inputs, n: int,
            references: int, seed: int) -> dict[int, tuple[float, float]]:
    """{code: (family-prior floor, ink-prior floor)} on up to `n` pixels of each family."""
    from device.sim.colorimetry import delta_e00_lab, srgb_to_lab
    from device.sim.floor import camera_noise, posterior_mean, print_colours, uniform_rgb
    from device.sim.materials import FAMILIES
    from device.sim.materials.readings import surface_colours
    from device.sim.rig_spec import RigSpec

    rig = RigSpec.from_dict(cs.rig["spec"])
    noise = camera_noise(rig, inputs)
    rng = np.random.default_rng([seed, 0xFA])
    ink = print_colours(uniform_rgb(references, rng), inputs, rig)
    nir = [cs.load_nir(s, inputs).reshape(-1, len(inputs)) for s in scenes]
    truth = [cs.load_truth(s).reshape(-1, 3) for s in scenes]
    out = {}
    for code, per_scene in pixels.items():
        where = [(k, i) for k, idx in enumerate(per_scene) for i in idx]
        pick = rng.choice(len(where), min(n, len(where)), replace=False)
        observed = np.array([nir[where[j][0]][where[j][1]] for j in pick])
        lab = srgb_to_lab(np.array([truth[where[j][0]][where[j][1]] for j in pick]))
        family = FAMILIES[cs.material_families[code]]
        refs = (ink if family.name == "ink" else
                surface_colours(family, family.sample(rng, references), inputs, rig,
                                shade=rng.uniform(*SHADE, references)))
        own = posterior_mean(observed, refs.readings, refs.lab,
                             noise.variance(refs.readings, inputs))
        as_ink = posterior_mean(observed, ink.readings, ink.lab,
                                noise.variance(ink.readings, inputs))
        out[code] = (float(np.mean(delta_e00_lab(lab, own))),
                     float(np.mean(delta_e00_lab(lab, as_ink))))
    return out


def family_table(cs: CaptureSet, paths: Sequence[Path], labels: Sequence[str],
                 scenes: Sequence[str], tile: int = 512, floor_pixels: int = FLOOR_PIXELS,
                 references: int = 1 << 15, seed: int = 0
                 ) -> tuple[list[dict], dict, tuple[int, ...]]:
    """Rows (one per family present, then all pixels), the predictions {label: {scene:
    HxWx3}} and the checkpoints' input wavelengths."""
    from device.sim.colorimetry import delta_e00

    if not cs.material_families:
        raise UserError(f"{cs.root}: the capture set has no material maps; capture one with "
                        "materials in the mix (device capture --rig sim --mix face-skin=1,"
                        "foliage-leaf=1,clothes-cloth=1 ...).")
    why = unavailable_reason(cs)
    if why is not None:
        raise UserError(f"{cs.root}: no floor for this set: {why}.")
    pixels = _family_pixels(cs, scenes)
    rows = {code: {"family": cs.material_families[code],
                   "pixels": int(sum(len(i) for i in per_scene))}
            for code, per_scene in sorted(pixels.items())}
    rows["all"] = {"family": "all", "pixels": int(np.prod(cs.size)) * len(scenes)}
    predictions, inputs = {}, set()
    for path, label in zip(paths, labels):
        result = evaluate_checkpoint(cs, path, label, tile, None, None, scenes)
        inputs.add(result.summary["inputs"])
        if len(inputs) > 1:
            raise UserError(f"{path}: reads {result.summary['inputs']} nm, not the "
                            f"{min(inputs - {result.summary['inputs']})} nm of the checkpoints "
                            "before it; compare models that read the same LEDs.")
        predictions[label] = result.predictions
        errors = {s: delta_e00(result.predictions[s], cs.load_truth(s)).ravel() for s in scenes}
        for code, per_scene in pixels.items():
            rows[code][label] = float(np.mean(np.concatenate(
                [errors[s][idx] for s, idx in zip(scenes, per_scene)])))
        rows["all"][label] = float(np.mean(np.concatenate(list(errors.values()))))
    inputs = tuple(int(nm) for nm in inputs.pop().split("+"))
    for code, (own, ink) in _floors(cs, scenes, pixels, inputs, floor_pixels, references,
                                    seed).items():
        rows[code]["floor_family"], rows[code]["floor_ink"] = own, ink
        for label in labels:
            rows[code][f"{label} / floor"] = rows[code][label] / own
    return list(rows.values()), predictions, inputs


def family_grid(cs: CaptureSet, scenes: Sequence[str], predictions: dict, path: Path,
                inputs: Sequence[int]) -> None:
    """Per family the scene most made of it: NIR (the inputs' mean) | each model | eye."""
    import cv2

    from device.common.files import atomic_output

    rows = []
    for code, name in enumerate(cs.material_families):
        share = [float(np.mean(m == code)) if (m := cs.load_materials(s)) is not None else
                 float(code == 0) for s in scenes]
        if max(share) == 0:
            continue
        scene = scenes[int(np.argmax(share))]
        nir = np.repeat(cs.load_nir(scene, inputs).mean(axis=2, keepdims=True), 3, axis=2)
        panels = [nir, *(p[scene] for p in predictions.values()), cs.load_truth(scene)]
        rows.append(np.concatenate(panels, axis=1))
    image = (np.clip(np.concatenate(rows, axis=0), 0, 1) * 255 + 0.5).astype(np.uint8)
    with atomic_output(path) as tmp:
        cv2.imwrite(str(tmp), cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_PNG_COMPRESSION, 9])


def run_families(args) -> int:
    from train.evaluate import _label

    cs = CaptureSet.open(args.data)
    scenes = evaluation_scenes(cs, args.split, args.scenes)
    paths = [Path(p) for p in args.ckpt]
    labels = [_label(p, paths) for p in paths]
    if args.floor_pixels < 10 or args.references < 256:
        raise UserError(f"--floor-pixels must be at least 10 and --references at least 256, "
                        f"got {args.floor_pixels} and {args.references}.")
    rows, predictions, inputs = family_table(cs, paths, labels, scenes, args.tile,
                                             args.floor_pixels, args.references)
    columns = [*COLUMNS, *labels, *(f"{label} / floor" for label in labels)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "families.csv", rows, columns)
    table = markdown_table(rows, columns, digits=2)
    write_text(out / "report.md", f"# ΔE00 per material family on {cs.root} ({args.split} split, "
                                  f"{len(scenes)} scenes)\n\n{__doc__}\n{table}")
    family_grid(cs, scenes, predictions, out / "grid.png", inputs)
    print(table, end="")
    print(f"wrote {out}/report.md, families.csv, grid.png (per family: NIR | "
          f"{' | '.join(labels)} | eye)")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "families", help="ΔE00 per material family (ink, skin, leaf, cloth) beside its floors",
        description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="capture set with material maps")
    parser.add_argument("--ckpt", required=True, nargs="+", help="checkpoints to compare")
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--split", choices=("test", "val", "train"), default="test")
    parser.add_argument("--scenes", type=int, metavar="N", help="only the first N scenes")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--floor-pixels", type=int, default=FLOOR_PIXELS, metavar="N",
                        help="pixels of each family the floors are measured on (default "
                             "%(default)s)")
    parser.add_argument("--references", type=int, default=1 << 15, metavar="N",
                        help="surfaces of each prior in the floors' posterior sums (default "
                             "%(default)s)")
    parser.set_defaults(func=run_families)
