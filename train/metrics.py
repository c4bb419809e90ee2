"""The paper's image metrics on H x W x 3 sRGB float arrays in [0, 1], and FID over image sets.

PSNR and SSIM come from scikit-image and ΔE00 from colour-science (through `device.sim`), so
the numbers are the libraries' validated ones, not a re-implementation.
"""
from __future__ import annotations

import numpy as np

from train.fid import FidUnavailable, fid, frechet_distance

__all__ = ["mse", "psnr", "ssim", "angular_error", "delta_e00", "sharpness", "fid",
           "frechet_distance", "FidUnavailable", "image_metrics", "METRICS"]


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected two HxWx3 images of one shape, got {a.shape} and {b.shape}")
    return a, b


def mse(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _pair(a, b)
    return float(np.mean((a - b) ** 2))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB for a [0, 1] range (inf for identical images)."""
    from skimage.metrics import peak_signal_noise_ratio

    a, b = _pair(a, b)
    if np.array_equal(a, b):
        return float("inf")
    return float(peak_signal_noise_ratio(a, b, data_range=1.0))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity over the three channels (scikit-image, 7x7 window)."""
    from skimage.metrics import structural_similarity

    a, b = _pair(a, b)
    return float(structural_similarity(a, b, channel_axis=-1, data_range=1.0))


def angular_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean angle in degrees between the RGB vectors of corresponding pixels (hue/chroma error,
    blind to brightness). Pixels black in either image have no direction and are left out."""
    a, b = _pair(a, b)
    na, nb = np.linalg.norm(a, axis=2), np.linalg.norm(b, axis=2)
    keep = (na > 1e-6) & (nb > 1e-6)
    if not keep.any():
        return 0.0
    cos = (a * b).sum(axis=2)[keep] / (na[keep] * nb[keep])
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean())


def delta_e00(a: np.ndarray, b: np.ndarray) -> float:
    """Mean CIEDE2000 difference (sRGB -> CIELAB D65 via colour-science)."""
    from device.sim import delta_e00 as per_pixel

    a, b = _pair(a, b)
    return float(np.mean(per_pixel(a, b)))


def gradient_energy(img: np.ndarray) -> float:
    """Mean squared Sobel gradient magnitude over the pixels and channels (scikit-image)."""
    from skimage.filters import sobel

    return float(np.mean(sobel(np.asarray(img, dtype=np.float64), axis=(0, 1)) ** 2))


def sharpness(truth: np.ndarray, pred: np.ndarray) -> float:
    """Gradient energy of the output over that of the truth: 1 is as sharp as the truth, below
    1 blurrier (an L1-trained network's washed-out edges), above 1 sharper or noisier (the
    paper found the GAN's patches sharper). NaN for a truth without any gradient."""
    truth, pred = _pair(truth, pred)
    reference = gradient_energy(truth)
    return gradient_energy(pred) / reference if reference > 0 else float("nan")


METRICS = {"mse": mse, "psnr": psnr, "ssim": ssim, "angular_error": angular_error,
           "delta_e00": delta_e00, "sharpness": sharpness}


def image_metrics(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {name: fn(truth, pred) for name, fn in METRICS.items()}
