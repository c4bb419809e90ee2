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

The feeds that depend on how each sub-frame was exposed come from one `ExposureState`
(device.viewer.feeds). The temporal filter in the graph needs, per color frame, where each of
its pixels lay in the previous color frame the engine saw: `prepare` keeps every frame's pose
against an anchor (the first frame since the last start-over), chaining the aligner's own
sub-frame estimates (or, when the viewer skipped frames, one direct estimate), and `render`
turns the pose of the frame it shows and the pose of the one before into `state_warp`. Frames
dropped between the two threads do not matter: poses are absolute.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from device.engines import viewer_io
from device.engines.engine import Engine
from device.engines.model_card import ModelCard
from device.viewer.feeds import ExposureState
from device.viewer.preprocess import (Aligner, Calibration, CalibrationPlanes, brightest_paper,
                                      downscale, estimate_shift_small)
from device.viewer.stats import StageTimes
from device.viewer.strobe import LedExposure
from device.viewer.window import Triplet


@dataclass
class ColorFrame:
    rgb: np.ndarray                   # H x W x 3 uint8 sRGB
    triplet: Triplet
    reflectance: Callable[[], list[np.ndarray]]   # the sub-frames as reflectance, on demand
    timings_ms: dict[str, float] = field(default_factory=dict)
    # The per-frame feeds it was rendered from (not the resident or recurrent ones): what the
    # demo runs again with `history` 0 to compare the filtered frame with the per-frame one.
    feeds: dict[str, np.ndarray] = field(default_factory=dict)

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


class Pose(NamedTuple):
    """Where a color frame's pixels lie against the anchor: `matrix` (3x3) maps the frame's
    pixel coordinates to the anchor's; `epoch` counts the anchors (a new one: start over)."""
    matrix: np.ndarray
    epoch: int


class _Posed(NamedTuple):
    """The last prepared frame: its newest sub-frame, that one's small copy, its pose, and the
    triplet window's epoch it came in."""
    seq: int
    small: np.ndarray
    pose: Pose
    window_epoch: int


@dataclass
class FrameInputs:
    """One triplet made ready for the engine by `Colorizer.prepare`."""
    triplet: Triplet
    feeds: dict[str, np.ndarray]
    dark: DarkPlane
    reflectance: Callable[[], list[np.ndarray]]
    timings: dict[str, float]                # seconds per stage so far
    pose: Pose = Pose(np.eye(3), 0)


@dataclass
class _Prepared:
    """One sub-frame as the graph and the aligner take it, made once per sub-frame."""
    raw: np.ndarray          # H x W float32
    small: np.ndarray        # reduced-scale reflectance, for the alignment estimate
    led: LedExposure | None  # its on-time and gain
    brightest: float | None  # uncalibrated: its brightest paper, raw codes above dark


class Colorizer:
    def __init__(self, card: ModelCard, engine: Engine, calibration: Calibration | None,
                 align: str, align_scale: float, times: StageTimes,
                 shape: tuple[int, int], clock: Callable[[], float] = time.perf_counter,
                 history: float = 0.0):
        """`clock`: what the stage timings read (the benchmark passes CPU time); `history`:
        the temporal filter's weight of the previous frame (0: each frame on its own)."""
        self.card, self.times, self.clock = card, times, clock
        self.align = Aligner(align, align_scale, prescaled=True)
        self.engine = engine
        self.history = history
        self.calibration = calibration
        self.planes = CalibrationPlanes(calibration, card.wavelengths_nm, shape, align_scale)
        # prepare's half: the sub-frames made ready, the newest dark plane, the last pose
        self._prepared: dict[int, _Prepared] = {}     # seq -> sub-frame: the window reuses them
        self._dark = DarkPlane(None, self.planes.dark)
        self._dark_small: np.ndarray = self.planes.small_dark
        self._last: _Posed | None = None
        self._anchors = 0
        # render's half: the dark plane resident in the engine, the pose of the last frame
        self._engine_dark = self._dark
        self._shown: Pose | None = None
        self.use_engine(engine)

    def use_engine(self, engine: Engine) -> None:
        """Run on `engine` from now on (a fallback): its resident planes are set here, and the
        temporal filter starts over (its state lived in the engine before)."""
        self.engine = engine
        engine.set_resident(viewer_io.GAIN, self.planes.gain)
        engine.set_resident(viewer_io.DARK, self._engine_dark.plane)
        self._shown = None

    def recalibrate(self, calibration: Calibration | None) -> None:
        """New calibration planes into the same engine: no rebuild, no new session; it starts
        over, with no sub-frame prepared and no live dark frame yet. (Between frames: neither
        half may be running.)"""
        self.calibration = calibration
        self.planes = CalibrationPlanes(calibration, self.card.wavelengths_nm,
                                        self.planes.dark.shape, self.planes.scale)
        self._prepared = {}
        self._last = None
        self._dark = self._engine_dark = DarkPlane(None, self.planes.dark)
        self._dark_small = self.planes.small_dark
        self.use_engine(self.engine)

    def __call__(self, triplet: Triplet) -> ColorFrame:
        return self.render(self.prepare(triplet))

    def prepare(self, triplet: Triplet) -> FrameInputs:
        """The CPU half: new sub-frames to float32 and reduced-scale reflectance, the alignment
        estimate and the frame's pose, the per-frame feeds."""
        t0 = self.clock()
        self._follow_live_dark(triplet)
        keep = {sub.seq for sub in triplet.frames.values()}
        self._prepared = {s: p for s, p in self._prepared.items() if s in keep}
        for nm, sub in triplet.frames.items():
            if sub.seq not in self._prepared:
                self._prepared[sub.seq] = self._prepare(sub.image, nm, sub.led)
        t1 = self.clock()
        onto_newest = self.align.warps({s: p.small for s, p in self._prepared.items()})
        pose = self._pose(triplet, onto_newest)
        t2 = self.clock()
        state = self.exposure_state(triplet)
        feeds = self.feeds(triplet, onto_newest, state)
        t3 = self.clock()
        timings = {"prepare": t1 - t0, "align": t2 - t1, "feed": t3 - t2}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        return FrameInputs(triplet, feeds, self._dark,
                           self._reflectance_of(triplet, state), timings, pose)

    def render(self, inputs: FrameInputs) -> ColorFrame:
        """The engine half: the dark plane if a new one came, the temporal filter's feeds, the
        viewer graph, the frame."""
        t0 = self.clock()
        if inputs.dark.seq != self._engine_dark.seq:
            self._engine_dark = inputs.dark
            self.engine.set_resident(viewer_io.DARK, inputs.dark.plane)
        feeds = inputs.feeds | self._temporal_feeds(inputs)
        rgb = self.engine.run(feeds)[viewer_io.OUTPUT]
        t1 = self.clock()
        if rgb.dtype != np.uint8:            # a graph built with output_dtype="float32"
            rgb = rgb.astype(np.uint8)
        t2 = self.clock()
        timings = {"engine": t1 - t0, "postprocess": t2 - t1}
        for stage, seconds in timings.items():
            self.times.add(stage, seconds)
        feeds.pop(viewer_io.STATE, None)
        return ColorFrame(rgb, inputs.triplet, inputs.reflectance,
                          {k: v * 1e3 for k, v in (inputs.timings | timings).items()}, feeds)

    def _temporal_feeds(self, inputs: FrameInputs) -> dict[str, np.ndarray]:
        """`history` and `state_warp`, and `state` (zeros) to start the filter over: the first
        frame, a new anchor, a new engine."""
        shown, self._shown = self._shown, inputs.pose
        if shown is None or shown.epoch != inputs.pose.epoch:
            state = viewer_io.state_shape(len(self.card.wavelengths_nm), *self.planes.dark.shape)
            return {viewer_io.HISTORY: np.zeros((1, 1, 1), np.float32),
                    viewer_io.STATE_WARP: np.eye(2, 3, dtype=np.float32),
                    viewer_io.STATE: np.zeros(state, np.float32)}
        onto_shown = np.linalg.inv(shown.matrix) @ inputs.pose.matrix
        return {viewer_io.HISTORY: np.full((1, 1, 1), self.history, np.float32),
                viewer_io.STATE_WARP: onto_shown[:2].astype(np.float32)}

    def exposure_state(self, triplet: Triplet) -> ExposureState:
        """How the triplet's sub-frames were exposed, against the white they are normalised to."""
        prepared = [self._prepared[triplet.frames[nm].seq] for nm in self.card.wavelengths_nm]
        brightest = None if self.planes.calibrated else \
            tuple(p.brightest or 1.0 for p in prepared)
        return ExposureState.of(tuple(p.led for p in prepared), self.calibration,
                                tuple(self.card.wavelengths_nm), brightest)

    def feeds(self, triplet: Triplet, onto_newest: dict[int, np.ndarray],
              state: ExposureState) -> dict:
        """The per-frame inputs: raw planes, those of the exposure state (per-sub-frame scale,
        noise), and for each plane the map from an output pixel to where it lies in that plane
        (the inverse of its warp onto the newest: what warpAffine with WARP_INVERSE_MAP, and
        the graph, read)."""
        order = [triplet.frames[nm].seq for nm in self.card.wavelengths_nm]
        feeds = {viewer_io.raw_name(nm): self._prepared[seq].raw
                 for nm, seq in zip(self.card.wavelengths_nm, order)}
        feeds |= state.feeds()
        feeds[viewer_io.WARP] = np.stack([np.linalg.inv(onto_newest[s])[:2]
                                          for s in order]).astype(np.float32)
        return feeds

    def _pose(self, triplet: Triplet, onto_newest: dict[int, np.ndarray]) -> Pose:
        """This frame's pose against the anchor, from the last prepared frame's: the aligner's
        estimate where that frame's newest sub-frame is in this window, else one estimate of
        its own (the viewer skipped frames). A new anchor for the first frame and after the
        window was reset (a new camera). Without the filter nothing needs a pose."""
        if self.history == 0:
            return Pose(np.eye(3), 0)
        newest = triplet.newest.seq
        small = self._prepared[newest].small
        last = self._last
        if last is None or last.window_epoch != triplet.epoch:
            self._anchors += 1
            pose = Pose(np.eye(3), self._anchors)
        else:
            onto = np.eye(3) if last.seq == newest or self.align.method == "none" else \
                onto_newest.get(last.seq)
            if onto is None:
                onto = np.vstack([estimate_shift_small(small, last.small, self.align.method,
                                                       self.align.scale), [0, 0, 1]])
            pose = Pose(last.pose.matrix @ np.linalg.inv(onto), last.pose.epoch)
        self._last = _Posed(newest, small, pose, triplet.epoch)
        return pose

    def _prepare(self, image: np.ndarray, nm: int, led: LedExposure | None) -> _Prepared:
        raw = np.asarray(image, dtype=np.float32)
        small = downscale(raw, self.planes.scale) - self._dark_small
        if self.planes.calibrated:
            state = ExposureState.of((led,), self.calibration, (nm,))
            return _Prepared(raw, small * (self.planes.small_gain[nm] * state.scale()[0]), led,
                             None)
        live = self._dark.plane if self._dark.seq is not None else None
        white = brightest_paper(raw, live)
        return _Prepared(raw, small / white, led, white)

    def _follow_live_dark(self, triplet: Triplet) -> None:
        """With a dark phase the newest all-off sub-frame replaces the calibration's dark, as
        in the classic path; `render` makes it resident when it changes, once per cycle."""
        dark = triplet.dark
        if dark is None or dark.seq == self._dark.seq:
            return
        self._dark = DarkPlane(dark.seq, dark.image.astype(np.float32))
        self._dark_small = downscale(self._dark.plane, self.planes.scale)
        self._prepared.clear()     # their small copies were normalised with the old dark

    def _reflectance_of(self, triplet: Triplet,
                        state: ExposureState) -> Callable[[], list[np.ndarray]]:
        prepared = [self._prepared[triplet.frames[nm].seq] for nm in self.card.wavelengths_nm]
        dark, gain, scale = self._dark.plane, self.planes.gain, state.scale()
        return lambda: [(p.raw - dark) * g * k for p, g, k in zip(prepared, gain, scale)]
