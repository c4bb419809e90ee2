"""Fréchet Inception Distance: the Fréchet distance between Gaussians fitted to Inception-v3
pool features of two image sets (Heusel et al. 2017), as the paper reports."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from device.common.errors import UserError


class FidUnavailable(Exception):
    """FID cannot be computed here; the message says why (reported, never replaced)."""


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray,
                     sigma2: np.ndarray) -> float:
    """||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        # Singular product (fewer images than feature dimensions): regularise as pytorch-fid does.
        offset = np.eye(len(s1)) * 1e-6
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        # Round-off leaves tiny imaginary parts; a large one means the inputs were not covariances.
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError("covariance product has a significant imaginary square root")
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def fid(real: Sequence[np.ndarray], generated: Sequence[np.ndarray],
        weights: str | Path | None) -> float:
    """FID between two sets of HxWx3 [0, 1] images, using the FID Inception-v3 weights file
    `weights` (pt_inception-2015-12-05-6726825d.pth). Raises FidUnavailable with the reason."""
    if weights is None:
        raise FidUnavailable("no --fid-weights file given")
    weights = Path(weights)
    if not weights.is_file():
        raise UserError(f"--fid-weights {weights}: no such file.")
    if min(len(real), len(generated)) < 2:
        raise FidUnavailable(f"needs at least 2 images per set, got {len(real)}")
    from train.inception import fid_features

    a, b = fid_features(real, weights), fid_features(generated, weights)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
