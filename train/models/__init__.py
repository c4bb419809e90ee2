"""The model registry: every network is built by name from a plain-JSON config, and its
`ModelSpec` says everything else `train` needs (options, discriminator, how it is fitted).

`build_model({"name": "edge", "in_channels": 3, "base": 16})` returns an `nn.Module` taking
N x C x H x W in [-1, 1] and returning N x 3 x H x W in [-1, 1], with `.config` (the complete
config, defaults filled in: what checkpoints store) and `.spatial_multiple`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from device.common.errors import UserError
from train.models.encoders import ENCODERS
from train.models.linear import PatchLinear, PatchRegression
from train.models.patchgan import PatchGAN
from train.models.unet import UNet


@dataclass(frozen=True)
class ModelSpec:
    """Everything `train` needs to know about one model, so no code asks for it by name."""
    defaults: dict[str, int]                            # its options (paper values)
    build: Callable[[dict[str, Any]], nn.Module]        # the network from a complete config
    # How it is fitted: None = Adam on random crops; else a streamed closed-form solver
    # (`solver(model)`, `.add(nir, rgb)` per whole image, `.solve(ridge)`).
    closed_form: Callable[[nn.Module], Any] | None = None
    discriminator: Callable[[dict[str, Any]], nn.Module] | None = None   # adversarial training
    check: Callable[[dict[str, Any]], str | None] | None = None   # extra rule: the error, or None
    # optional options that are 0 (off, the default) or 1 (on); left out of a config when not
    # given, so a model card or checkpoint without them reads as before they existed
    switches: tuple[str, ...] = ()


def _linear(cfg: dict[str, Any]) -> nn.Module:
    return PatchLinear(cfg["in_channels"], cfg["patch"])


def _unet(encoder: str) -> Callable[[dict[str, Any]], nn.Module]:
    return lambda cfg: UNet(cfg["in_channels"], ENCODERS[encoder], cfg["base"],
                            noise_inputs=cfg["in_channels"] if cfg.get("noise_input") else 0)


def _patchgan(cfg: dict[str, Any]) -> nn.Module:
    """pix2pix's PatchGAN, conditioned on the NIR input (sees NIR + RGB channels)."""
    return PatchGAN(cfg["in_channels"] + 3, cfg["disc_base"])


def _tensor_core_width(cfg: dict[str, Any]) -> str | None:
    if cfg["base"] % 8:
        return (f"edge model base width must be a multiple of 8 (TensorRT tensor-core "
                f"friendly), not {cfg['base']}.")
    return None


# The registry. Options and defaults are the paper's values; edge's base sets its FLOP budget.
MODELS: dict[str, ModelSpec] = {
    # the paper's baseline: patch -> same patch, solved by streamed ridge regression
    "linear": ModelSpec({"patch": 12}, _linear, closed_form=PatchRegression),
    "unet": ModelSpec({"base": 64}, _unet("vgg16")),
    "unet-gan": ModelSpec({"base": 64, "disc_base": 64}, _unet("vgg16"), discriminator=_patchgan),
    # noise_input = 1: the model also takes each input's σ at paper white (train/light.py)
    "edge": ModelSpec({"base": 16}, _unet("edge"), check=_tensor_core_width,
                      switches=("noise_input",)),
}
MODEL_NAMES = tuple(MODELS)


def model_spec(config: dict[str, Any]) -> ModelSpec:
    """The registry entry of a (validated) model config."""
    return MODELS[model_config(config)["name"]]


def model_config(config: dict[str, Any]) -> dict[str, Any]:
    """Validate `config` and return it complete (defaults filled in); UserError if wrong."""
    if not isinstance(config, dict):
        raise UserError(f"model config must be a JSON object, not {type(config).__name__}.")
    name = config.get("name")
    if name not in MODELS:
        raise UserError(f"unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}.")
    full = {"name": name, "in_channels": 3, **MODELS[name].defaults}
    unknown = sorted(set(config) - set(full) - set(MODELS[name].switches))
    if unknown:
        raise UserError(f"model {name!r} has no option {', '.join(map(repr, unknown))}.")
    full.update(config)
    for key, value in full.items():
        if key in MODELS[name].switches:
            if value not in (0, 1) or isinstance(value, bool):
                raise UserError(f"model option {key!r} must be 0 or 1, not {value!r}.")
        elif key != "name" and (not isinstance(value, int) or isinstance(value, bool)
                                or value < 1):
            raise UserError(f"model option {key!r} must be a positive integer, not {value!r}.")
    problem = MODELS[name].check(full) if MODELS[name].check else None
    if problem:
        raise UserError(problem)
    return full


def build_model(config: dict[str, Any]) -> nn.Module:
    """The network (for unet-gan: its generator) described by `config`."""
    cfg = model_config(config)
    model = MODELS[cfg["name"]].build(cfg)
    model.config = cfg
    return model


def build_discriminator(config: dict[str, Any]) -> nn.Module:
    """The discriminator of an adversarially trained model (unet-gan's PatchGAN)."""
    cfg = model_config(config)
    spec = MODELS[cfg["name"]]
    if spec.discriminator is None:
        raise UserError(f"model {cfg['name']!r} has no discriminator.")
    return spec.discriminator(cfg)
