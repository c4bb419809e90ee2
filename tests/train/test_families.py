"""`train families` (ΔE00 per material family beside its floors) and `train fit --init`."""
import csv

import numpy as np
import pytest
import torch

from device.captures import CaptureSet
from device.common.errors import UserError
from train.checkpoint import read_checkpoint
from train.cli import main
from train.families import family_table

torch.set_num_threads(1)
SHIPPED = "device/assets/edge.pt"


@pytest.fixture(scope="module")
def material_set(tmp_path_factory):
    from device.commands.capture import render_sim_capture_set

    out = tmp_path_factory.mktemp("materials") / "set"
    return render_sim_capture_set(out, count=3, size=32, seed=4, progress=False,
                                  leds=(718, 777, 807), test_only=True,
                                  mix={"face-skin": 1, "foliage-leaf": 1, "clothes-cloth": 1})


def test_each_family_gets_its_error_and_its_floors(material_set):
    cs = CaptureSet.open(material_set)
    rows, predictions, inputs = family_table(cs, [SHIPPED], ["edge"], cs.split["test"],
                                             floor_pixels=200, references=1024)
    by = {row["family"]: row for row in rows}
    assert {"skin", "leaf", "cloth", "all"} <= set(by) and inputs == (718, 777, 807)
    # the mean over all pixels is the families' means weighted by their pixels
    families = [row for row in rows if row["family"] != "all"]
    pooled = sum(r["edge"] * r["pixels"] for r in families) / sum(r["pixels"] for r in families)
    assert by["all"]["edge"] == pytest.approx(pooled, rel=1e-6)
    assert by["all"]["pixels"] == 3 * 32 * 32
    # knowing a pixel is a leaf helps more than anything: its floor is far below the ink one
    assert 0 < by["leaf"]["floor_family"] < by["leaf"]["floor_ink"] / 2
    leaf = by["leaf"]
    assert leaf["edge / floor"] == pytest.approx(leaf["edge"] / leaf["floor_family"])
    assert set(predictions["edge"]) == set(cs.split["test"])


def test_the_command_writes_a_report_and_a_grid(material_set, tmp_path):
    out = tmp_path / "report"
    assert main(["families", "--data", str(material_set), "--ckpt", SHIPPED, "--out", str(out),
                 "--floor-pixels", "100", "--references", "1024"]) == 0
    with open(out / "families.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["family"] for r in rows][-1] == "all" and float(rows[0]["edge"]) > 0
    assert (out / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_a_set_without_material_maps_is_refused(tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    with pytest.raises(UserError, match="no material maps"):
        family_table(cs, [SHIPPED], ["edge"], cs.split["test"])


def test_init_starts_from_the_given_weights(tiny_capture_set, tmp_path):
    """With a vanishing learning rate, one step leaves the fine-tune on the shipped weights."""
    run = tmp_path / "ft"
    assert main(["fit", "--data", str(tiny_capture_set), "--model", "edge", "--init", SHIPPED,
                 "--iters", "1", "--crop", "32", "--batch", "1", "--lr", "1e-12",
                 "--val-every", "1", "--out", str(run)]) == 0
    tuned, shipped = read_checkpoint(run / "last.pt"), read_checkpoint(SHIPPED)
    assert tuned["config"]["recipe"]["init"].endswith("edge.pt")
    for name, weight in shipped["state_dict"].items():
        if weight.is_floating_point() and "running" not in name:   # BN statistics do move
            torch.testing.assert_close(tuned["state_dict"][name], weight, atol=1e-6, rtol=0)


def test_init_from_another_model_is_refused(tiny_capture_set, tmp_path, capsys):
    assert main(["fit", "--data", str(tiny_capture_set), "--model", "unet", "--init", SHIPPED,
                 "--out", str(tmp_path / "x")]) == 2
    assert "--init device/assets/edge.pt: its model" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
