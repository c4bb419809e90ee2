"""The model registry: every network is built by name from a plain-JSON config.

`build_model({"name": "edge", "in_channels": 3, "base": 16})` returns an `nn.Module` taking
N x C x H x W in [-1, 1] and returning N x 3 x H x W in [-1, 1], with `.config` (the complete
config, defaults filled in: what checkpoints store) and `.spatial_multiple`.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from device.common.errors import UserError
from train.models.encoders import ENCODERS
from train.models.linear import PatchLinear
from train.models.patchgan import PatchGAN
from train.models.unet import UNet

MODEL_NAMES = ("linear", "unet", "unet-gan", "edge")

# Options per model and their defaults (paper values; edge's base sets its FLOP budget).
_DEFAULTS: dict[str, dict[str, int]] = {
    "linear": {"patch": 12},
    "unet": {"base": 64},
    "unet-gan": {"base": 64, "disc_base": 64},
    "edge": {"base": 16},
}


def model_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate `config` and return it complete (defaults filled in); UserError if wrong."""
    if not isinstance(config, dict):
        raise UserError(f"model config must be a JSON object, not {type(config).__name__}.")
    name = config.get("name")
    if name not in _DEFAULTS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}.")
    full = {"name": name, "in_channels": 3, **_DEFAULTS[name]}
    unknown = sorted(set(config) - set(full))
    if unknown:
        raise UserError(f"model {name!r} has no option {', '.join(map(repr, unknown))}.")
    full.update(config)
    for key, value in full.items():
        if key != "name" and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise UserError(f"model option {key!r} must be a positive integer, not {value!r}.")
    if name == "edge" and full["base"] % 8:
        raise UserError(f"edge model base width must be a multiple of 8 (TensorRT tensor-core "
                        f"friendly), not {full['base']}.")
    return full


def build_model(config: dict[str, Any]) -> nn.Module:
    """The network (for unet-gan: its generator) described by `config`."""
    cfg = model_config(config)
    name = cfg["name"]
    if name == "linear":
        model: nn.Module = PatchLinear(cfg["in_channels"], cfg["patch"])
    else:
        encoder = ENCODERS["edge" if name == "edge" else "vgg16"]
        model = UNet(cfg["in_channels"], encoder, cfg["base"])
    model.config = cfg
    return model


def build_discriminator(config: dict[str, Any]) -> nn.Module:
    """unet-gan's PatchGAN, conditioned on the NIR input (sees NIR + RGB channels)."""
    cfg = model_config(config)
    if cfg["name"] != "unet-gan":
        raise UserError(f"model {cfg['name']!r} has no discriminator.")
    return PatchGAN(cfg["in_channels"] + 3, cfg["disc_base"])
