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

from device.sim.spectra import INKS, SIM_INKS, WAVELENGTHS, InkSpectra

N_PRIMARIES = 16          # primary index = c + 2·m + 4·y + 8·k (bit set = solid ink)
_CHUNK = 1 << 14          # pixels per block: keeps the per-block temporaries in cache


@dataclass(frozen=True)
class Printer:
    """CMYK office printer: GCR fraction (1.0 = greys printed with black only), the
    Yule–Nielsen n (≈ 2 for uncoated office paper) and the paper and ink spectra (the sim's
    fitted curves unless a measured set replaces them)."""
    gcr: float = 1.0
    yule_nielsen_n: float = 2.0
    inks: InkSpectra = SIM_INKS

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
    """HxWx3 sRGB in [0, 1] → HxWx4 float32 ink coverage (c, m, y, k) in [0, 1].

    The grey component min(c', m', y') of the complements goes to black ink in proportion
    `gcr`, and the colour inks are rescaled under it (c = (c' - k) / (1 - k))."""
    c, m, y = (np.float32(1.0) - rgb[..., i] for i in range(3))   # planes: fast elementwise
    k = np.minimum(np.minimum(c, m), y)
    k *= np.float32(gcr)
    scale = np.float32(1.0) / np.maximum(np.float32(1.0) - k, np.float32(1e-6))
    out = np.empty(rgb.shape[:-1] + (4,), dtype=np.float32)
    for i, plane in enumerate((c, m, y)):   # where k = 1, plane - k = 0 anyway
        out[..., i] = np.clip((plane - k) * scale, 0.0, 1.0)
    out[..., 3] = k
    return out


def demichel_weights(coverage: np.ndarray) -> np.ndarray:
    """4 × N planar coverages (c, m, y, k rows) → 16 × N float32 Demichel weights: the area
    fraction of each primary when the four halftone screens are laid independently (the
    columns sum to 1). Planar rows keep every step a contiguous vector operation."""
    coverage = np.asarray(coverage, dtype=np.float32)
    weights = np.empty((N_PRIMARIES, coverage.shape[1]), dtype=np.float32)
    np.subtract(np.float32(1.0), coverage[0], out=weights[0])
    weights[1] = coverage[0]
    for ink in range(1, 4):   # each ink doubles the table and becomes the next index bit
        width = 1 << ink
        np.multiply(weights[:width], coverage[ink], out=weights[width:2 * width])
        weights[:width] -= weights[width:2 * width]   # w·(1 - cov) without a temporary
    return weights


def primary_reflectance(nm=WAVELENGTHS, spectra: InkSpectra = SIM_INKS) -> np.ndarray:
    """16 × len(nm) absolute reflectance of every Neugebauer primary."""
    table = np.empty((N_PRIMARIES, np.size(nm)))
    inks = [spectra.ink(name, nm) for name in INKS]
    paper = spectra.paper(nm)
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
    def from_density(cls, weight: np.ndarray, step_nm: float = 10.0,
                     keep: float = 0.995) -> "SpectralProjection":
        """Quadrature for Σ_λ weight[λ, j] R(λ) on the 1 nm WAVELENGTHS grid.

        The grid is cut into `step_nm` bins; each bin becomes one node at its weight centroid
        (so R varying linearly across a bin is integrated exactly), bins in the tails holding
        less than 1 - `keep` of the total are dropped and the rest rescaled so that a flat
        spectrum (bare paper) still integrates exactly. A 30 nm LED needs ~12 nodes."""
        weight = np.asarray(weight, dtype=np.float64).reshape(len(WAVELENGTHS), -1)
        bins = ((WAVELENGTHS - WAVELENGTHS[0]) // step_nm).astype(int)
        mass_per_nm = np.abs(weight).sum(axis=1)
        binned = np.zeros((bins[-1] + 1, weight.shape[1]))
        np.add.at(binned, bins, weight)
        mass = np.bincount(bins, weights=mass_per_nm)
        moment = np.bincount(bins, weights=mass_per_nm * WAVELENGTHS)
        order = np.argsort(mass)
        dropped = np.cumsum(mass[order]) <= (1.0 - keep) * mass.sum()
        kept = np.sort(order[~dropped])
        node_weights = binned[kept] * (weight.sum(axis=0) / binned[kept].sum(axis=0))
        return cls(nodes=moment[kept] / mass[kept], node_weights=node_weights)


class PrintedSpectra:
    """A print as ink coverage, read out through any spectral projection."""

    def __init__(self, cmyk: np.ndarray, printer: Printer = Printer()):
        """`cmyk`: HxWx4 coverage of cyan, magenta, yellow and black ink in [0, 1]."""
        self.printer = printer
        self.shape = cmyk.shape[:2]
        # planar 4 × N (c, m, y, k rows) for demichel_weights
        self.coverage = np.ascontiguousarray(cmyk.reshape(-1, 4).T, dtype=np.float32)

    @classmethod
    def from_rgb(cls, rgb: np.ndarray, printer: Printer = Printer()) -> "PrintedSpectra":
        """Print sRGB artwork (HxWx3 uint8/uint16/float) through the printer's separation."""
        return cls(separate_cmyk(as_float_rgb(rgb), printer.gcr), printer)

    def project(self, projection: SpectralProjection) -> np.ndarray:
        """HxWxM float32: the Yule–Nielsen spectrum of every pixel read out by `projection`.

        Pixels go through in blocks so the Demichel weights (16 per pixel) and the per-node
        temporaries stay in cache instead of being whole-image arrays."""
        n = self.printer.yule_nielsen_n
        primaries = primary_reflectance(projection.nodes, self.printer.inks)
        roots = (primaries ** (1.0 / n)).astype(np.float32).T
        node_w = projection.node_weights.astype(np.float32).T      # M × K
        pixels = self.coverage.shape[1]
        out = np.empty((node_w.shape[0], pixels), dtype=np.float32)
        for start in range(0, pixels, _CHUNK):
            block = roots @ demichel_weights(self.coverage[:, start:start + _CHUNK])  # K × n
            block **= n          # numpy squares directly when n == 2
            np.matmul(node_w, block, out=out[:, start:start + _CHUNK])
        return np.moveaxis(out.reshape(-1, *self.shape), 0, -1)
