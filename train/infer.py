"""Whole-image inference with a fully convolutional network: pad to its spatial multiple, and
tile large images with overlapping margins so memory stays bounded."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def predict(model: nn.Module, nir: torch.Tensor, multiple: int, tile: int = 512,
            margin: int = 32, noise: torch.Tensor | None = None) -> torch.Tensor:
    """nir: 1 x C x H x W in [-1, 1] -> 1 x 3 x H x W in [-1, 1]; `noise` (1 x C, σ of paper
    white per input) for a model that takes the noise level.

    Images up to `tile` pixels a side run whole. Larger ones run in tile x tile windows that
    overlap by `margin` on each side; only each window's centre is kept, so seams fall where
    the network saw context on both sides.
    """
    model.eval()
    device = next(model.parameters()).device
    if noise is not None:
        noise = noise.to(device)
        net = model
        model = lambda x: net(x, noise)   # noqa: E731  (one image: the same level everywhere)
    _, _, h, w = nir.shape
    margin = math.ceil(margin / multiple) * multiple
    tile = max(tile - tile % multiple, 2 * margin + multiple)
    if max(h, w) <= tile:
        ph, pw = -h % multiple, -w % multiple
        x = F.pad(nir, (0, pw, 0, ph), mode="replicate") if ph or pw else nir
        return model(x.to(device)).cpu()[:, :, :h, :w]
    step = tile - 2 * margin
    rows, cols = math.ceil(h / step), math.ceil(w / step)
    x = F.pad(nir, (margin, margin + cols * step - w, margin, margin + rows * step - h),
              mode="replicate")
    out = torch.empty(1, 3, rows * step, cols * step)
    for r in range(rows):
        for c in range(cols):
            y0, x0 = r * step, c * step
            pred = model(x[:, :, y0:y0 + tile, x0:x0 + tile].to(device)).cpu()
            out[:, :, y0:y0 + step, x0:x0 + step] = pred[:, :, margin:margin + step,
                                                         margin:margin + step]
    return out[:, :, :h, :w]
