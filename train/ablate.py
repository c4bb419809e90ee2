"""`train ablate`: the paper's input ablation (Fig. 7) -- one model trained and evaluated on
each of the 7 non-empty subsets of the NIR wavelengths {718, 777, 807}."""
from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path

from device.captures import CaptureSet
from train.data import DEFAULT_INPUTS, check_inputs
from train.evaluate import FLOOR_COLUMNS, HEADERS, evaluate
from train.fit import add_fit_options, run_fit
from train.metrics import METRICS
from train.plots import ablation_bars
from train.tables import markdown_table, write_csv, write_text

SUBSETS = [s for n in (1, 2, 3) for s in itertools.combinations(DEFAULT_INPUTS, n)]
COLUMNS = ("inputs", *METRICS, *FLOOR_COLUMNS, "fid")


def run_ablate(args) -> int:
    cs = CaptureSet.open(args.data)
    check_inputs(cs, DEFAULT_INPUTS)
    out = Path(args.out)
    runs = []
    for subset in SUBSETS:
        run = out / "-".join(map(str, subset))
        # An interrupted ablation picks up where it stopped; finished runs are not retrained.
        fit_args = argparse.Namespace(**vars(args))
        fit_args.inputs, fit_args.out = subset, str(run)
        fit_args.resume = (run / "last.pt").exists()
        print(f"ablate: {args.model} on {'+'.join(map(str, subset))} nm -> {run}")
        run_fit(fit_args)
        runs.append(run / "best.pt")
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    rows = [r.summary for r in evaluate(cs, runs, args.tile, args.fid_weights)]
    write_csv(out / "ablation.csv", rows, COLUMNS)
    write_text(out / "ablation.md",
               f"# Input ablation: {args.model} on {cs.root} (test split)\n\n"
               + markdown_table(rows, COLUMNS, headers=HEADERS))
    ablation_bars(rows, ("psnr", "ssim", "delta_e00"), out / "ablation.png")
    print(markdown_table(rows, COLUMNS, headers=HEADERS), end="")
    print(f"wrote {out}/ablation.md, ablation.csv, ablation.png")
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ablate", help="train and evaluate on all 7 subsets of 718/777/807 nm (Fig. 7)",
        description="Input ablation: one run per subset of the NIR wavelengths, then a table "
                    "and bar plot of the test metrics.")
    add_fit_options(parser)
    parser.add_argument("--out", required=True, help="folder for the 7 runs and the table")
    parser.add_argument("--fid-weights", help="FID Inception-v3 weights file")
    parser.add_argument("--tile", type=int, default=512)
    parser.set_defaults(func=run_ablate)
