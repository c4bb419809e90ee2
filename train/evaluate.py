"""`train eval`: whole test images through each checkpoint, the paper's metrics per image and
mean beside the per-pixel Bayes floor of the same images, Markdown + CSV tables, the comparison
grid (Fig. 9) and zoomed patches (Fig. 6)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from device.captures import CaptureSet
from device.common.errors import UserError
from train.checkpoint import load_checkpoint
from train.data import FROM_REFLECTANCE, TO_SRGB, check_split
from train.floor import FLOOR_PIXELS, SetFloor, capture_set_floor
from train.infer import predict
from train.metrics import METRICS, FidUnavailable, fid, image_metrics
from train.models.flops import flops_per_pixel
from train.plots import comparison_grid, zoom_box
from train.tables import markdown_table, write_csv, write_text

FLOOR_COLUMNS = ("floor_delta_e00", "delta_e00_over_floor")
SUMMARY_COLUMNS = ("model", "checkpoint", "inputs", "mflops_per_px", "ms_per_image",
                   *METRICS, *FLOOR_COLUMNS, "fid")
IMAGE_COLUMNS = ("model", "checkpoint", "scene", "light", "ms", *METRICS, *FLOOR_COLUMNS)
LEVEL_COLUMNS = ("model", "checkpoint", "light", "exposure_ms", "images", "delta_e00",
                 *FLOOR_COLUMNS, "worst_over_floor", "psnr")
HEADERS = {"floor_delta_e00": "floor ΔE00", "delta_e00_over_floor": "ΔE00 / floor",
           "light": "light (× nominal photons)", "exposure_ms": "same photons: ms at the rig's flux",
           "worst_over_floor": "worst image / its floor", "delta_e00": "ΔE00"}
FIGURE_SCENES = 4


@dataclass
class Evaluated:
    """One checkpoint's results on the evaluated scenes (the test split by default)."""
    label: str
    summary: dict[str, Any]
    per_image: list[dict[str, Any]]
    predictions: dict[str, np.ndarray] = field(repr=False)


def _label(path: Path, paths: Sequence[Path]) -> str:
    """Shortest unambiguous name: 'best' -> 'unet/best' -> full path."""
    for candidate in (path.stem, f"{path.parent.name}/{path.stem}", str(path)):
        if sum(1 for p in paths if candidate in (p.stem, f"{p.parent.name}/{p.stem}", str(p))) == 1:
            return candidate
    return str(path)


def _with_floor(row: dict[str, Any], floor: float | None) -> dict[str, Any]:
    """`row` plus the floor of its images and the model's ΔE00 as a multiple of it."""
    if floor is None:
        return {**row, "floor_delta_e00": "n/a", "delta_e00_over_floor": "n/a"}
    return {**row, "floor_delta_e00": floor, "delta_e00_over_floor": row["delta_e00"] / floor}


def evaluate_checkpoint(cs: CaptureSet, path: Path, label: str, tile: int,
                        fid_weights: str | None, floors=None,
                        scenes: Sequence[str] | None = None) -> Evaluated:
    """`floors(inputs) -> SetFloor` gives the floor for the model's input wavelengths;
    `scenes` defaults to the test split."""
    model, config = load_checkpoint(path)
    inputs = tuple(config.get("inputs", ()))
    _check_fits(cs, path, config, inputs)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    white = None
    if config["model"].get("noise_input"):
        from train.light import white_electrons, white_sigma

        rig, white = white_electrons(cs, inputs)
    rows, preds, truths = [], {}, []
    for scene in (check_split(cs, "test") if scenes is None else scenes):
        noise = None if white is None else torch.from_numpy(
            white_sigma(white, [cs.relative_photons(scene)], rig.read_noise_e))
        rgb, ms = _predict_scene(model, cs, scene, inputs, config["spatial_multiple"], tile,
                                 noise)
        truth = cs.load_truth(scene)
        truths.append(truth)
        preds[scene] = rgb
        rows.append({"model": config["model"]["name"], "checkpoint": label, "scene": scene,
                     "light": cs.relative_photons(scene), "ms": ms,
                     **image_metrics(truth, rgb)})
    summary = {"model": config["model"]["name"], "checkpoint": label,
               "inputs": "+".join(map(str, inputs)),
               "mflops_per_px": flops_per_pixel(model.cpu(), len(inputs), 64) / 1e6,
               "ms_per_image": float(np.mean([r["ms"] for r in rows]))}
    summary.update({name: float(np.mean([r[name] for r in rows])) for name in METRICS})
    floor = floors(inputs) if floors else SetFloor(None, "n/a: not computed")
    rows = [_with_floor(r, None if floor.per_image is None else floor.per_image[r["scene"]])
            for r in rows]
    summary = _with_floor(summary, floor.mean)
    summary["floor_note"] = floor.note
    try:
        summary["fid"] = fid(truths, list(preds.values()), fid_weights)
    except FidUnavailable as why:
        summary["fid"] = f"unavailable: {why}"
    return Evaluated(label, summary, rows, preds)


def _check_fits(cs: CaptureSet, path: Path, config: dict[str, Any],
                inputs: tuple[int, ...]) -> None:
    """The checkpoint reads wavelengths, truth and normalisation that the capture set has."""
    missing = [nm for nm in inputs if nm not in cs.wavelengths]
    if missing:
        raise UserError(f"{path}: model needs {missing[0]} nm captures, which capture set "
                        f"{cs.root} lacks.")
    if config.get("truth_mode") != cs.truth_mode:
        raise UserError(f"{path}: trained on {config.get('truth_mode')!r} ground truth but "
                        f"capture set {cs.root} holds {cs.truth_mode!r} truth.")
    if config.get("normalisation", {}).get("input") != FROM_REFLECTANCE:
        raise UserError(f"{path}: input normalisation {config.get('normalisation')} is not "
                        "the reflectance -> [-1, 1] scaling this code feeds.")


def _predict_scene(model: torch.nn.Module, cs: CaptureSet, scene: str, inputs: tuple[int, ...],
                   spatial_multiple: int, tile: int,
                   noise: torch.Tensor | None = None) -> tuple[np.ndarray, float]:
    """The model's sRGB picture of one scene (H x W x 3 in [0, 1]) and the milliseconds it
    took; `noise`: the per-LED noise level, for a model that takes one."""
    nir = cs.load_nir(scene, inputs) * FROM_REFLECTANCE["scale"] + FROM_REFLECTANCE["offset"]
    x = torch.from_numpy(np.ascontiguousarray(nir.transpose(2, 0, 1)))[None]
    start = time.perf_counter()
    out = predict(model, x, spatial_multiple, tile=tile, noise=noise)
    ms = (time.perf_counter() - start) * 1e3
    rgb = np.clip(out[0].numpy().transpose(1, 2, 0) * TO_SRGB["scale"] + TO_SRGB["offset"],
                  0.0, 1.0)
    return rgb, ms


def per_level(cs: CaptureSet, results: Sequence[Evaluated]) -> list[dict[str, Any]]:
    """Each model's mean ΔE00 at each light level of the evaluated scenes, beside the mean
    floor of those scenes (each at its own noise) and the worst image's ratio to its floor."""
    nominal_ms = cs.reference_exposure.exposure_ms if cs.reference_exposure else None
    table = []
    for result in results:
        for light in sorted({r["light"] for r in result.per_image}):
            rows = [r for r in result.per_image if r["light"] == light]
            row = {"model": result.summary["model"], "checkpoint": result.label,
                   "light": light, "images": len(rows),
                   "exposure_ms": "n/a" if nominal_ms is None else light * nominal_ms,
                   "delta_e00": float(np.mean([r["delta_e00"] for r in rows])),
                   "psnr": float(np.mean([r["psnr"] for r in rows]))}
            floors = [r["floor_delta_e00"] for r in rows]
            if "n/a" in floors:
                row.update(floor_delta_e00="n/a", delta_e00_over_floor="n/a",
                           worst_over_floor="n/a")
            else:
                row = _with_floor(row, float(np.mean(floors)))
                row["worst_over_floor"] = max(r["delta_e00_over_floor"] for r in rows)
            table.append(row)
    return table


def evaluation_scenes(cs: CaptureSet, split: str = "test", limit: int | None = None) -> list[str]:
    """The first `limit` scenes (all by default) of a split. A bundled capture interleaves its
    kinds in proportion (`device.content.prints.mix_sequence`), so a prefix is a fair sample."""
    if limit is not None and limit < 1:
        raise UserError(f"--scenes must be at least 1, got {limit}.")
    return check_split(cs, split)[:limit]


def evaluate(cs: CaptureSet, paths: Sequence[Path], tile: int, fid_weights: str | None,
             floor_pixels: int = FLOOR_PIXELS, scenes: Sequence[str] | None = None
             ) -> list[Evaluated]:
    if tile < 16:
        raise UserError(f"--tile {tile} is too small (at least 16 pixels).")
    if floor_pixels < 0:
        raise UserError(f"--floor-pixels must be 0 (no floor) or more, got {floor_pixels}.")
    scenes = list(check_split(cs, "test") if scenes is None else scenes)
    cache: dict[tuple[int, ...], SetFloor] = {}

    def floors(inputs: tuple[int, ...]) -> SetFloor:
        # one floor per set of input wavelengths: checkpoints that read the same LEDs share it
        if inputs not in cache:
            cache[inputs] = (SetFloor(None, "n/a: not computed (--floor-pixels 0)")
                             if floor_pixels == 0 else
                             capture_set_floor(cs, scenes, inputs, floor_pixels))
        return cache[inputs]

    return [evaluate_checkpoint(cs, p, _label(p, paths), tile, fid_weights, floors, scenes)
            for p in paths]


def write_report(cs: CaptureSet, results: Sequence[Evaluated], out: Path,
                 split: str = "test") -> None:
    out.mkdir(parents=True, exist_ok=True)
    summaries = [r.summary for r in results]
    write_csv(out / "summary.csv", summaries, SUMMARY_COLUMNS)
    write_csv(out / "per_image.csv", [row for r in results for row in r.per_image], IMAGE_COLUMNS)
    levels = per_level(cs, results)
    write_csv(out / "per_level.csv", levels, LEVEL_COLUMNS)
    md = [f"# Evaluation on {cs.root} ({split} split, {len(results[0].per_image)} images, "
          f"{cs.truth_mode} truth)\n",
          ("" if split == "test" else f"The {split} split: scenes the models may have "
                                      "trained on, not a test. ")
          + "Means over whole images. PSNR, SSIM: higher is better; MSE, angular error "
          "(degrees), ΔE00, FID: lower is better. Floor ΔE00: the least mean ΔE00 an "
          "estimator reaches from each pixel's own readings (no context); a model below 1.0 × "
          "floor has learned context. Sharpness: the output's gradient energy over the truth's "
          "(mean squared Sobel magnitude), 1 = as sharp as the truth, < 1 blurrier.\n",
          *sorted({f"- Floor for {r.summary['inputs']} nm: {r.summary['floor_note']}."
                   for r in results}), "",
          markdown_table(summaries, SUMMARY_COLUMNS, headers=HEADERS),
          "\n## Per light level\n",
          "Light: photo-electrons relative to the white references' exposure (1 = the rig's "
          "nominal, e.g. 10 ms at the simulated rig's LED flux); each level's floor is taken "
          "at that level's camera noise.\n",
          markdown_table(levels, LEVEL_COLUMNS, headers=HEADERS),
          "\n## Per image\n",
          markdown_table([row for r in results for row in r.per_image], IMAGE_COLUMNS,
                         headers=HEADERS)]
    write_text(out / "report.md", "\n".join(md))
    scenes = list(results[0].predictions)[:FIGURE_SCENES]
    grid = [(s, cs.load_truth(s), {r.label: r.predictions[s] for r in results}) for s in scenes]
    comparison_grid(grid, out / "grid.png")
    box = zoom_box(grid[0][1].shape)
    comparison_grid([(s, truth[box], {k: v[box] for k, v in preds.items()})
                     for s, truth, preds in grid], out / "patches.png")


def run_eval(args) -> int:
    cs = CaptureSet.open(args.data)
    scenes = evaluation_scenes(cs, args.split, args.scenes)
    results = evaluate(cs, [Path(p) for p in args.ckpt], args.tile, args.fid_weights,
                       args.floor_pixels, scenes)
    write_report(cs, results, Path(args.out), args.split)
    print(markdown_table([r.summary for r in results], SUMMARY_COLUMNS, headers=HEADERS), end="")
    levels = per_level(cs, results)
    if len({row["light"] for row in levels}) > 1:
        print(markdown_table(levels, LEVEL_COLUMNS, headers=HEADERS), end="")
    print(f"wrote {args.out}/report.md, summary.csv, per_image.csv, per_level.csv, grid.png, "
          "patches.png")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval", help="evaluate checkpoints on a capture set's test images",
        description="Metrics per test image and mean, tables, comparison grid and zoomed patches.")
    parser.add_argument("--data", required=True, help="capture set folder")
    parser.add_argument("--ckpt", required=True, nargs="+", help="checkpoint files to compare")
    parser.add_argument("--out", required=True, help="report folder")
    parser.add_argument("--fid-weights", help="FID Inception-v3 weights file "
                        "(pt_inception-2015-12-05-6726825d.pth); without it FID is unavailable")
    parser.add_argument("--tile", type=int, default=512,
                        help="images larger than this run in overlapping tiles")
    parser.add_argument("--split", choices=("test", "val", "train"), default="test",
                        help="which split to evaluate (default test; train measures what the "
                             "models saw, e.g. for a seen / unseen ratio)")
    parser.add_argument("--scenes", type=int, metavar="N",
                        help="only the first N scenes of the split (a proportional sample)")
    parser.add_argument("--floor-pixels", type=int, default=FLOOR_PIXELS, metavar="N",
                        help="pixels sampled per test image for the per-pixel Bayes floor "
                             "column (default %(default)s; 0 leaves the floor out)")
    parser.set_defaults(func=run_eval)
