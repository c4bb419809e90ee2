"""`MaterialScene`: a picture made of surfaces (skin, leaves, cloth, and print where nothing else
lies) under the simulated rig, with the contract of `PrintedScene` (`signal`, `capture`, `dark`,
`white`, `ground_truth`), so the sim camera, capture sets and the floor take it unchanged.

A `SurfaceLayout` says what lies where: every pixel is one surface of a table (a family and its
parameters) dimmed by a shade (a leaf in shadow, a face turning from the light), or, where its
index is -1, the print of `print_rgb`. Spectra are computed once per surface, not per pixel:
any spectral read-out (an LED band, X/Y/Z) is a table lookup per pixel, so a scene costs about
what a print does. Edges are hard in the layout and softened afterwards by a Gaussian of
`blur` pixels in the read-out, which, being linear, is the same as blurring the spectra.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.sim.camera import lens_blur
from device.sim.materials import FAMILIES, FAMILY_CODES
from device.sim.printing import PrintedSpectra, Printer, SpectralProjection
from device.sim.rig_spec import RigSpec
from device.sim.scene import PrintedScene
from device.sim.spectra import WAVELENGTHS


@dataclass(frozen=True, eq=False)
class SurfaceLayout:
    """`surfaces`: (family name, parameters K × P) groups, their rows numbered in order;
    `index`: H×W int32 row of each pixel's surface, -1 for the print; `shade`: H×W factor on
    each surface pixel's reflectance; `print_rgb`: H×W×3 sRGB artwork in [0, 1] printed where
    index is -1; `blur`: sigma in pixels of the edges' softening."""
    surfaces: tuple[tuple[str, np.ndarray], ...]
    index: np.ndarray
    shade: np.ndarray
    print_rgb: np.ndarray
    blur: float = 0.0

    def __post_init__(self):
        unknown = [name for name, _ in self.surfaces if name not in FAMILIES or name == "ink"]
        if unknown:
            raise ValueError(f"unknown surface families {unknown}; expected some of "
                             f"{[f for f in FAMILIES if f != 'ink']}")
        rows = sum(len(p) for _, p in self.surfaces)
        if self.index.shape != self.shape or self.print_rgb.shape != (*self.shape, 3):
            raise ValueError("layout: index, shade and print_rgb must share one H×W")
        if self.index.size and (self.index.min() < -1 or self.index.max() >= rows):
            raise ValueError(f"layout: surface index outside -1..{rows - 1}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.shade.shape

    def crop(self, y: int, x: int, h: int, w: int) -> "SurfaceLayout":
        window = (slice(y, y + h), slice(x, x + w))
        return SurfaceLayout(self.surfaces, self.index[window], self.shade[window],
                             self.print_rgb[window], self.blur)

    def spectra(self) -> np.ndarray:
        """K × len(WAVELENGTHS) absolute reflectance of every surface of the table."""
        parts = [FAMILIES[name].reflectance(params) for name, params in self.surfaces
                 if len(params)]
        return (np.concatenate(parts) if parts else np.zeros((0, len(WAVELENGTHS))))

    def family_map(self) -> np.ndarray:
        """H×W uint8: the `FAMILY_CODES` code of each pixel's family (ink where printed)."""
        codes = np.concatenate([np.full(len(p), FAMILY_CODES[name], np.uint8)
                                for name, p in self.surfaces] or [np.zeros(0, np.uint8)])
        out = np.full(self.shape, FAMILY_CODES["ink"], np.uint8)
        mine = self.index >= 0
        out[mine] = codes[self.index[mine]]
        return out


class SurfaceSpectra:
    """A layout read out through spectral projections, as `PrintedSpectra` reads a print."""

    def __init__(self, layout: SurfaceLayout, printer: Printer = Printer()):
        self.layout, self.shape = layout, layout.shape
        self._spectra = layout.spectra().astype(np.float32)
        self._print = PrintedSpectra.from_rgb(layout.print_rgb, printer)
        # what identifies this surface (PrintedScene seeds the paper truth's noise with it)
        self.coverage = np.ascontiguousarray(layout.index)

    def project(self, projection: SpectralProjection) -> np.ndarray:
        """H×W×M float32: each pixel's reflectance read out by `projection`."""
        index, shade = self.layout.index, self.layout.shade
        at_nodes = np.stack([np.interp(projection.nodes, WAVELENGTHS, s) for s in self._spectra]
                            ) if len(self._spectra) else np.zeros((0, len(projection.nodes)))
        table = (at_nodes @ projection.node_weights).astype(np.float32)          # K × M
        out = self._print.project(projection)
        mine = index >= 0
        out[mine] = table[index[mine]] * shade[mine, None]
        if self.layout.blur > 0:
            out = np.stack([lens_blur(np.ascontiguousarray(out[..., m]), self.layout.blur)
                            for m in range(out.shape[-1])], axis=-1)
        return out


class MaterialScene(PrintedScene):
    """A `SurfaceLayout` under the rig: the same camera, white paper references and truth as a
    print (`PrintedScene`), with the layout's surfaces in place of the print."""

    def __init__(self, layout: SurfaceLayout, rig: RigSpec = RigSpec(), seed: int = 0,
                 printer: Printer = Printer()):
        # The camera's state (flat field, QE, paper white, caches) is the print's; only the
        # surface differs, so it is set up by PrintedScene on blank artwork and then replaced.
        super().__init__(np.ones((*layout.shape, 3), np.float32), rig=rig, seed=seed,
                         printer=printer)
        self.layout = layout
        # PrintedScene reads its surface only through .project, .shape and .coverage, which a
        # SurfaceSpectra has as a PrintedSpectra does
        self.print = SurfaceSpectra(layout, printer)  # type: ignore[assignment]

    def family_map(self) -> np.ndarray:
        return self.layout.family_map()
