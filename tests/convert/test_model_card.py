"""The model card the viewer trusts: validated field by field, ONNX checked by sha256."""
from __future__ import annotations

import json

import pytest

from device.common.errors import UserError
from device.engines.model_card import file_sha256, load_model_card


@pytest.fixture
def converted(converted_copy):
    return converted_copy


def test_card_carries_what_the_viewer_needs(converted):
    card = load_model_card(converted.card)
    assert card.input_name == "nir" and card.output_name == "rgb"
    assert card.wavelengths_nm == (718, 777, 807) and card.in_channels == 3
    assert (card.from_reflectance.scale, card.from_reflectance.offset) == (2.0, -1.0)
    assert (card.to_srgb.scale, card.to_srgb.offset) == (0.5, 0.5)
    assert card.spatial_multiple == 16 and card.truth_mode == "human"
    assert card.model == {"name": "edge", "in_channels": 3, "base": 8}
    assert card.onnx_sha256 == file_sha256(converted.onnx)
    assert card.fp16_onnx_sha256 == file_sha256(converted.fp16_onnx)
    for package in ("torch", "onnx", "onnxruntime", "onnxslim", "onnxconverter-common"):
        assert package in card.made_by


@pytest.mark.parametrize("which", ["onnx", "fp16_onnx", "viewer_onnx", "viewer_fp16_onnx"])
def test_tampered_onnx_is_refused_by_sha256(converted, which):
    target = getattr(converted, which)
    with open(target, "ab") as f:
        f.write(b"\0")
    with pytest.raises(UserError, match=rf"{target.name}: sha256 does not match .*edge.json"):
        load_model_card(converted.card)
    load_model_card(converted.card, check_sha256=False)   # everything else is still valid


def _edit(card_path, change):
    card = json.loads(card_path.read_text())
    change(card)
    card_path.write_text(json.dumps(card))


@pytest.mark.parametrize("change, words", [
    (lambda c: c.update(version=4), "version 4 is not supported"),
    (lambda c: c.update(format="something-else"), "not a nightcolor model card"),
    (lambda c: c.update(onnx="../elsewhere.onnx"), "must name a file beside the card"),
    (lambda c: c.update(onnx="gone.onnx"), "gone.onnx is missing"),
    (lambda c: c["input"].update(wavelengths_nm=[]), "wavelengths_nm"),
    (lambda c: c["input"].update(layout="NHWC"), "input.layout"),
    (lambda c: c["output"].pop("to_srgb"), "output.to_srgb"),
    (lambda c: c.update(spatial_multiple=0), "spatial_multiple"),
    (lambda c: c.pop("onnx_sha256"), "'onnx_sha256'"),
    (lambda c: c.pop("viewer"), "'viewer' is missing"),
    (lambda c: c["viewer"].update(onnx="gone.onnx"), "viewer.onnx file"),
    (lambda c: c["viewer"].update(output_dtype="int16"), "viewer.output_dtype"),
])
def test_malformed_card_is_one_sentence(converted, change, words):
    _edit(converted.card, change)
    with pytest.raises(UserError, match="edge.json") as caught:
        load_model_card(converted.card)
    assert words in str(caught.value)


def test_not_json_and_missing_card(converted, tmp_path):
    converted.card.write_text("{ not json")
    with pytest.raises(UserError, match="not a readable JSON model card"):
        load_model_card(converted.card)
    with pytest.raises(UserError, match="model card not found"):
        load_model_card(tmp_path / "absent.json")


def test_card_names_the_viewer_graphs(converted):
    card = load_model_card(converted.card)
    assert card.viewer_onnx == converted.viewer_onnx.resolve()
    assert card.viewer_fp16_onnx == converted.viewer_fp16_onnx.resolve()
    assert card.viewer_onnx.name == "edge.viewer.onnx" and card.viewer_output_dtype == "uint8"
    assert card.viewer_onnx_sha256 == file_sha256(converted.viewer_onnx)


def _as_version_1(card_path):
    """The card as convert wrote it before the viewer graph: version 1, no viewer entry."""
    _edit(card_path, lambda c: (c.update(version=1), c.pop("viewer")))
    for name in ("edge.viewer.onnx", "edge.viewer.fp16.onnx"):
        (card_path.parent / name).unlink()


def test_version_1_card_is_refused_with_the_upgrade_command_then_upgraded(converted):
    from convert.viewer import main as upgrade

    _as_version_1(converted.card)
    with pytest.raises(UserError) as caught:
        load_model_card(converted.card)
    sentence = str(caught.value)
    assert sentence.count(". ") == 0 and sentence.endswith(".")       # one sentence
    assert "version 1 predates the viewer graph; rebuild it" in sentence   # not its filter
    assert f"python -m convert.viewer {converted.card}" in sentence
    assert upgrade([str(converted.card), "--fp16"]) == 0              # the command it names
    card = load_model_card(converted.card)
    assert card.viewer_onnx.is_file() and card.viewer_fp16_onnx.is_file()
    assert json.loads(converted.card.read_text())["version"] == 3


def test_version_2_card_without_the_filter_is_refused_then_rebuilt(converted):
    """A version 2 card's viewer graphs predate the temporal filter and its exposure feeds:
    refused with the command that rebuilds them, which then makes a version 3 card whose graph
    has the filter's inputs and the recurrent state."""
    from convert.viewer import main as upgrade
    from device.engines import viewer_io

    _edit(converted.card, lambda c: c.update(version=2))
    with pytest.raises(UserError) as caught:
        load_model_card(converted.card)
    sentence = str(caught.value)
    assert sentence.count(". ") == 0 and sentence.endswith(".")
    assert "version 2 predates the viewer graph's temporal filter" in sentence
    assert f"python -m convert.viewer {converted.card}" in sentence
    assert upgrade([str(converted.card)]) == 0
    card = json.loads(converted.card.read_text())
    assert card["version"] == 3 and card["viewer"]["recurrent"] == {"state": "state_next"}
    assert set(card["viewer"]["inputs"]) >= {"noise", "history", "state_warp", "state"}
    assert 0 < card["verification"]["filter_still_change_ratio"] <= 0.5


def test_version_1_card_without_its_network_says_convert_again(converted):
    _as_version_1(converted.card)
    converted.onnx.unlink()
    with pytest.raises(UserError, match=r"network ONNX is missing; convert the checkpoint "
                                        r"again \(`python -m convert --fp16 ckpt.pt`\)\.$"):
        load_model_card(converted.card)


@pytest.mark.slow
def test_upgrade_needs_neither_the_checkpoint_nor_torch(converted):
    """`python -m convert.viewer --fp16` on a version 1 card that lacks even its FP16 network,
    in a Python where torch cannot be imported and with no checkpoint beside the card."""
    import subprocess
    import sys

    _as_version_1(converted.card)
    _edit(converted.card, lambda c: (c.pop("fp16_onnx"), c.pop("fp16_onnx_sha256")))
    converted.fp16_onnx.unlink()
    converted.card.with_suffix(".pt").unlink()
    code = ("import sys; sys.modules['torch'] = None; from convert.viewer import main; "
            "sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, str(converted.card), "--fp16"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    card = load_model_card(converted.card)
    assert card.fp16_onnx.is_file() and card.viewer_fp16_onnx.is_file()


@pytest.fixture
def shipped_card(tmp_path):
    """The shipped model's card and the ONNX files it names, copied here (no conversion)."""
    import shutil

    from device.simulated.presets import SHIPPED_MODEL

    card = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())
    names = [card["onnx"], card.get("fp16_onnx"), card["viewer"]["onnx"],
             card["viewer"].get("fp16_onnx")]
    for name in filter(None, names):
        shutil.copy(SHIPPED_MODEL.parent / name, tmp_path / name)
    path = tmp_path / "edge.json"
    path.write_text(json.dumps(card))
    return path


NAN = float("nan")


@pytest.mark.parametrize("change, sentence", [
    (lambda c: c["input"].update(wavelengths_nm=[718, 0, 807]),
     "input.wavelengths_nm must be a non-empty list of positive integers (nm)."),
    (lambda c: c["input"].update(wavelengths_nm=[718.0, 777, 807]),
     "input.wavelengths_nm must be a non-empty list of positive integers (nm)."),
    (lambda c: c["output"].update(layout="NHWC"), 'output.layout must be "NCHW".'),
    (lambda c: c.update(spatial_multiple="16"), "spatial_multiple must be a positive integer."),
    (lambda c: c.update(truth_mode="sky"), 'truth_mode must be "human" or "paper".'),
    (lambda c: c["input"].update(name=""), "input.name must be a non-empty string."),
    (lambda c: c["output"].update(name=3), "output.name must be a non-empty string."),
    (lambda c: c["input"]["from_reflectance"].update(scale="2"),
     'input.from_reflectance must be {"scale": number, "offset": number}.'),
    (lambda c: c["output"]["to_srgb"].update(offset=NAN),
     'output.to_srgb must be {"scale": number, "offset": number}.'),
    (lambda c: c["viewer"].update(output_dtype="int16"),
     'viewer.output_dtype must be "uint8" or "float32".'),
    (lambda c: c["viewer"].update(pads="yes"), "viewer.pads must be true or false."),
    (lambda c: c["viewer"].update(onnx_sha256=""),
     "field 'viewer.onnx_sha256' is missing or not a string."),
])
def test_each_field_is_refused_in_a_sentence_that_names_it(shipped_card, change, sentence):
    _edit(shipped_card, change)
    with pytest.raises(UserError) as caught:
        load_model_card(shipped_card, check_sha256=False)
    assert str(caught.value) == f"{shipped_card}: {sentence}"


def test_what_a_card_may_leave_out_or_choose(shipped_card):
    """A paper-trained model, a network of spatial multiple 1, and a viewer entry written
    before output_dtype, pads and the FP16 viewer graph existed: all load, with the defaults
    the viewer then assumes (uint8 output, a graph that does not pad, no FP16 graph)."""
    def change(c):
        c.update(truth_mode="paper", spatial_multiple=1)
        for key in ("output_dtype", "pads", "fp16_onnx", "fp16_onnx_sha256"):
            c["viewer"].pop(key, None)
    _edit(shipped_card, change)
    card = load_model_card(shipped_card, check_sha256=False)
    assert card.truth_mode == "paper" and card.spatial_multiple == 1
    assert card.viewer_output_dtype == "uint8" and card.viewer_pads is False
    assert card.viewer_fp16_onnx is None and card.viewer_fp16_onnx_sha256 is None


def test_convert_records_its_verification_in_the_card():
    from device.engines.model_card import model_card_dict

    config = {"inputs": [718, 777, 807], "spatial_multiple": 16, "truth_mode": "human",
              "model": {"name": "edge"},
              "normalisation": {"input": {"scale": 2.0, "offset": -1.0},
                                "output": {"scale": 0.5, "offset": 0.5}}}
    fields = dict(onnx_name="m.onnx", onnx_sha256="ab", fp16_onnx_name=None,
                  fp16_onnx_sha256=None, config=config, made_by={"tool": "convert"})
    card = model_card_dict(**fields, verification={"fp16_psnr_db": 61.2})
    assert card["verification"] == {"fp16_psnr_db": 61.2} and "fp16_onnx" not in card
    assert "verification" not in model_card_dict(**fields)
