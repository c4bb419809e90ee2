import csv
import subprocess
import sys

import pytest
import torch

from train.cli import main

torch.set_num_threads(1)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def two_runs(tiny_capture_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    data = str(tiny_capture_set)
    assert main(["fit", "--data", data, "--model", "linear", "--patch", "4",
                 "--out", str(root / "linear")]) == 0
    assert main(["fit", "--data", data, "--model", "edge", "--base", "8", "--crop", "32",
                 "--batch", "2", "--iters", "3", "--val-every", "3", "--out", str(root / "edge")]) == 0
    return root


def test_eval_writes_tables_and_figures(tiny_capture_set, two_runs, tmp_path):
    from device.captures import CaptureSet

    report = tmp_path / "report"
    assert main(["eval", "--data", str(tiny_capture_set), "--ckpt",
                 str(two_runs / "linear" / "best.pt"), str(two_runs / "edge" / "best.pt"),
                 "--out", str(report), "--tile", "32"]) == 0
    test_scenes = CaptureSet.open(tiny_capture_set).split["test"]
    per_image = rows(report / "per_image.csv")
    assert len(per_image) == 2 * len(test_scenes)
    summary = {r["model"]: r for r in rows(report / "summary.csv")}
    assert set(summary) == {"linear", "edge"}
    for r in per_image:
        assert 0 <= float(r["ssim"]) <= 1 and float(r["psnr"]) > 0 and float(r["delta_e00"]) >= 0
    assert summary["edge"]["fid"] == "unavailable: no --fid-weights file given"
    assert float(summary["linear"]["mflops_per_px"]) < float(summary["edge"]["mflops_per_px"])
    # the per-pixel floor of the same images, shared by both models (same input LEDs)
    floors = {r["scene"]: float(r["floor_delta_e00"]) for r in per_image}
    assert len(floors) == len(test_scenes) and all(3 < f < 40 for f in floors.values())
    for r in per_image:
        assert float(r["floor_delta_e00"]) == floors[r["scene"]]
        assert float(r["delta_e00_over_floor"]) == pytest.approx(
            float(r["delta_e00"]) / floors[r["scene"]])
    for r in summary.values():
        assert float(r["floor_delta_e00"]) == pytest.approx(sum(floors.values()) / len(floors))
        assert float(r["delta_e00_over_floor"]) == pytest.approx(
            float(r["delta_e00"]) / float(r["floor_delta_e00"]))
    text = (report / "report.md").read_text()
    assert "linear/best" in text and "edge/best" in text
    assert "| floor ΔE00 | ΔE00 / floor |" in text and "per-pixel Bayes floor" in text
    for png in ("grid.png", "patches.png"):
        assert (report / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_ablation_covers_the_seven_subsets_and_three_inputs_win(tiny_capture_set, tmp_path):
    out = tmp_path / "ablate"
    assert main(["ablate", "--data", str(tiny_capture_set), "--model", "linear",
                 "--patch", "4", "--out", str(out)]) == 0
    table = {r["inputs"]: r for r in rows(out / "ablation.csv")}
    assert list(table) == ["718", "777", "807", "718+777", "718+807", "777+807", "718+777+807"]
    three = table["718+777+807"]
    for single in ("718", "777", "807"):   # the paper's Fig. 7 finding, on the simulated rig
        assert float(three["psnr"]) > float(table[single]["psnr"])
        assert float(three["delta_e00"]) < float(table[single]["delta_e00"])
    assert (out / "ablation.png").exists() and (out / "718-807" / "best.pt").exists()


def run_cli(*args):
    proc = subprocess.run([sys.executable, "-m", "train", *map(str, args)],
                          capture_output=True, text=True)
    return proc.returncode, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing set", "wavelength", "crop", "unknown model",
                                  "corrupt checkpoint", "resume nothing"])
def test_bad_inputs_fail_with_one_sentence(tiny_capture_set, two_runs, tmp_path, case):
    data = str(tiny_capture_set)
    fit = ["fit", "--data", data, "--out", tmp_path / "run", "--iters", "2"]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    args, words = {
        "missing set": (["fit", "--data", tmp_path / "nowhere", "--model", "unet", "--out",
                         tmp_path / "r"], "capture set folder does not exist"),
        "wavelength": ([*fit, "--model", "unet", "--inputs", "718,850"],
                       "850 nm is not in capture set"),
        "crop": ([*fit, "--model", "unet", "--crop", "40"], "must be a multiple of 16"),
        "unknown model": ([*fit, "--model", "resnet"], "invalid choice: 'resnet'"),
        "corrupt checkpoint": (["eval", "--data", data, "--ckpt", bad, "--out", tmp_path / "e"],
                               "bad.pt: not a readable checkpoint"),
        "resume nothing": ([*fit, "--model", "edge", "--resume"], "nothing to resume"),
    }[case]
    code, err = run_cli(*args)
    assert code == 2
    assert words in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("train")   # one line: "train...: error: ..."
    assert not (tmp_path / "run").exists() and not (tmp_path / "e").exists()


@pytest.mark.slow
def test_existing_run_is_not_overwritten_without_resume(tiny_capture_set, two_runs):
    code, err = run_cli("fit", "--data", tiny_capture_set, "--model", "linear", "--patch", "4",
                        "--out", two_runs / "linear")
    assert code == 2 and "already holds a training run; add --resume" in err


@pytest.mark.parametrize("change, words", [
    ({"truth_mode": "paper"}, "n/a: paper truth is itself a capture"),
    ({"rig": {"kind": "real", "camera": "v4l2:///dev/video0"}}, "n/a: real prints"),
])
def test_floor_is_na_where_the_sim_cannot_compute_it(tiny_capture_set, tmp_path, change, words):
    import json
    import shutil

    from device.captures import CaptureSet
    from train.floor import capture_set_floor

    copy = tmp_path / "set"
    shutil.copytree(tiny_capture_set, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, **change}))
    cs = CaptureSet.open(copy)
    floor = capture_set_floor(cs, cs.split["test"], (718, 777, 807))
    assert floor.per_image is None and floor.mean is None
    assert floor.note.startswith(words)


def test_floor_pixels_zero_leaves_the_floor_out(tiny_capture_set, two_runs, tmp_path):
    report = tmp_path / "report"
    assert main(["eval", "--data", str(tiny_capture_set), "--ckpt",
                 str(two_runs / "linear" / "best.pt"), "--out", str(report), "--tile", "32",
                 "--floor-pixels", "0"]) == 0
    (row,) = rows(report / "summary.csv")
    assert row["floor_delta_e00"] == row["delta_e00_over_floor"] == "n/a"
    assert "n/a: not computed (--floor-pixels 0)" in (report / "report.md").read_text()


def test_eval_of_a_prefix_of_another_split(tiny_capture_set, two_runs, tmp_path):
    from device.captures import CaptureSet

    report = tmp_path / "report"
    assert main(["eval", "--data", str(tiny_capture_set), "--ckpt",
                 str(two_runs / "linear" / "best.pt"), "--out", str(report), "--tile", "32",
                 "--split", "train", "--scenes", "2", "--floor-pixels", "64"]) == 0
    train_scenes = CaptureSet.open(tiny_capture_set).split["train"]
    assert [r["scene"] for r in rows(report / "per_image.csv")] == train_scenes[:2]
    assert "(train split, 2 images" in (report / "report.md").read_text()
    assert main(["eval", "--data", str(tiny_capture_set), "--ckpt",
                 str(two_runs / "linear" / "best.pt"), "--out", str(tmp_path / "r2"),
                 "--scenes", "0"]) == 2
