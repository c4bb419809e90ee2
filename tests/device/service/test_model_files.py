"""install.sh's model copy: every file the card lists, checked, renamed, the card written last."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from device.common.errors import UserError
from device.engines.model_card import load_model_card
from device.service import model_files

ASSETS = Path(__file__).resolve().parents[3] / "device" / "assets"


@pytest.fixture
def converted(tmp_path):
    """The shipped edge model as convert leaves it (network, FP16 network, viewer graphs), plus a
    file entry this code has never heard of, nested in a block of its own."""
    folder = tmp_path / "run"
    shutil.copytree(ASSETS, folder)
    extra = folder / "edge.future.onnx"
    extra.write_bytes(b"a graph convert may add one day")
    card = json.loads((folder / "edge.json").read_text())
    card["future"] = {"onnx": extra.name,
                      "onnx_sha256": hashlib.sha256(extra.read_bytes()).hexdigest()}
    (folder / "edge.json").write_text(json.dumps(card))
    (folder / "edge.pt").write_bytes(b"a checkpoint: not part of the converted model")
    return folder


def test_install_copies_every_listed_file_under_the_target_stem(converted, tmp_path):
    listed = model_files.listed_files(converted / "edge.json")
    assert {"onnx", "fp16_onnx", "viewer.onnx", "viewer.fp16_onnx", "future.onnx"} <= set(listed)
    dest = tmp_path / "var" / "ckpt.json"
    written = model_files.install(converted, dest)
    expected = sorted("ckpt" + name[len("edge"):] for name in listed.values())
    assert sorted(p.name for p in written[:-1]) == expected and written[-1] == dest
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted([*expected, "ckpt.json"])
    card = json.loads(dest.read_text())
    assert card["onnx"] == "ckpt.onnx" and card["viewer"]["onnx"] == "ckpt.viewer.onnx"
    assert card["future"]["onnx"] == "ckpt.future.onnx"
    assert (dest.parent / "ckpt.future.onnx").read_bytes() == b"a graph convert may add one day"
    assert load_model_card(dest).onnx == (dest.parent / "ckpt.onnx").resolve()
    assert model_files.check(dest) == dest          # the installed copy checks out too


def test_a_changed_listed_file_is_refused_and_nothing_is_written(converted, tmp_path):
    (converted / "edge.future.onnx").write_bytes(b"tampered")
    dest = tmp_path / "var" / "ckpt.json"
    with pytest.raises(UserError, match="edge.future.onnx: sha256 does not match"):
        model_files.install(converted, dest)
    assert not dest.parent.exists()


def test_a_missing_listed_file_is_refused(converted):
    (converted / "edge.future.onnx").unlink()
    with pytest.raises(UserError, match="lists future.onnx edge.future.onnx, which is not beside"):
        model_files.check(converted / "edge.json")


def test_folder_must_hold_exactly_one_card(converted, tmp_path):
    shutil.copy(converted / "edge.json", converted / "other.json")
    with pytest.raises(UserError, match="exactly one model card .* found edge.json, other.json"):
        model_files.find_card(converted)
    with pytest.raises(UserError, match="expected a checkpoint"):
        model_files.find_card(tmp_path / "nothing.onnx")
