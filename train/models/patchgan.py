"""pix2pix's PatchGAN discriminator (NLayerDiscriminator, 3 layers: 70 x 70 receptive field).

Conditioned on the NIR input: it sees concat(NIR, RGB) and scores each 70 x 70 patch
real/fake with one logit.
"""
from __future__ import annotations

import torch
from torch import nn


class PatchGAN(nn.Module):
    def __init__(self, in_channels: int, base: int = 64, layers: int = 3):
        super().__init__()
        seq: list[nn.Module] = [nn.Conv2d(in_channels, base, 4, stride=2, padding=1),
                                nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for n in range(1, layers + 1):
            prev, mult = mult, min(2 ** n, 8)
            stride = 2 if n < layers else 1
            seq += [nn.Conv2d(base * prev, base * mult, 4, stride=stride, padding=1, bias=False),
                    nn.BatchNorm2d(base * mult), nn.LeakyReLU(0.2, inplace=True)]
        seq.append(nn.Conv2d(base * mult, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*seq)

    def forward(self, nir: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([nir, rgb], dim=1))
