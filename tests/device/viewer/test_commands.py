"""`device calibrate`, `device bench` and `device demo` end to end, as a user runs them."""
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest

from device.viewer.preprocess import Calibration


def device(*args, cwd=None):
    result = subprocess.run([sys.executable, "-m", "device", *map(str, args)], cwd=cwd,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_calibrate_on_the_sim_rig_writes_references(tmp_path):
    (tmp_path / "rig.toml").write_text('[camera]\nuri = "v4l2:///dev/video9"\nwidth = 64\n'
                                       'height = 48\n[preprocess]\ncalibration = "cal.npz"\n')
    out = device("calibrate", "--config", tmp_path / "rig.toml", "--rig", "sim", "--frames", "2")
    assert "cal.npz" in out
    cal = Calibration.load(tmp_path / "cal.npz", (718, 777, 807), (48, 64))
    dark = cal.dark.mean()
    gains = [cal.whites[nm].mean() - dark for nm in (718, 777, 807)]
    assert 60 < dark < 70                   # the sensor's pedestal, all LEDs off
    assert gains[0] > gains[1] > gains[2] > 50   # silicon's response falls through the NIR


def test_bench_prints_the_stage_table(tmp_path):
    out = device("bench", "--frames", "12", "--width", "64", "--height", "48")
    lines = out.splitlines()
    assert lines[1].startswith("| stage") and "sliding window" in lines[1]
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in lines[3:]
            if line.startswith("|")}
    for stage in ("capture (ms)", "infer (ms)", "color fps", "sub-frames/s"):
        assert float(rows[stage][0].split()[0]) > 0 and float(rows[stage][1].split()[0]) > 0
    assert re.search(r"phase [\d.]+ ms, ecc [\d.]+ ms", out)


@pytest.mark.slow
def test_demo_writes_video_and_side_by_side_and_reports(tmp_path):
    out = device("demo", "--out", ".", "--frames", "12", "--width", "64", "--height", "48",
                 cwd=tmp_path)
    match = re.search(r"([\d.]+) fps, mean ΔE00 ([\d.]+)", out)
    assert match and float(match.group(1)) > 0 and 0 < float(match.group(2)) < 40
    cap = cv2.VideoCapture(str(tmp_path / "demo.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    still = cv2.imread(str(tmp_path / "demo.png"))
    assert still.shape == (48, 3 * 64, 3)
    nir, color, eye = (still[:, i * 64:(i + 1) * 64].astype(int) for i in range(3))
    # The NIR panel is grey; the model's panel and the truth are coloured.
    assert np.abs(nir[..., 0] - nir[..., 2])[12:].mean() < 2
    assert np.abs(color[..., 0] - color[..., 2])[12:].mean() > 5
    assert np.abs(eye[..., 0] - eye[..., 2])[12:].mean() > 5
