"""Helpers for the capture-set tests: a synthetic set written with the real writer, and the
command lines run as users run them (a subprocess, so exit codes and stderr are real)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from device.captures import CaptureSetWriter

WAVELENGTHS = (447, 529, 604, 718, 777, 807)


def write_synthetic_set(out, n_scenes=5, size=(24, 32), seed=0):
    """A capture set of random uint16 captures; returns the arrays written, for comparison."""
    rng = np.random.default_rng(seed)
    h, w = size
    written = {"dark": rng.integers(50, 150, size, dtype=np.uint16),
               "white": {nm: rng.integers(3000, 4000, size, dtype=np.uint16) for nm in WAVELENGTHS},
               "scenes": {}}
    with CaptureSetWriter(out, WAVELENGTHS, {"kind": "synthetic", "seed": seed}, "human",
                          "tests") as writer:
        writer.set_references(written["dark"], written["white"])
        for i in range(n_scenes):
            raws = {nm: rng.integers(0, 4096, size, dtype=np.uint16) for nm in WAVELENGTHS}
            truth = rng.random((h, w, 3), dtype=np.float32)
            writer.add_scene(f"scene-{i}", raws, truth)
            written["scenes"][f"scene-{i}"] = (raws, truth)
        writer.finish()
    return written


@pytest.fixture
def synthetic_set(tmp_path):
    out = tmp_path / "set"
    return out, write_synthetic_set(out)


def run_cli(*args, module="device", cwd=None):
    """Run `python -m <module> args...`; returns the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def assert_refused(proc, *needles):
    """Exit code 2, no traceback, and one `error:` line (one sentence) holding every needle."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    message = errors[0].split("error:", 1)[1].strip()
    assert message.count(". ") == 0, f"more than one sentence: {message}"
    for needle in needles:
        assert needle in message, (needle, message)
    return message


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def refused():
    return assert_refused
