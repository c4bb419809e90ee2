"""Measured ink spectra as a CSV file, so the printer can print with an engineer's own inks.

Format (one header line, then one row per wavelength; lines starting with '#' are comments):

    nm,cyan,magenta,yellow,black,paper
    380,0.412,0.393,0.062,0.051,0.716
    ...
    1000,0.755,0.760,0.900,0.061,0.880

- `nm` first, then `cyan`, `magenta`, `yellow`, `black` in any order, and optionally `paper`;
  no other columns.
- Rows in increasing nm that cover 380 to 1000 nm with no gap wider than 10 nm (a 30 nm LED
  band must be resolved); values in between are interpolated linearly onto the 1 nm grid.
- Ink columns: reflectance of a solid patch of that ink relative to the bare paper (the
  spectrophotometer's reading of the patch divided by its reading of the paper, what the
  paper's Fig. 4 plots). `paper`: the paper's absolute reflectance; without it the sim's paper
  is kept. Every value is a finite number from 0 to 1.5.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from device.common.errors import UserError
from device.common.files import atomic_output
from device.sim.spectra import INKS, SIM_INKS, WAVELENGTHS, InkSpectra

REQUIRED = INKS
OPTIONAL = ("paper",)
MAX_GAP_NM = 10.0
MAX_VALUE = 1.5


def _header_problem(header: list[str]) -> str | None:
    if not header or header[0] != "nm":
        return "the first column must be 'nm'"
    names = header[1:]
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    missing = [n for n in REQUIRED if n not in names]
    if unknown or missing or len(set(names)) != len(names):
        return (f"the header must be nm,{','.join(REQUIRED)} (+ optional paper), each once, "
                f"got {','.join(header)}")
    return None


def read_inks_csv(path) -> InkSpectra:
    """The ink set of a measured CSV; UserError (one sentence naming the file) if it is bad."""
    path = Path(path)

    def bad(what: str) -> UserError:
        return UserError(f"--inks {path}: {what}.")

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f)
                    if row and not row[0].lstrip().startswith("#")]
    except FileNotFoundError:
        raise bad("no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"cannot be read as a text CSV ({exc.__class__.__name__})") from None
    if not rows:
        raise bad("the file holds no header and no rows")
    header = [cell.strip().lower() for cell in rows[0]]
    problem = _header_problem(header)
    if problem:
        raise bad(problem)
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise bad(f"data row {line - 1} has {len(row)} values, the header names "
                      f"{len(header)}")
        try:
            numbers = [float(cell) for cell in row]
        except ValueError:
            raise bad(f"data row {line - 1} holds a value that is not a number: "
                      f"{','.join(row)}") from None
        if not all(math.isfinite(v) for v in numbers):
            raise bad(f"data row {line - 1} holds a value that is not finite")
        values.append(numbers)
    table = np.array(values).reshape(-1, len(header))
    nm = table[:, 0]
    if len(nm) < 2 or np.any(np.diff(nm) <= 0):
        raise bad("the nm column must hold at least two wavelengths in increasing order")
    if nm[0] > WAVELENGTHS[0] or nm[-1] < WAVELENGTHS[-1]:
        raise bad(f"the rows cover {nm[0]:g}-{nm[-1]:g} nm but must cover "
                  f"{WAVELENGTHS[0]:g}-{WAVELENGTHS[-1]:g} nm")
    gaps = np.diff(nm)
    in_range = (nm[1:] > WAVELENGTHS[0]) & (nm[:-1] < WAVELENGTHS[-1])
    wide = np.flatnonzero(in_range & (gaps > MAX_GAP_NM))
    if wide.size:
        i = wide[0]
        raise bad(f"the rows jump from {nm[i]:g} to {nm[i + 1]:g} nm; at most {MAX_GAP_NM:g} nm "
                  "between rows, so that an LED band is resolved")
    body = table[:, 1:]
    if body.min() < 0 or body.max() > MAX_VALUE:
        raise bad(f"reflectance values must lie between 0 and {MAX_VALUE:g}, found "
                  f"{body.min():g} to {body.max():g}")
    tables = {name: np.interp(WAVELENGTHS, nm, table[:, i + 1])
              for i, name in enumerate(header[1:])}
    if "paper" in tables and tables["paper"].min() <= 0:
        raise bad("the paper column must be above 0 everywhere (inks are relative to it)")
    return InkSpectra(source=str(path), tables=tables)


def write_inks_csv(path, spectra: InkSpectra = SIM_INKS, with_paper: bool = True) -> None:
    """Write `spectra` on the 1 nm grid in the format `read_inks_csv` reads."""
    columns = list(INKS) + (["paper"] if with_paper else [])
    curves = [spectra.ink(name, WAVELENGTHS) for name in INKS]
    if with_paper:
        curves.append(spectra.paper(WAVELENGTHS))
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(f"# ink reflectance relative to paper; paper absolute ({spectra.source})\n")
        writer = csv.writer(f)
        writer.writerow(["nm", *columns])
        for i, nm in enumerate(WAVELENGTHS):
            writer.writerow([f"{nm:g}", *(f"{curve[i]:.6f}" for curve in curves)])
