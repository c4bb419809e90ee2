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
    """The shipped edge model as convert would leave it, plus a file entry this code has never
    heard of (as a fused viewer graph would be listed)."""
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("edge.json", "edge.onnx"):
        shutil.copy(ASSETS / name, folder / name)
    extra = folder / "edge.viewer.onnx"
    extra.write_bytes(b"a second graph")
    card = json.loads((folder / "edge.json").read_text())
    card["viewer_onnx"] = extra.name
    card["viewer_onnx_sha256"] = hashlib.sha256(extra.read_bytes()).hexdigest()
    (folder / "edge.json").write_text(json.dumps(card))
    (folder / "edge.pt").write_bytes(b"a checkpoint: not part of the converted model")
    return folder


def test_install_copies_every_listed_file_under_the_target_stem(converted, tmp_path):
    dest = tmp_path / "var" / "ckpt.json"
    written = model_files.install(converted, dest)
    assert [p.name for p in written] == ["ckpt.onnx", "ckpt.viewer.onnx", "ckpt.json"]
    assert sorted(p.name for p in dest.parent.iterdir()) == [
        "ckpt.json", "ckpt.onnx", "ckpt.viewer.onnx"]
    card = json.loads(dest.read_text())
    assert card["onnx"] == "ckpt.onnx" and card["viewer_onnx"] == "ckpt.viewer.onnx"
    assert (dest.parent / "ckpt.viewer.onnx").read_bytes() == b"a second graph"
    assert load_model_card(dest).onnx == (dest.parent / "ckpt.onnx").resolve()
    assert model_files.check(dest) == dest          # the installed copy checks out too


def test_a_changed_listed_file_is_refused_and_nothing_is_written(converted, tmp_path):
    (converted / "edge.viewer.onnx").write_bytes(b"tampered")
    dest = tmp_path / "var" / "ckpt.json"
    with pytest.raises(UserError, match="edge.viewer.onnx: sha256 does not match"):
        model_files.install(converted, dest)
    assert not dest.parent.exists()


def test_a_missing_listed_file_is_refused(converted):
    (converted / "edge.viewer.onnx").unlink()
    with pytest.raises(UserError, match="lists viewer_onnx edge.viewer.onnx, which is not beside"):
        model_files.check(converted / "edge.json")


def test_folder_must_hold_exactly_one_card(converted, tmp_path):
    shutil.copy(converted / "edge.json", converted / "other.json")
    with pytest.raises(UserError, match="exactly one model card .* found edge.json, other.json"):
        model_files.find_card(converted)
    with pytest.raises(UserError, match="expected a checkpoint"):
        model_files.find_card(tmp_path / "nothing.onnx")
