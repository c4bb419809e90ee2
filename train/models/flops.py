"""FLOPs per output pixel, counted by torch's FlopCounterMode on a real forward pass."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def flops_per_pixel(model: nn.Module, in_channels: int, size: int = 256) -> float:
    """Counted FLOPs (multiply and add counted separately) of one size x size frame / pixels."""
    size -= size % model.spatial_multiple
    x = torch.zeros(1, in_channels, size, size)
    # a noise-level input (train.models.unet) is one level per frame: its cost counts too
    extra = (torch.full((1, model.noise_inputs), 0.02),) if getattr(model, "noise_inputs", 0) \
        else ()
    counter = FlopCounterMode(display=False)
    was_training = model.training
    with torch.no_grad(), counter:
        model.eval()(x, *extra)
    model.train(was_training)
    return counter.get_total_flops() / (size * size)
