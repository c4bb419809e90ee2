"""Checkpoint files: tensors + a plain-JSON config, written atomically, read with weights_only.

Layout of the `torch.save`d dict: {"format": "nightcolor-checkpoint", "version": 1,
"config": <JSON text>, "state_dict": {name: tensor}, "extra": {...}}. The config is stored as
JSON text so it can only ever be plain data; `extra` holds training state (optimizer, RNG,
iteration) as tensors and plain values.
"""
from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from device.common.files import atomic_output
from device.common.errors import UserError
from train.models import build_model

FORMAT = "nightcolor-checkpoint"
VERSION = 1


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model   # DistributedDataParallel


def save_checkpoint(path: str | Path, model: nn.Module, config: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> None:
    """Write `model`'s weights and `config` (must be plain JSON) to `path` atomically."""
    payload = {"format": FORMAT, "version": VERSION, "config": json.dumps(config),
               "state_dict": _unwrap(model).state_dict(), "extra": extra or {}}
    with atomic_output(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The validated payload of a checkpoint file (config already parsed); UserError if bad."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such checkpoint file.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            pickle.UnpicklingError):
        raise UserError(f"{path}: not a readable checkpoint (corrupt, truncated, or holding "
                        f"more than tensors and plain data).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path}: not a nightcolor checkpoint (no '{FORMAT}' format tag).")
    if payload.get("version") != VERSION:
        raise UserError(f"{path}: checkpoint format version {payload.get('version')!r} is not "
                        f"the version this code reads ({VERSION}).")
    try:
        config = json.loads(payload["config"])
        state_dict = payload["state_dict"]
    except (KeyError, TypeError, json.JSONDecodeError):
        raise UserError(f"{path}: checkpoint config or weights are missing or malformed.") from None
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise UserError(f"{path}: checkpoint config has no 'model' section.")
    return {"config": config, "state_dict": state_dict, "extra": payload.get("extra") or {}}


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """(model in eval mode with the checkpoint's weights, config); UserError if anything is off."""
    payload = read_checkpoint(path)
    config = payload["config"]
    try:
        model = build_model(config["model"])
    except UserError as exc:
        raise UserError(f"{path}: {str(exc)[0].lower()}{str(exc)[1:]}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except (RuntimeError, TypeError, AttributeError):
        raise UserError(f"{path}: weights do not fit the {config['model']['name']!r} model its "
                        f"config describes.") from None
    return model.eval(), config
