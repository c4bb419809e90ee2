"""Checkpoints for the convert tests: tiny networks of every registered kind, saved with the
real `train.checkpoint.save_checkpoint`."""
from __future__ import annotations

import pytest
import torch

from train.checkpoint import save_checkpoint
from train.data import FROM_REFLECTANCE, TO_SRGB
from train.models import build_model

torch.set_num_threads(1)

TINY = {"linear": {"patch": 4}, "unet": {"base": 8}, "unet-gan": {"base": 8},
        "edge": {"base": 8}}


def checkpoint_config(model, inputs=(718, 777, 807)) -> dict:
    return {"model": model.config, "inputs": list(inputs), "truth_mode": "human",
            "normalisation": {"input": dict(FROM_REFLECTANCE), "output": dict(TO_SRGB)},
            "spatial_multiple": model.spatial_multiple}


def tiny_model(name: str, seed: int = 0):
    """A tiny network whose BatchNorms hold non-trivial running statistics, so folding them
    into the convolutions is actually exercised by the parity checks."""
    torch.manual_seed(seed)
    model = build_model({"name": name, **TINY[name]})
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture
def make_checkpoint(tmp_path):
    """make_checkpoint(name, filename=None, inputs=..., config=None, model=None) -> path of a
    saved checkpoint (config: default from the model and `inputs`)."""
    def make(name: str = "edge", filename: str | None = None, inputs=(718, 777, 807),
             config: dict | None = None, model=None):
        model = model if model is not None else tiny_model(name)
        path = tmp_path / (filename or f"{name}.pt")
        save_checkpoint(path, model,
                        config if config is not None else checkpoint_config(model, inputs))
        return path
    return make


@pytest.fixture(scope="module")
def converted_edge(tmp_path_factory):
    """One `convert --fp16` of a tiny edge checkpoint per test module: read-only, copy it
    (`converted_copy`) before changing anything."""
    from convert.pipeline import Options, convert_checkpoint

    folder = tmp_path_factory.mktemp("converted")
    model = tiny_model("edge")
    save_checkpoint(folder / "edge.pt", model, checkpoint_config(model))
    return convert_checkpoint(folder / "edge.pt", Options(fp16=True), log=lambda _: None)


@pytest.fixture
def converted_copy(converted_edge, tmp_path):
    """`converted_edge`'s files copied into this test's folder, its Outputs pointing there."""
    import dataclasses
    import shutil
    from pathlib import Path

    for path in converted_edge.onnx.parent.iterdir():
        shutil.copy(path, tmp_path / path.name)
    return dataclasses.replace(converted_edge, **{
        k: tmp_path / v.name for k, v in vars(converted_edge).items() if isinstance(v, Path)})
