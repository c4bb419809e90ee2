"""Encoder layer tables, chosen by name (in the manner of segmentation_models_pytorch).

A table lists the encoder's stages, shallow to deep; each stage is a run of 3x3 conv + ReLU
layers at one resolution, written as multiples of the model's `base` width; a 2x2 max-pool
separates consecutive stages. The output of every stage but the last is a U-Net skip; the last
stage is the bottleneck.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EncoderSpec:
    stages: tuple[tuple[int, ...], ...]   # channel multipliers of base, per conv, per stage
    batchnorm: bool                       # BN after each conv (folded into it at export)
    upsample: str                         # decoder's 2x up: "convtranspose" | "nearest"
    decoder_convs: int                    # 3x3 conv + ReLU layers per decoder step


ENCODERS: dict[str, EncoderSpec] = {
    # VGG16's 13 convs: [64,64,M,128,128,M,256x3,M,512x3,M,512x3,M] with base=64. VGG's fifth
    # max-pool only feeds its classifier, so the U-Net drops it and the 512@H/16 stage is the
    # bottleneck (4 pools: H and W must be multiples of 16). Paper decoder: 2x2 up-convolution.
    "vgg16": EncoderSpec(stages=((1, 1), (2, 2), (4, 4, 4), (8, 8, 8), (8, 8, 8)),
                         batchnorm=False, upsample="convtranspose", decoder_convs=2),
    # Jetson model: one conv per stage below full resolution and per decoder step, BN, nearest
    # up-sampling (TensorRT-friendly layers only). With base=16 its channels are 16..128
    # (multiples of 8) at 1/24 of vgg16's FLOPs/pixel (counted: bench/bench_models.py).
    "edge": EncoderSpec(stages=((1, 1), (2,), (4,), (8,), (8,)),
                        batchnorm=True, upsample="nearest", decoder_convs=1),
}
