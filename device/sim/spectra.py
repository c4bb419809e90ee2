"""Reflectance of the paper and of the four process inks from 380 to 1000 nm.

Convention: every *ink* curve here is the ink's **normalised reflectance**, i.e. the reflectance
of a solid patch divided by the reflectance of bare paper at the same wavelength. That is the
quantity the paper plots in Fig. 4 and quotes in numbers (docs/paper.md, "Facts from the paper"), and what a camera
measures once each channel is normalised to the paper white. The *paper* curve is absolute.
A printed primary (paper plus any set of inks) reflects paper(λ) × Π normalised_ink(λ):
each ink layer is a filter that light crosses on the way in and on the way out.

Shapes are written in optical density D(λ) (reflectance = 10^-D) as a flat base plus Gaussian
absorption bands plus logistic steps, because dye absorption bands are close to Gaussian in
density. The band parameters were fitted offline (least squares) to the anchor values listed
beside each curve; at 718/777/807 nm the fit targets the value a 30 nm LED reads through the
silicon sensor (`readings.py`), since the paper measured its numbers through its LEDs.
`tests/device/sim/test_spectra.py` checks every number of the paper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

WAVELENGTHS = np.arange(380.0, 1001.0, 1.0)   # nm; the grid every spectral table in the twin uses
INKS = ("cyan", "magenta", "yellow", "black")


@dataclass(frozen=True)
class DensityShape:
    """D(λ) = base + Σ a·exp(-½((λ-μ)/σ)²) + Σ a / (1 + exp(-(λ-c)/w))."""
    base: float
    gaussians: tuple[tuple[float, float, float], ...] = ()   # (amplitude, centre nm, sigma nm)
    logistics: tuple[tuple[float, float, float], ...] = ()   # (amplitude, midpoint nm, width nm)

    def density(self, nm) -> np.ndarray:
        nm = np.asarray(nm, dtype=np.float64)
        d = np.full(nm.shape, self.base)
        for a, mu, sigma in self.gaussians:
            d += a * np.exp(-0.5 * ((nm - mu) / sigma) ** 2)
        for a, mid, width in self.logistics:
            d += a / (1.0 + np.exp(-(nm - mid) / width))
        return d

    def reflectance(self, nm) -> np.ndarray:
        return 10.0 ** -self.density(nm)


# Paper (absolute): an uncoated office sheet without optical brighteners reflects ~0.88 flat
# through the visible and NIR, a little less in the violet (lignin/size absorption).
PAPER = DensityShape(base=0.0555, gaussians=((0.06, 380.0, 25.0),))

SHAPES = {
    # Cyan (a phthalocyanine-like dye): a UV band and a broad red band (663 nm) leave the
    # visible peak at 495 nm (Fig. 4); the red band's long-wave tail gives the paper's 0.10 at
    # 718 and 0.50 at 777 nm, and a weak band toward 1000 nm turns the NIR rise into the
    # isolated maximum near 854 nm (0.80), after which cyan falls onto magenta ("cyan and
    # magenta overlap above 854 nm").
    # Anchors (LED readings at 718/777 nm, spectral values elsewhere): 495: 0.76, 718: 0.10,
    # 777: 0.50, 854: 0.80, 900: 0.78, 1000: 0.755.
    "cyan": DensityShape(
        base=0.0859,
        gaussians=((1.4848, 250.0, 82.68), (1.614, 663.28, 54.82), (0.0369, 975.07, 69.38))),
    # Magenta (a quinacridone/xanthene-like dye): its green bands (476 + 537 nm) absorb
    # 480-590 nm and its red edge (50 % near 595 nm) rises to the peak at 660 nm (Fig. 4); a
    # weak 745 nm band holds it at the paper's broad 0.70 at 718 and 777 nm, after which it
    # rises to ~0.83 near 845 nm (0.78 at 807 nm, clear of cyan) and drifts down toward
    # 1000 nm, meeting cyan above 854 nm.
    # Anchors: 447: 0.42, 529: 0.05, 595: 0.50, 660: 0.82, 718: 0.70, 777: 0.70, 807: 0.78,
    # 854: 0.80, 1000: 0.76.
    "magenta": DensityShape(
        base=0.0386,
        gaussians=((0.2282, 363.27, 25.0), (0.3482, 475.95, 82.66), (1.4032, 536.63, 27.14),
                   (0.1447, 744.98, 41.72), (0.084, 980.0, 95.78))),
    # Yellow (an azo-like dye): one strong blue band (417 nm); above 500 nm it is broad and
    # high with the two peaks of Fig. 4 at 604 and 697 nm (a faint 653 nm dip between them and
    # a shoulder at 560 nm), then a logistic step to the flat 0.90 the paper quotes at 718 and
    # 777 nm: CMY dyes are nearly transparent in the NIR.
    # Anchors: 447: 0.04, 550: 0.90, 604: 0.93, 650: 0.91, 697: 0.93, 718..1000: 0.90.
    "yellow": DensityShape(
        base=0.017,
        gaussians=((1.8501, 416.80, 41.05), (0.0215, 560.0, 23.15), (0.0237, 653.38, 40.0)),
        logistics=((0.0287, 711.90, 4.83),)),
    # Black (carbon pigment): absorbs across the whole range, ~0.05 of paper in the visible
    # and still ~0.06 at 1000 nm. Carbon black is the one ink that stays dark in the NIR,
    # which is why black text remains visible under the 718/777/807 nm LEDs.
    "black": DensityShape(base=1.22, gaussians=((0.08, 380.0, 300.0),)),
}


def paper_reflectance(nm) -> np.ndarray:
    """Absolute diffuse reflectance of the bare paper."""
    return PAPER.reflectance(nm)


def normalised_reflectance(name: str, nm) -> np.ndarray:
    """Normalised reflectance (relative to paper white) of a solid patch of ink `name`;
    `"paper"` gives 1.0 by definition."""
    if name == "paper":
        return np.ones(np.shape(np.asarray(nm, dtype=np.float64)))
    if name not in SHAPES:
        raise KeyError(f"unknown ink {name!r}; expected one of {', '.join(INKS)} or 'paper'")
    return SHAPES[name].reflectance(nm)


@dataclass(frozen=True, eq=False)
class InkSpectra:
    """Where the printer takes its paper and ink spectra from: the fitted curves of this module
    (`SIM_INKS`), or tables on the 1 nm grid, e.g. a spectrophotometer's measurement read by
    `device.sim.ink_csv`. Tables hold normalised ink reflectance (ink / paper) for every ink of
    INKS and, optionally, the absolute reflectance of the paper ("paper"); without it the sim's
    paper is kept. Compared by identity: two loaded copies of one file are different objects."""
    source: str = "sim"
    tables: Mapping[str, np.ndarray] | None = None

    def paper(self, nm) -> np.ndarray:
        """Absolute reflectance of the bare paper at `nm`."""
        if self.tables is not None and "paper" in self.tables:
            return np.interp(np.asarray(nm, dtype=np.float64), WAVELENGTHS, self.tables["paper"])
        return paper_reflectance(nm)

    def ink(self, name: str, nm) -> np.ndarray:
        """Normalised reflectance of a solid patch of ink `name` at `nm`."""
        if self.tables is None:
            return normalised_reflectance(name, nm)
        return np.interp(np.asarray(nm, dtype=np.float64), WAVELENGTHS, self.tables[name])


SIM_INKS = InkSpectra()
