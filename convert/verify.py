"""Parity checks: the exported model must compute what the checkpoint computes.

Inputs are random NCHW tensors in the network's [-1, 1] range, at a size whose H and W differ
(so a dynamic axis wired to the wrong dimension shows), plus real captures from a capture set
normalised exactly as training normalised them. FP32 ONNX is held to PyTorch by max absolute
error; FP16 (ONNX or TensorRT) is held to FP32 ONNX by PSNR of the sRGB images it gives.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from convert.bounds import FP16_MIN_PSNR_DB, onnx_session, worst_sample
from device.common.errors import UserError
from device.engines.model_card import Affine

FP32_MAX_ABS = 1e-4
REAL_CROP = 256        # side of the centre crop taken from each real capture
REAL_SCENES = 4        # real captures used at most


@dataclass(frozen=True)
class Sample:
    label: str          # where it came from, for messages: "random 2x3x64x96", "capture face_003"
    nir: np.ndarray     # float32 NCHW in the network's input range


def random_samples(channels: int, spatial_multiple: int, seed: int = 0) -> list[Sample]:
    """Two random batches: values uniform in [-1, 1], and a smooth ramp that saturates tanh."""
    h, w = spatial_multiple * max(1, -(-48 // spatial_multiple)), \
        spatial_multiple * max(1, -(-80 // spatial_multiple))
    ramp = np.broadcast_to(np.linspace(-1, 1, w, dtype=np.float32), (1, channels, h, w))
    return [random_sample_of_shape((2, channels, h, w), seed),
            Sample(f"ramp {'x'.join(map(str, ramp.shape))}", np.ascontiguousarray(ramp))]


def random_sample_of_shape(shape: tuple[int, ...], seed: int = 0) -> Sample:
    x = np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)
    return Sample(f"random {'x'.join(map(str, shape))}", x)


def capture_samples(data_dir: str | Path, wavelengths: list[int], from_reflectance: Affine,
                    spatial_multiple: int) -> list[Sample]:
    """Centre crops of real scenes of a capture set (test split first), as the network sees
    them: reflectance at the checkpoint's wavelengths, mapped to its input range."""
    from device.captures import CaptureSet

    captures = CaptureSet.open(data_dir)
    missing = [nm for nm in wavelengths if nm not in captures.wavelengths]
    if missing:
        raise UserError(f"{data_dir}: capture set has no {', '.join(f'{nm} nm' for nm in missing)} "
                        f"captures, which the checkpoint takes as input.")
    split = captures.split                                         # every part, maybe empty
    ordered = split["test"] + split["val"] + split["train"]
    scenes = [s for s in ordered if s in captures.scenes][:REAL_SCENES] or captures.scenes[:REAL_SCENES]
    samples = []
    for scene in scenes:
        nir = captures.load_nir(scene, list(wavelengths))          # H x W x C reflectance
        nir = _centre_crop(nir, REAL_CROP, spatial_multiple)
        x = nir * from_reflectance.scale + from_reflectance.offset
        samples.append(Sample(f"capture {scene}",
                              np.ascontiguousarray(x.transpose(2, 0, 1)[None], np.float32)))
    return samples


def _centre_crop(image: np.ndarray, side: int, multiple: int) -> np.ndarray:
    h, w = (min(side, d) // multiple * multiple for d in image.shape[:2])
    if not h or not w:
        raise UserError(f"captures of {image.shape[0]}x{image.shape[1]} px are smaller than the "
                        f"{multiple} px the network needs.")
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top:top + h, left:left + w]


def run_onnx(session, x: np.ndarray) -> np.ndarray:
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def fp32_max_abs_error(model: nn.Module, onnx_path: Path, samples: list[Sample]) -> float:
    """Largest |PyTorch - onnxruntime| over every sample (a NaN counts as infinite, by the
    worst-sample rule); UserError above FP32_MAX_ABS."""
    session = onnx_session(onnx_path)

    def minus_error(sample: Sample) -> float:     # the worst sample scores lowest
        expected = model(torch.from_numpy(sample.nir)).numpy()
        if not np.isfinite(expected).all():
            raise UserError(f"the network outputs NaN or infinity on {sample.label}: its "
                            f"weights are unusable (did training diverge?).")
        return -float(np.abs(run_onnx(session, sample.nir) - expected).max())

    with torch.no_grad():
        lowest, worst_label = worst_sample(samples, minus_error)
    worst = -lowest
    if not worst <= FP32_MAX_ABS:
        raise UserError(f"FP32 ONNX differs from PyTorch by {worst:.3g} (max abs, on "
                        f"{worst_label}), above the {FP32_MAX_ABS:g} allowed.")
    return worst


def psnr_db(reference: np.ndarray, test: np.ndarray, to_srgb: Affine) -> float:
    """PSNR of `test` against `reference` as sRGB images in [0, 1] (peak 1)."""
    a = np.clip(reference * to_srgb.scale + to_srgb.offset, 0, 1).astype(np.float64)
    b = np.clip(test * to_srgb.scale + to_srgb.offset, 0, 1).astype(np.float64)
    # Floor: identical images give 200 dB rather than infinity, which JSON cannot carry.
    mse = max(float(np.mean((a - b) ** 2)), 1e-20)
    return float(10 * np.log10(1.0 / mse))


def fp16_psnr(fp32_onnx: Path, infer: Callable[[np.ndarray], np.ndarray], samples: list[Sample],
              to_srgb: Affine, what: str) -> float:
    """Lowest PSNR of `infer` (an FP16 model) against the FP32 ONNX over the samples;
    UserError under FP16_MIN_PSNR_DB."""
    reference = onnx_session(fp32_onnx)
    worst, worst_label = worst_sample(
        samples, lambda s: psnr_db(run_onnx(reference, s.nir), infer(s.nir), to_srgb))
    if not worst >= FP16_MIN_PSNR_DB:
        raise UserError(f"{what} reaches only {worst:.1f} dB PSNR against the FP32 ONNX (on "
                        f"{worst_label}), under the {FP16_MIN_PSNR_DB:g} dB required.")
    return worst
