"""Writing result tables: CSV and Markdown, atomically."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Mapping, Sequence

from device.common.files import atomic_output


def _cell(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    with atomic_output(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def markdown_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], digits: int = 4,
                   headers: Mapping[str, str] | None = None) -> str:
    """A Markdown table of `columns`; `headers` renames some of them for readers."""
    names = [(headers or {}).get(c, c) for c in columns]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, ""), digits) for c in columns) + " |"
              for row in rows]
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text)
