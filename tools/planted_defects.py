"""Plant the three defects of issue 20, one at a time, in a copy of the repository and run the
tests that should catch each: a record of whether the suite fails where the hardware is.

    .venv/bin/python tools/planted_defects.py            # this work tree (tracked + untracked)
    .venv/bin/python tools/planted_defects.py --ref main # a commit's tests, e.g. before a fix

Each defect is an exact text replacement in one source file (the script stops if the text is
gone, so a refactor that moves it shows here rather than passing silently); the copy is run
with this venv's Python from the copy's root, so the copy's modules are the ones imported.
Prints one table row per defect: the tests run, and "caught" (a test failed) or "SURVIVED".
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from worktree_copy import copy_tree   # tools/ is the script's folder, first on sys.path


@dataclass(frozen=True)
class Defect:
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


DEFECTS = (
    Defect("a NaN output passes the FP16 bound (NaN counted as the best sample)",
           "convert/bounds.py",
           "value = value if np.isfinite(value) else -math.inf",
           "value = value if np.isfinite(value) else math.inf",
           ("tests/convert",)),
    Defect("the TensorRT runner ignores an input shape outside the optimisation profile",
           "device/engines/trt_runner.py", "        if ok is False:\n", "        if False:\n",
           ("tests/device/engines",)),
    Defect("`device capture --workers N` never starts a worker",
           "device/commands/capture.py", "    if workers <= 1 or len(prints) <= 1:\n",
           "    if True:\n", ("tests/device/captures",)),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="a git commit or branch instead of the work tree")
    args = parser.parse_args()
    print(f"| planted defect | where | tests run | result ({args.ref or 'work tree'}) |")
    print("|---|---|---|---|")
    for defect in DEFECTS:
        with tempfile.TemporaryDirectory(prefix="planted-") as tmp:
            copy = Path(tmp)
            copy_tree(args.ref, copy)
            source = copy / defect.path
            text = source.read_text()
            if text.count(defect.old) != 1:
                raise SystemExit(f"{defect.path}: the text to plant over is not there once; "
                                 f"update DEFECTS in {Path(__file__).name}")
            source.write_text(text.replace(defect.old, defect.new))
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                  *defect.tests], cwd=copy, capture_output=True, text=True)
            summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr
            verdict = "caught" if run.returncode == 1 else \
                ("SURVIVED" if run.returncode == 0 else f"error (pytest exit {run.returncode})")
            print(f"| {defect.what} | `{defect.path}` | `{' '.join(defect.tests)}` | "
                  f"{verdict}: {summary.strip('= ')} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
