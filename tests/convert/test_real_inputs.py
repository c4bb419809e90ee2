"""Parity on real captures: scenes of a capture set, normalised as training normalised them."""
from __future__ import annotations

import json

import pytest

from convert.pipeline import Options, convert_checkpoint
from convert.verify import FP32_MAX_ABS
from device.common.errors import UserError


def test_real_capture_inputs_join_the_checks(make_checkpoint, tiny_capture_set):
    out = convert_checkpoint(make_checkpoint("edge"), Options(fp16=True, data_dir=tiny_capture_set),
                             log=lambda _: None)
    card = json.loads(out.card.read_text())
    labels = card["verification"]["inputs"]
    assert any(label.startswith("capture ") for label in labels)
    assert card["verification"]["fp32_max_abs_error"] <= FP32_MAX_ABS


def test_capture_set_without_the_checkpoint_wavelengths_is_refused(make_checkpoint,
                                                                    tiny_capture_set):
    ckpt = make_checkpoint("edge", inputs=(718, 777, 850))
    with pytest.raises(UserError, match="no 850 nm captures"):
        convert_checkpoint(ckpt, Options(data_dir=tiny_capture_set), log=lambda _: None)
    assert [p.suffix for p in ckpt.parent.iterdir()] == [".pt"]
