"""One triplet of raw sub-frames -> one sRGB frame, through the model's viewer graph.

The CPU keeps only what must run there: each new sub-frame is converted to float32 once
(TensorRT takes no uint16) and shrunk to the alignment's reduced scale, where it is normalised
and its motion against the previous sub-frame estimated (ECC); the graph then does every
per-pixel step: dark, white gain, the warp onto the newest sub-frame, the card's mappings, the
network and the conversion to 8-bit sRGB. Calibration planes are resident in the engine, set
again only when they change (a recalibration, or a new live dark frame with a dark phase).

The work is split in two so the viewer runs it in two threads: `prepare` (the CPU part, about
8 ms per color frame at 1280x720 here, most of it the ECC estimate; see `device bench`) for
triplet N+1 overlaps `render` (the engine call) for triplet N. Each half keeps its own state:
`prepare` the sub-frames and the aligner, `render` the engine and what is resident in it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from device.engines import viewer_io
from device.engines.engine import Engine
from device.engines.model_card import ModelCard
from device.viewer.preprocess import (Aligner, Calibration, CalibrationPlanes, brightest_paper,
                                      downscale)
from device.viewer.stats import StageTimes
from device.viewer.window import Triplet


@dataclass
class ColorFrame:
    rgb: np.ndarray                   # H x W x 3 uint8 sRGB
    triplet: Triplet
    reflectance: Callable[[], list[np.ndarray]]   # the sub-frames as reflectance, on demand
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def nir(self) -> list[np.ndarray]:
        """Reflectance planes in the model's order, computed on the CPU only when asked for
        (the demo's NIR panel): the viewer itself never needs them."""
        return self.reflectance()


class DarkPlane(NamedTuple):
    """The dark plane the graph subtracts: the calibration's (seq None) or the live one taken
    in the dark phase (its sub-frame's seq)."""
    seq: int | None
    plane: np.ndarray


@dataclass
class FrameInputs:
    """One triplet made ready for the engine by `Colorizer.prepare`."""
    triplet: Triplet
    feeds: dict[str, np.ndarray]
    dark: DarkPlane
    reflectance: Callable[[], list[np.ndarray]]
    timings: dict[str, float]                # seconds per stage so far


@dataclass
class _Prepared:
    """One sub-frame as the graph and the aligner take it, made once per sub-frame."""
    raw: np.ndarray          # H x W float32
    small: np.ndarray        # reduced-scale reflectance, for the alignment estimate
    scale: float             # the graph's per-sub-frame factor (1 / white when uncalibrated)


class Colorizer:
    def __init__(self, card: ModelCard, engine: Engine, calibration: Calibration | None,
                 align: str, align_scale: float, times: StageTimes,
                 shape: tuple[int, int], clock: Callable[[], float] = time.perf_counter):
        """`clock`: what the stage timings read (the benchmark passes CPU time)."""
        self.card, self.times, self.clock = card, times, clock
        self.align = Aligner(align, align_scale, prescaled=True)
        self.engine = engine
        self.planes = CalibrationPlanes(calibration, card.wavelengths_nm, shape, align_scale)
        # prepare's half: the sub-frames made ready and the newest dark plane
        self._prepared: dict[int, _Prepared] = {}     # seq -> sub-frame: the window reuses them
        self._dark = DarkPlane(None, self.planes.dark)
        self._dark_small: np.ndarray = self.planes.small_dark
        # render's half: the dark plane resident in the engine
        self._engine_dark = self._dark
        self.use_engine(engine)

    def use_engine(self, engine: Engine) -> None:
        """Run on `engine` from now on (a fallback): its resident planes are set here."""
        self.engine = engine
        engine.set_resident(viewer_io.GAIN, self.planes.gain)
        engine.set_resident(viewer_io.DARK, self._engine_dark.plane)

    def recalibrate(self, calibration: Calibration | None) -> None:
        """New calibration planes into the same engine: no rebuild, no new session; it starts
        over, with no sub-frame prepared and no live dark frame yet. (Between frames: neither
        half may be running.)"""
        self.planes = CalibrationPlanes(calibration, self.card.wavelengths_nm,
                                        self.planes.dark.shape, self.planes.scale)
        self._prepared = {}
        self._dark = self._engine_dark = DarkPlane(None, self.planes.dark)
        self._dark_small = self.planes.small_dark
        self.use_engine(self.engine)

    def __call__(self, triplet: Triplet) -> ColorFrame:
        return self.render(self.prepare(triplet))

    def prepare(self, triplet: Triplet) -> FrameInputs:
        """The CPU half: new sub-frames to float32 and reduced-scale reflectance, the alignment
        estimate, the per-frame feeds."""
        t0 = self.clock()
        self._follow_live_dark(triplet)
        keep = {sub.seq for sub in triplet.frames.values()}
        self._prepared = {s: p for s, p in self._prepared.items() if s in keep}
        for nm, sub in triplet.frames.items():
            if sub.seq not in self._prepared:
                self._prepared[sub.seq] = self._prepare(sub.image, nm)
        t1 = self.clock()
        onto_newest = self.align.warps({s: p.small for s, p in self._prepared.items()})
        t2 = self.clock()
        feeds = self.feeds(triplet, onto_newest)
        t3 = self.clock()
        timings = {"prepare": t1 - t0, "align": t2 - t1, "feed": t3 - t2}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        return FrameInputs(triplet, feeds, self._dark,
                           self._reflectance_of(triplet), timings)

    def render(self, inputs: FrameInputs) -> ColorFrame:
        """The engine half: the dark plane if a new one came, the viewer graph, the frame."""
        t0 = self.clock()
        if inputs.dark.seq != self._engine_dark.seq:
            self._engine_dark = inputs.dark
            self.engine.set_resident(viewer_io.DARK, inputs.dark.plane)
        rgb = self.engine.run(inputs.feeds)[viewer_io.OUTPUT]
        t1 = self.clock()
        if rgb.dtype != np.uint8:            # a graph built with output_dtype="float32"
            rgb = rgb.astype(np.uint8)
        t2 = self.clock()
        timings = {"engine": t1 - t0, "postprocess": t2 - t1}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        return ColorFrame(rgb, inputs.triplet, inputs.reflectance,
                          {k: v * 1e3 for k, v in (inputs.timings | timings).items()})

    def feeds(self, triplet: Triplet, onto_newest: dict[int, np.ndarray]) -> dict:
        """The per-frame inputs: raw planes, per-sub-frame scale, and for each plane the map
        from an output pixel to where it lies in that plane (the inverse of its warp onto the
        newest: what warpAffine with WARP_INVERSE_MAP, and the graph, read)."""
        order = [triplet.frames[nm].seq for nm in self.card.wavelengths_nm]
        feeds = {viewer_io.raw_name(nm): self._prepared[seq].raw
                 for nm, seq in zip(self.card.wavelengths_nm, order)}
        feeds[viewer_io.SCALE] = np.array([self._prepared[s].scale for s in order],
                                          np.float32).reshape(-1, 1, 1)
        feeds[viewer_io.WARP] = np.stack([np.linalg.inv(onto_newest[s])[:2]
                                          for s in order]).astype(np.float32)
        return feeds

    def _prepare(self, image: np.ndarray, nm: int) -> _Prepared:
        raw = np.asarray(image, dtype=np.float32)
        small = downscale(raw, self.planes.scale) - self._dark_small
        if self.planes.calibrated:
            return _Prepared(raw, small * self.planes.small_gain[nm], 1.0)
        live = self._dark.plane if self._dark.seq is not None else None
        scale = 1.0 / brightest_paper(raw, live)
        return _Prepared(raw, small * scale, scale)

    def _follow_live_dark(self, triplet: Triplet) -> None:
        """With a dark phase the newest all-off sub-frame replaces the calibration's dark, as
        in the classic path; `render` makes it resident when it changes, once per cycle."""
        dark = triplet.dark
        if dark is None or dark.seq == self._dark.seq:
            return
        self._dark = DarkPlane(dark.seq, dark.image.astype(np.float32))
        self._dark_small = downscale(self._dark.plane, self.planes.scale)
        self._prepared.clear()     # their small copies were normalised with the old dark

    def _reflectance_of(self, triplet: Triplet) -> Callable[[], list[np.ndarray]]:
        prepared = [self._prepared[triplet.frames[nm].seq] for nm in self.card.wavelengths_nm]
        dark, gain = self._dark.plane, self.planes.gain
        return lambda: [(p.raw - dark) * g * p.scale for p, g in zip(prepared, gain)]
