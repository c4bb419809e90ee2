"""The published spectral tables the material models are built on, read once from the CSV files
in `data/` (shipped with the package; nothing is downloaded) and put on the twin's 1 nm grid.

- `prospect_d.csv`: PROSPECT-D leaf constants (Féret et al. 2017), 400-1000 nm, from the authors'
  MIT-licensed R package (licence and source in the file's header).
- `hemoglobin.csv`: Prahl's molar extinction of oxy- and deoxyhaemoglobin, 380-1000 nm, from
  MNE-Python's BSD-3 distribution of it (licence and source in the file's header).

Both tables start at or before 400 nm; below their first row the first value is held (the
colour-matching functions give 380-400 nm about 0.1 % of the visible weight).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from device.sim.spectra import WAVELENGTHS

DATA = Path(__file__).resolve().parent / "data"


@functools.lru_cache(maxsize=None)
def table(name: str) -> dict[str, np.ndarray]:
    """{column: values on WAVELENGTHS} of `data/<name>.csv` (first column: nm), read once."""
    path = DATA / f"{name}.csv"
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    header = lines[0].strip().split(",")
    values = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    nm = values[:, 0]
    columns = {col: np.interp(WAVELENGTHS, nm, values[:, i])
               for i, col in enumerate(header) if i > 0}
    for column in columns.values():
        column.flags.writeable = False   # shared by every caller through the cache
    return columns
