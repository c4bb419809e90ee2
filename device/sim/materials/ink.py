"""Ink: the printer's CMYK prints on paper (`device.sim.printing`) as a family, the one every
other part of the twin was built for. Its parameters are the sRGB artwork sent to the printer;
its prior is uniform over the sRGB cube, as `device sim floor`'s default prior is."""
from __future__ import annotations

import numpy as np

from device.sim.materials.family import Family
from device.sim.printing import Printer, demichel_weights, primary_reflectance, separate_cmyk
from device.sim.spectra import WAVELENGTHS


class Ink(Family):
    name = "ink"
    parameters = ("red", "green", "blue")

    def __init__(self, printer: Printer = Printer()):
        self.printer = printer

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.random((n, 3))

    def reflectance(self, params: np.ndarray) -> np.ndarray:
        """The Yule–Nielsen spectral Neugebauer spectrum of each printed colour."""
        rgb = np.atleast_2d(np.asarray(params, dtype=np.float32))
        coverage = separate_cmyk(rgb[:, None, :], self.printer.gcr)[:, 0, :].T
        n = self.printer.yule_nielsen_n
        roots = primary_reflectance(WAVELENGTHS, self.printer.inks) ** (1.0 / n)
        return (demichel_weights(coverage).T.astype(np.float64) @ roots) ** n


INK = Ink()
