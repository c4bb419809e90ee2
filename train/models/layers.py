"""Small building blocks shared by the networks: 3x3 conv (+BN) + ReLU."""
from __future__ import annotations

from torch import nn


def conv_relu(in_ch: int, out_ch: int, batchnorm: bool) -> nn.Sequential:
    """3x3 'same' conv, optional BatchNorm (folded into the conv at export), ReLU."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
