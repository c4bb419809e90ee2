"""The per-pixel path before the viewer graph, kept as the reference: the benchmark times it
beside the fused path (`device bench`) and the parity tests hold the viewer graph to it. The
viewer itself does not use it.

normalise (numpy) -> align (ECC + cv2.warpAffine) -> pad to the network's multiple (cv2) ->
network (engine) -> crop, 8-bit sRGB (numpy).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from device.engines.engine import OnnxEngine
from device.engines.model_card import ModelCard
from device.viewer.colorize import ColorFrame
from device.viewer.preprocess import Aligner, Normaliser, to_network, to_srgb8, warp_onto
from device.viewer.stats import StageTimes
from device.viewer.window import Triplet


class ClassicColorizer:
    """`engine` runs the network alone (the card's network ONNX: `nir` -> `rgb`)."""

    def __init__(self, card: ModelCard, engine: OnnxEngine, normaliser: Normaliser,
                 align: str, align_scale: float, times: StageTimes,
                 clock: Callable[[], float] = time.perf_counter):
        self.card, self.engine, self.normaliser = card, engine, normaliser
        self.clock = clock
        self.align = Aligner(align, align_scale)
        self.times = times
        self._normalised: dict[int, np.ndarray] = {}   # seq -> reflectance: the window reuses them

    def __call__(self, triplet: Triplet) -> ColorFrame:
        t0 = self.clock()
        live_dark = triplet.dark.image.astype(np.float32) if triplet.dark is not None else None
        keep = {sub.seq for sub in triplet.frames.values()}
        self._normalised = {s: a for s, a in self._normalised.items() if s in keep}
        for nm, sub in triplet.frames.items():
            if sub.seq not in self._normalised:
                self._normalised[sub.seq] = self.normaliser(sub.image, nm, live_dark)
        t1 = self.clock()
        aligned = self.align({sub.seq: self._normalised[sub.seq]
                              for sub in triplet.frames.values()})
        planes = [aligned[triplet.frames[nm].seq] for nm in self.card.wavelengths_nm]
        t2 = self.clock()
        x = to_network(planes, self.card)
        t3 = self.clock()
        y = self.engine.infer(x)
        t4 = self.clock()
        rgb = to_srgb8(y, self.card, planes[0].shape)
        t5 = self.clock()
        timings = {"normalise": t1 - t0, "align": t2 - t1, "to_network": t3 - t2,
                   "engine": t4 - t3, "postprocess": t5 - t4}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        return ColorFrame(rgb, triplet, lambda: planes, {k: v * 1e3 for k, v in timings.items()})


def classic_srgb(infer, raws: dict[int, np.ndarray], normaliser: Normaliser,
                 live_dark: np.ndarray | None, onto_newest: dict[int, np.ndarray],
                 card) -> np.ndarray:
    """One frame through the classic path with given alignment warps: `onto_newest` maps each
    wavelength to the 2x3 (or 3x3) affine taking its plane onto the newest (as `Aligner.warps`
    gives). `infer`: nir -> rgb of the network. The reference the viewer graph is checked by."""
    planes = []
    for nm in card.wavelengths_nm:
        plane = normaliser(raws[nm], nm, live_dark)
        warp = onto_newest[nm]
        if not np.allclose(warp[:2], np.eye(2, 3)):
            plane = warp_onto(plane, warp, plane.shape)
        planes.append(plane)
    return to_srgb8(infer(to_network(planes, card)), card, planes[0].shape)
