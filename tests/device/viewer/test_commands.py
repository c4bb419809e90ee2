"""`device calibrate`, `device bench` and `device demo` end to end, as a user runs them."""
import json
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


def test_bench_compares_the_classic_and_fused_paths(tmp_path):
    out = device("bench", "--frames", "3", "--width", "64", "--height", "48")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:4]]
            for line in out.splitlines() if line.startswith("| ")}
    assert rows["stage"] == ["classic", "fused"]
    classic, fused = (float(v) for v in rows["CPU outside the engine (ms/frame)"])
    assert classic > 0 and fused > 0
    assert rows["postprocess (ms)"][0] != "-" and rows["normalise (ms)"][1] == "-"
    assert float(rows["engine (ms/frame)"][0]) > 0 and float(rows["engine (ms/frame)"][1]) > 0
    device("bench", "--frames", "2", "--width", "64", "--height", "48",
           "--json", tmp_path / "bench.json")
    result = json.loads((tmp_path / "bench.json").read_text())
    assert (result["width"], result["height"]) == (64, 48)
    for path in ("classic", "fused"):
        numbers = result["paths"][path]
        assert set(numbers) == {"cpu_ms_per_frame", "engine_ms_per_frame", "stages_ms"}
        assert numbers["cpu_ms_per_frame"] == pytest.approx(
            sum(v for k, v in numbers["stages_ms"].items() if k != "engine"))
        assert numbers["engine_ms_per_frame"] == numbers["stages_ms"]["engine"] > 0


def test_bench_live_prints_the_stage_table():
    out = device("bench", "--frames", "1", "--width", "64", "--height", "48", "--live",
                 "--live-frames", "12")
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("live viewer"))
    assert lines[start + 1].startswith("| stage") and "sliding window" in lines[start + 1]
    rows = {line.split("|")[1].strip(): line.split("|")[2:4] for line in lines[start + 3:]
            if line.startswith("|")}
    for stage in ("capture (ms)", "engine (ms)", "color fps", "sub-frames/s"):
        assert float(rows[stage][0].split()[0]) > 0 and float(rows[stage][1].split()[0]) > 0
    assert re.search(r"phase [\d.]+ ms, ecc [\d.]+ ms", out)


@pytest.mark.slow
def test_demo_writes_video_and_side_by_side_and_reports(tmp_path):
    out = device("demo", "--out", ".", "--frames", "12", "--width", "64", "--height", "48",
                 cwd=tmp_path)
    assert "engine onnxruntime (CPUExecutionProvider, edge.viewer.onnx)" in out   # fused graph
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
