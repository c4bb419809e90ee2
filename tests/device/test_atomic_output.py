"""atomic_output: readers never see a half-written file, and files get ordinary permissions."""
import os

import pytest

from device.common.files import atomic_output
from device.common.errors import UserError


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_success_renames_with_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "card.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(old)
    assert (tmp_path / "card.json").read_text() == "{}"
    assert (tmp_path / "card.json").stat().st_mode & 0o777 == 0o644


def test_missing_folder_is_one_sentence(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        with atomic_output(tmp_path / "nope" / "x.png"):
            pass
