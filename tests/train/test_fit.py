import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from device.captures import CaptureSet
from train.checkpoint import load_checkpoint, read_checkpoint
from train.cli import main
from train.fit import STOPPED_EXIT
from train.data import Scenes

torch.set_num_threads(1)
TINY = ["--base", "8", "--crop", "32", "--batch", "2", "--lr", "1e-3"]


def fit(data, out, model, *options):
    assert main(["fit", "--data", str(data), "--model", model, "--out", str(out), *options]) == 0


def log(run):
    with open(run / "log.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["unet", "unet-gan", "edge"])
def test_training_loss_falls_and_checkpoints_load(tiny_capture_set, tmp_path, model):
    run = tmp_path / model
    fit(tiny_capture_set, run, model, *TINY, "--iters", "30", "--val-every", "10")
    rows = log(run)
    assert [int(r["iteration"]) for r in rows] == [10, 20, 30]
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])
    if model == "unet-gan":
        assert all(float(r["loss_d"]) > 0 and float(r["loss_adv"]) > 0 for r in rows)
    assert (run / "loss.png").read_bytes()[:4] == b"\x89PNG"
    net, config = load_checkpoint(run / "best.pt")
    best_mae = min(float(r["val_mae"]) for r in rows)
    assert read_checkpoint(run / "best.pt")["extra"]["val_mae"] == pytest.approx(best_mae)
    assert config["model"]["name"] == model and config["inputs"] == [718, 777, 807]
    assert config["spatial_multiple"] == 16 and config["truth_mode"] == "human"
    out = net(torch.zeros(1, 3, 32, 32))
    assert out.shape == (1, 3, 32, 32) and out.abs().max() <= 1


def test_linear_closed_form_beats_a_constant_prediction(tiny_capture_set, tmp_path):
    fit(tiny_capture_set, tmp_path / "lin", "linear", "--patch", "4", "--inputs", "718,777")
    val_mae = float(log(tmp_path / "lin")[0]["val_mae"])
    cs = CaptureSet.open(tiny_capture_set)
    scenes = Scenes(cs, (718, 777))
    # The best constant under absolute error: each channel's median over the validation truth.
    truth = np.stack([scenes.load(s)[1] for s in cs.split["val"]])
    median = np.median(truth, axis=(0, 2, 3), keepdims=True)
    assert val_mae < np.abs(truth - median).mean()
    net, config = load_checkpoint(tmp_path / "lin" / "best.pt")
    assert config["spatial_multiple"] == 4 and net.conv.in_channels == 2


def _weights(path):
    return read_checkpoint(path)["state_dict"]


@pytest.mark.slow
def test_resume_after_a_kill_reaches_the_uninterrupted_weights(tiny_capture_set, tmp_path):
    options = ("--iters", "12", "--val-every", "2")
    fit(tiny_capture_set, tmp_path / "whole", "edge", *TINY, *options)

    # Killed after iteration 7: its last checkpoint is iteration 6, iteration 7's work is lost.
    killed = tmp_path / "killed"
    with pytest.raises(SystemExit) as stop:
        fit(tiny_capture_set, killed, "edge", *TINY, *options, "--stop-at", "7")
    assert stop.value.code == STOPPED_EXIT
    assert read_checkpoint(killed / "last.pt")["extra"]["iteration"] == 6

    fit(tiny_capture_set, killed, "edge", *TINY, *options, "--resume")
    whole, resumed = _weights(tmp_path / "whole" / "last.pt"), _weights(killed / "last.pt")
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)   # bit-exact, BN buffers too
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(log(killed)) == strip(log(tmp_path / "whole"))


@pytest.mark.slow
def test_two_process_gloo_run_matches_one_process(tiny_capture_set, tmp_path):
    # Same global batch split over 2 processes: averaged gradients equal the 1-process ones.
    options = ["--model", "unet", *TINY, "--batch", "4", "--iters", "4", "--val-every", "4"]
    fit(tiny_capture_set, tmp_path / "one", *options[1:2], *options[2:])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                    "--nproc-per-node", "2", "-m", "train", "fit", "--data", str(tiny_capture_set),
                    "--out", str(tmp_path / "two"), *options],
                   check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    one, two = _weights(tmp_path / "one" / "last.pt"), _weights(tmp_path / "two" / "last.pt")
    assert all(torch.allclose(one[k], two[k], atol=1e-5) for k in one)
