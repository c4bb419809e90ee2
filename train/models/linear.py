"""The paper's baseline: a linear map from a patch of the NIR inputs to the same patch of RGB.

Formulation. Tile the image into non-overlapping p x p patches. For each patch, the C*p*p input
values x (ordered channel, row, column) give the 3*p*p output values y = W x + b. As a network
this is one Conv2d(C, 3*p*p, kernel=p, stride=p) -- each output position is one patch's y --
followed by PixelShuffle(p), which puts y's values back at their pixels (DepthToSpace in ONNX).
The rows of W for colour channel k only ever meet the targets of channel k, and all three share
the same normal matrix XᵀX, so one solve gives exactly the paper's three per-channel models.
Output is clamped to [-1, 1] (a tanh would make the closed-form fit wrong).

Fit: ridge regression in closed form, streaming: `PatchRegression.add` accumulates XᵀX and XᵀY
(float64) over batches of patches, so memory is O((C p²)²) whatever the data size (p=64 with
three inputs: a 12288² matrix, 1.2 GB; p=12: 432², 1.5 MB).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchLinear(nn.Module):
    def __init__(self, in_channels: int, patch: int):
        super().__init__()
        self.patch = patch
        self.spatial_multiple = patch
        self.conv = nn.Conv2d(in_channels, 3 * patch * patch, patch, stride=patch)
        self.shuffle = nn.PixelShuffle(patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x)).clamp(-1.0, 1.0)


class PatchRegression:
    """Streaming ridge regression for a `PatchLinear`: add (input, target) images, then solve."""

    def __init__(self, model: PatchLinear, stride: int | None = None):
        self.model = model
        self.patch = model.patch
        # Overlapping patches are valid samples of the same patch-to-patch map and give far more
        # equations per image than the inference tiling does.
        self.stride = stride or max(1, self.patch // 2)
        dim = model.conv.in_channels * self.patch ** 2 + 1   # +1: the bias column
        self.xtx = torch.zeros(dim, dim, dtype=torch.float64)
        self.xty = torch.zeros(dim, 3 * self.patch ** 2, dtype=torch.float64)
        self.count = 0

    def _patches(self, images: torch.Tensor) -> torch.Tensor:
        cols = F.unfold(images.double(), self.patch, stride=self.stride)   # N x D x L
        return cols.transpose(1, 2).reshape(-1, cols.shape[1])              # (N*L) x D

    def add(self, nir: torch.Tensor, rgb: torch.Tensor) -> None:
        """nir: N x C x H x W, rgb: N x 3 x H x W, both in [-1, 1]."""
        x = self._patches(nir)
        x = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
        y = self._patches(rgb)
        self.xtx += x.T @ x
        self.xty += x.T @ y
        self.count += len(x)

    def solve(self, ridge: float = 1e-3) -> None:
        """Write the ridge solution into the model. `ridge` is relative to the mean diagonal of XᵀX
        (scale-free); the bias is not penalised."""
        if self.count == 0:
            raise ValueError("no patches were added")
        dim = self.xtx.shape[0]
        penalty = torch.full((dim,), ridge * float(self.xtx.diagonal()[:-1].mean()),
                             dtype=torch.float64)
        penalty[-1] = 0.0
        solution = torch.linalg.solve(self.xtx + torch.diag(penalty), self.xty)   # D+1 x 3p²
        weight, bias = solution[:-1].T, solution[-1]
        conv = self.model.conv
        with torch.no_grad():
            conv.weight.copy_(weight.reshape(conv.weight.shape).float())
            conv.bias.copy_(bias.float())
