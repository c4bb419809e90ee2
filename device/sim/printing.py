"""The printer: sRGB artwork → CMYK coverage → spectral reflectance of the print.

Separation is the naive complement with grey-component replacement (GCR); the print's
spectrum follows the Yule–Nielsen spectral Neugebauer model: with Demichel weights w_p of the
16 primaries p (paper, C, M, Y, K, and every overprint),

    R(λ) = ( Σ_p w_p · R_p(λ)^(1/n) )^n,      R_p(λ) = paper(λ) · Π_{ink ∈ p} ink(λ)

where n > 1 models optical dot gain (light entering paper beside a dot leaves under it).
Everything that depends only on wavelength is folded into small tables once, so a render is
a (pixels × 16) · (16 × nodes) product, an elementwise power and a weighted sum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.sim.spectra import INKS, WAVELENGTHS, normalised_reflectance, paper_reflectance

N_PRIMARIES = 16          # primary index = c + 2·m + 4·y + 8·k (bit set = solid ink)
_CHUNK = 1 << 16          # pixels per block: keeps the (block × nodes) temporaries in cache


@dataclass(frozen=True)
class Printer:
    """CMYK office printer: GCR fraction (1.0 = greys printed with black only) and the
    Yule–Nielsen n (≈ 2 for uncoated office paper)."""
    gcr: float = 1.0
    yule_nielsen_n: float = 2.0

    def __post_init__(self):
        if not 0.0 <= self.gcr <= 1.0 or self.yule_nielsen_n < 1.0:
            raise ValueError("printer: gcr must be in [0, 1] and yule_nielsen_n >= 1")


def as_float_rgb(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 sRGB artwork (uint8, uint16 or float in [0, 1]) as float32 in [0, 1]."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"artwork must be an HxWx3 RGB array, got shape {rgb.shape}")
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float32) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float32) / 65535.0
    rgb = rgb.astype(np.float32)
    if not np.all(np.isfinite(rgb)) or rgb.min() < 0.0 or rgb.max() > 1.0:
        raise ValueError("float artwork must hold finite values in [0, 1]")
    return rgb


def separate_cmyk(rgb: np.ndarray, gcr: float = 1.0) -> np.ndarray:
    """HxWx3 sRGB in [0, 1] → HxWx4 ink coverage (c, m, y, k) in [0, 1].

    The grey component min(c', m', y') of the complements goes to black ink in proportion
    `gcr`, and the colour inks are rescaled under it (c = (c' - k) / (1 - k))."""
    cmy = 1.0 - rgb
    k = gcr * cmy.min(axis=-1, keepdims=True)
    under = 1.0 - k
    cmy = np.divide(cmy - k, under, out=np.zeros_like(cmy), where=under > 1e-6)
    return np.concatenate([np.clip(cmy, 0.0, 1.0), k], axis=-1).astype(np.float32)


def demichel_weights(cmyk: np.ndarray) -> np.ndarray:
    """(..., 4) coverages → (..., 16) Demichel weights: the area fraction of each primary when
    the four halftone screens are laid independently. They sum to 1."""
    flat = cmyk.reshape(-1, 4)
    weights = np.ones((flat.shape[0], 1), dtype=np.float32)
    for ink in range(4):   # each ink doubles the table; it becomes the next-higher index bit
        cov = flat[:, ink:ink + 1]
        weights = np.concatenate([weights * (1.0 - cov), weights * cov], axis=1)
    return weights.reshape(*cmyk.shape[:-1], N_PRIMARIES)


def primary_reflectance(nm=WAVELENGTHS) -> np.ndarray:
    """16 × len(nm) absolute reflectance of every Neugebauer primary."""
    table = np.empty((N_PRIMARIES, np.size(nm)))
    inks = [normalised_reflectance(name, nm) for name in INKS]
    paper = paper_reflectance(nm)
    for p in range(N_PRIMARIES):
        table[p] = paper
        for bit, ink in enumerate(inks):
            if p >> bit & 1:
                table[p] *= ink
    return table


@dataclass(frozen=True)
class SpectralProjection:
    """A set of linear read-outs of the print's spectrum (one LED band, or X, Y, Z) sampled at
    quadrature nodes: value_j = Σ_i node_weights[i, j] · R(nodes[i])."""
    nodes: np.ndarray          # (K,) nm
    node_weights: np.ndarray   # (K, M)

    @classmethod
    def from_density(cls, weight: np.ndarray, step_nm: float = 5.0,
                     keep: float = 0.9995) -> "SpectralProjection":
        """Quadrature for Σ_λ weight[λ, j] R(λ) on the 1 nm WAVELENGTHS grid: the grid is
        binned every `step_nm` (R is smooth over a few nm) and bins in the tails that carry
        less than 1 - `keep` of the total are dropped (a narrow LED needs ~12 nodes)."""
        weight = np.asarray(weight, dtype=np.float64).reshape(len(WAVELENGTHS), -1)
        edges = np.arange(WAVELENGTHS[0], WAVELENGTHS[-1] + step_nm, step_nm) - step_nm / 2
        index = np.clip(np.digitize(WAVELENGTHS, edges) - 1, 0, len(edges) - 1)
        binned = np.zeros((len(edges), weight.shape[1]))
        np.add.at(binned, index, weight)
        centres = np.clip(edges + step_nm / 2, WAVELENGTHS[0], WAVELENGTHS[-1])
        mass = np.abs(binned).sum(axis=1)
        order = np.argsort(mass)
        dropped = np.cumsum(mass[order]) <= (1.0 - keep) * mass.sum()
        kept = np.sort(order[~dropped])
        return cls(nodes=centres[kept], node_weights=binned[kept])


class PrintedSpectra:
    """The printed artwork as Demichel weights, ready to be read out through any projection."""

    def __init__(self, rgb: np.ndarray, printer: Printer = Printer()):
        self.printer = printer
        rgb = as_float_rgb(rgb)
        self.shape = rgb.shape[:2]
        self.weights = demichel_weights(separate_cmyk(rgb, printer.gcr)).reshape(-1, N_PRIMARIES)

    def project(self, projection: SpectralProjection) -> np.ndarray:
        """HxWxM float32: the Yule–Nielsen spectrum of every pixel read out by `projection`."""
        n = self.printer.yule_nielsen_n
        roots = (primary_reflectance(projection.nodes) ** (1.0 / n)).astype(np.float32)
        node_w = projection.node_weights.astype(np.float32)
        out = np.empty((self.weights.shape[0], node_w.shape[1]), dtype=np.float32)
        for start in range(0, self.weights.shape[0], _CHUNK):
            block = self.weights[start:start + _CHUNK] @ roots     # Σ_p w_p R_p^(1/n)
            block **= n          # numpy squares directly when n == 2
            out[start:start + _CHUNK] = block @ node_w
        return out.reshape(*self.shape, -1)
