"""A trained model for the runtime tests: the shipped `edge` asset when it is there, else a tiny
edge model trained here with `train fit` on the shared tiny capture set and converted with
`convert` (tests may import train and convert; `device` itself never does)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from device.runtime.simrig import SHIPPED_MODEL


@pytest.fixture(scope="session")
def model_onnx(tmp_path_factory, request) -> Path:
    if SHIPPED_MODEL.is_file() and SHIPPED_MODEL.with_suffix(".json").is_file():
        return SHIPPED_MODEL
    tiny_capture_set = request.getfixturevalue("tiny_capture_set")
    run = tmp_path_factory.mktemp("tiny_edge")
    subprocess.run([sys.executable, "-m", "train", "fit", "--data", str(tiny_capture_set),
                    "--model", "edge", "--base", "8", "--iters", "300", "--crop", "48",
                    "--batch", "4", "--lr", "3e-3", "--val-every", "300", "--out", str(run)],
                   check=True, capture_output=True)
    ckpt = run / "edge.pt"
    shutil.copy(run / "best.pt", ckpt)
    subprocess.run([sys.executable, "-m", "convert", str(ckpt)], check=True, capture_output=True)
    return run / "edge.onnx"


@pytest.fixture
def sim_folder(tmp_path, model_onnx) -> Path:
    """A folder holding a config's relative files (calibration, outputs)."""
    return tmp_path
