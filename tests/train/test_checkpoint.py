import json

import pytest
import torch

from device.common.errors import UserError
from train.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from train.models import build_model

torch.set_num_threads(1)


def _config(model):
    return {"model": model.config, "inputs": [718, 777, 807], "truth_mode": "human",
            "spatial_multiple": model.spatial_multiple}


@pytest.mark.parametrize("name, options", [("linear", {"patch": 6}), ("unet", {"base": 8}),
                                           ("edge", {"base": 8})])
def test_round_trip_gives_the_same_outputs(tmp_path, name, options):
    torch.manual_seed(0)
    model = build_model({"name": name, **options}).eval()
    save_checkpoint(tmp_path / "m.pt", model, _config(model), extra={"iteration": 7})
    loaded, config = load_checkpoint(tmp_path / "m.pt")
    x = torch.rand(1, 3, 48, 48) * 2 - 1
    assert torch.equal(loaded(x), model(x))
    assert config == json.loads(json.dumps(_config(model)))
    assert read_checkpoint(tmp_path / "m.pt")["extra"]["iteration"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]   # no temp file left behind


def test_file_holding_code_is_refused(tmp_path):
    torch.save({"format": "nightcolor-checkpoint", "payload": UserError("x")}, tmp_path / "e.pt")
    with pytest.raises(UserError, match="e.pt: not a readable checkpoint"):
        load_checkpoint(tmp_path / "e.pt")


@pytest.mark.parametrize("content, words", [
    (b"not a torch file", "not a readable checkpoint"),
    (None, "no such checkpoint file"),
])
def test_corrupt_or_missing_files(tmp_path, content, words):
    path = tmp_path / "c.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=words):
        load_checkpoint(path)


def test_truncated_foreign_and_mismatched_files(tmp_path):
    model = build_model({"name": "unet", "base": 8})
    save_checkpoint(tmp_path / "m.pt", model, _config(model))
    data = (tmp_path / "m.pt").read_bytes()
    (tmp_path / "t.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "t.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "f.pt")
    with pytest.raises(UserError, match="not a nightcolor checkpoint"):
        load_checkpoint(tmp_path / "f.pt")
    other = build_model({"name": "unet", "base": 16})
    save_checkpoint(tmp_path / "x.pt", other, _config(model))   # config says base 8
    with pytest.raises(UserError, match="weights do not fit the 'unet' model"):
        load_checkpoint(tmp_path / "x.pt")
    save_checkpoint(tmp_path / "u.pt", model, {"model": {"name": "vit"}})
    with pytest.raises(UserError, match="u.pt: unknown model 'vit'"):
        load_checkpoint(tmp_path / "u.pt")
