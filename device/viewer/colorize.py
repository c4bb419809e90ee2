"""One triplet of raw sub-frames -> one sRGB frame: normalise, align to the newest, infer."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from device.engines.engine import Engine
from device.engines.model_card import ModelCard
from device.viewer.preprocess import Aligner, Normaliser, to_network, to_srgb8
from device.viewer.stats import StageTimes
from device.viewer.window import Triplet


@dataclass
class ColorFrame:
    rgb: np.ndarray                   # H x W x 3 uint8 sRGB
    triplet: Triplet
    nir: list[np.ndarray]             # aligned reflectance planes, in the model's order
    timings_ms: dict[str, float] = field(default_factory=dict)


class Colorizer:
    def __init__(self, card: ModelCard, engine: Engine, normaliser: Normaliser,
                 align: str, align_scale: float, times: StageTimes):
        self.card, self.engine, self.normaliser = card, engine, normaliser
        self.align = Aligner(align, align_scale)
        self.times = times
        self._normalised: dict[int, np.ndarray] = {}   # seq -> reflectance: the window reuses them

    def __call__(self, triplet: Triplet) -> ColorFrame:
        t0 = time.perf_counter()
        live_dark = triplet.dark.image.astype(np.float32) if triplet.dark is not None else None
        keep = {sub.seq for sub in triplet.frames.values()}
        self._normalised = {s: a for s, a in self._normalised.items() if s in keep}
        for nm, sub in triplet.frames.items():
            if sub.seq not in self._normalised:
                self._normalised[sub.seq] = self.normaliser(sub.image, nm, live_dark)
        t1 = time.perf_counter()
        aligned = self.align({sub.seq: self._normalised[sub.seq]
                              for sub in triplet.frames.values()})
        planes = [aligned[triplet.frames[nm].seq] for nm in self.card.wavelengths_nm]
        t2 = time.perf_counter()
        y = self.engine.infer(to_network(planes, self.card))
        t3 = time.perf_counter()
        rgb = to_srgb8(y, self.card)
        t4 = time.perf_counter()
        timings = {"normalise": t1 - t0, "align": t2 - t1, "infer": t3 - t2, "postprocess": t4 - t3}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        return ColorFrame(rgb, triplet, planes, {k: v * 1e3 for k, v in timings.items()})
