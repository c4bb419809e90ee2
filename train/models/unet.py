"""U-Net over an encoder layer table (paper: VGG16 encoder, up-conv decoder, logistic output)."""
from __future__ import annotations

import torch
from torch import nn

from train.models.encoders import EncoderSpec
from train.models.layers import conv_relu

# σ of paper white at the simulated rig's nominal exposure is 1.8-2.4 % (README, "device sim
# floor"): the noise-level input is taken relative to 2 %, so today's light codes near 0.
NOMINAL_SIGMA = 0.02


class UNet(nn.Module):
    """N x C x H x W in [-1, 1] -> N x 3 x H x W in [-1, 1]; H, W multiples of `spatial_multiple`.

    Decoder step (paper): 2x up (2x2 up-convolution, or nearest up-sampling for the edge model),
    concatenation with the skip, two 3x3 conv + ReLU (one for the edge model). Output: 3x3 conv then tanh, which is the
    paper's logistic output rescaled to [-1, 1] (tanh(x) = 2 * sigmoid(2x) - 1).
    """

    def __init__(self, in_channels: int, spec: EncoderSpec, base: int, out_channels: int = 3,
                 noise_inputs: int = 0):
        super().__init__()
        widths = [[base * m for m in stage] for stage in spec.stages]
        # Optional noise-level input: one σ of paper white per input channel (N x C, a
        # fraction of white), as log(σ / NOMINAL_SIGMA) through a linear map to a bias on the
        # first conv of every encoder stage, after its BatchNorm. Zero-initialised, so a model
        # given this input starts as the same model without it.
        self.noise_inputs = noise_inputs
        self.noise_bias = nn.ModuleList()
        for stage in widths if noise_inputs else ():
            layer = nn.Linear(noise_inputs, stage[0])
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
            self.noise_bias.append(layer)
        self.spatial_multiple = 2 ** (len(widths) - 1)
        self.pool = nn.MaxPool2d(2)

        self.encoder = nn.ModuleList()
        ch = in_channels
        for stage in widths:
            convs = []
            for out_ch in stage:
                convs.append(conv_relu(ch, out_ch, spec.batchnorm))
                ch = out_ch
            self.encoder.append(nn.Sequential(*convs))

        self.ups = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for stage in reversed(widths[:-1]):
            skip_ch = stage[-1]
            if spec.upsample == "convtranspose":
                self.ups.append(nn.ConvTranspose2d(ch, skip_ch, 2, stride=2))
                up_ch = skip_ch
            else:
                self.ups.append(nn.Upsample(scale_factor=2, mode="nearest"))
                up_ch = ch
            convs = [conv_relu(up_ch + skip_ch, skip_ch, spec.batchnorm)]
            convs += [conv_relu(skip_ch, skip_ch, spec.batchnorm)
                      for _ in range(spec.decoder_convs - 1)]
            self.decoder.append(nn.Sequential(*convs))
            ch = skip_ch
        self.head = nn.Conv2d(ch, out_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if (noise is None) != (not self.noise_inputs):
            raise ValueError("this model takes a noise level" if self.noise_inputs else
                             "this model takes no noise level")
        code = None if noise is None else torch.log(noise.clamp_min(1e-4) / NOMINAL_SIGMA)
        skips = []
        for i, stage in enumerate(self.encoder):
            if i:
                x = self.pool(x)
            if code is None:
                x = stage(x)
            else:   # stage[0] is conv (+ BN) + ReLU: the bias goes in before the ReLU
                x = stage[0][:-1](x) + self.noise_bias[i](code)[:, :, None, None]
                x = stage[1:](stage[0][-1](x))
            skips.append(x)
        skips.pop()  # the bottleneck is not a skip
        for up, block in zip(self.ups, self.decoder):
            x = block(torch.cat([up(x), skips.pop()], dim=1))
        return torch.tanh(self.head(x))
