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
    signal = {nm: (cal.whites[nm].mean() - dark) / cal.exposures[nm].product
              for nm in (718, 777, 807)}
    assert 60 < dark < 70                   # the sensor's pedestal, all LEDs off
    # silicon's response falls through the NIR: per unit of on-time x gain
    assert signal[718] > signal[777] > signal[807] > 0
    # automatic exposure (the default) took each white at its own exposure: the more, the
    # dimmer the LED (on-time first, up to the 4 ms window here, then gain, which lifts a
    # white only to the gain target), each white's bright end at the aim (WHITE_TARGET of the
    # range) or, capped, between the gain target and it
    products = [cal.exposures[nm].product for nm in (718, 777, 807)]
    assert products[0] < products[1] < products[2]
    for nm in (718, 777, 807):
        top = (np.percentile(cal.whites[nm], 99.9) - dark) / (4095 - dark)
        capped = cal.exposures[nm].on_s == pytest.approx(0.004)
        assert (0.2 < top < 0.62) if capped else (0.55 < top < 0.65)
    # the noise measured on the whites: the sim's shot noise, sqrt(electrons) / electrons at
    # white, within the spread of a two-frame variance estimate (the PRNU is divided out: the
    # variance is over time, per pixel)
    for nm in (718, 777, 807):
        electrons = (cal.whites[nm].mean() - dark) * 10500 / 4095 / cal.exposures[nm].gain
        assert cal.noise[nm].total == pytest.approx(1 / np.sqrt(electrons), rel=0.15)


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


@pytest.mark.slow
def test_demo_json_reports_the_video_measurements(tmp_path):
    """`device demo --json` with a light step and a cut at a small size: every field the
    Done-when table reads, from the frames of the run."""
    out = device("demo", "--out", ".", "--frames", "26", "--width", "64", "--height", "48",
                 "--motion", "none", "--lockstep", "--settle", "4", "--light-step", "12:0.5",
                 "--cut", "20", "--json", cwd=tmp_path)
    r = json.loads(out)
    for key in ("mean_de00", "per_frame_mean_de00", "shimmer_de00", "per_frame_shimmer_de00",
                "clipped_percent", "fps", "step_settle_frames", "cut_recovery_frames",
                "per_frame_cut_recovery_frames", "step_clipped_after_settle_percent",
                "step_plan_settle_frames"):
        assert isinstance(r[key], (int, float)), key
    # frames are counted from the step's first: at least one, at most those after it
    assert 1 <= r["step_plan_settle_frames"] <= 26 - 12
    assert r["frames"] == 26 == len(r["de00_per_frame"]) and r["exposure_mode"] == "auto"
    assert set(r["exposure"]) == {"718", "777", "807"}
    assert all(0 < e["on_ms"] <= 1000 / 30 and e["gain"] >= 1 for e in r["exposure"].values())
    # the filter steadies a still print: less shimmer than each frame on its own
    assert r["shimmer_de00"] < r["per_frame_shimmer_de00"]
    off = json.loads(device("demo", "--out", ".", "--frames", "6", "--width", "64",
                            "--height", "48", "--filter", "off", "--exposure-ms", "8",
                            "--lockstep", "--settle", "2", "--json", cwd=tmp_path))
    assert off["exposure_mode"] == "fixed" and off["mean_de00"] == off["per_frame_mean_de00"]
    assert all(e["on_ms"] == pytest.approx(8.0, abs=0.5) for e in off["exposure"].values())


@pytest.mark.parametrize("args, words", [
    (("--light", "0"), "--light 0: expected one positive value"),
    (("--exposure-ms", "fast"), "--exposure-ms fast: give milliseconds or auto"),
    (("--exposure-ms", "50"), "shorter than a frame"),
    (("--cut", "x"), "--cut x: give the camera frame as a positive integer"),
    (("--light-step", "10:bright"), "--light-step 10:bright: FACTOR bright: expected one"),
])
def test_demo_refuses_bad_video_options_in_one_sentence(tmp_path, args, words):
    result = subprocess.run([sys.executable, "-m", "device", "demo", "--out", str(tmp_path),
                             *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and words in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
