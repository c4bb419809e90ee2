"""The live loop: capture, colorize and display, each in its own thread.

    capture:   strobe.next() -> sub-frame -> triplet window -> [triplets]
    align:     [triplets] -> new sub-frames prepared, alignment estimated -> [frame inputs]
    colorize:  [frame inputs] -> the viewer graph (engine) -> [color frames]
    display:   [color frames] -> display.render -> observer.frame_shown

The alignment estimate has a thread of its own so that, on the Jetson, it runs on the CPU while
the GPU colorizes the frame before.

Queues between threads are bounded and drop their oldest item, so a slow stage always works on
the newest frame and latency never grows; every drop is counted. Faults are handled in place:
a lost camera shows "no signal", switches the LEDs off and reconnects with back-off; a failing
TensorRT engine falls back to ONNX; a missing calibration runs uncalibrated with a warning.
Whatever ends the run, the LEDs end low.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from device.common.errors import UserError
from device.engines.engine import OnnxEngine, onnx_fallback, open_engine
from device.engines.model_card import ModelCard, load_model_card
from device.viewer.cameras import CameraError, open_camera
from device.viewer.colorize import ColorFrame, Colorizer
from device.viewer.config import Config
from device.viewer.displays import open_display
from device.viewer.leds import open_leds
from device.viewer.logging_observer import LoggingObserver
from device.viewer.preprocess import Calibration
from device.viewer.queues import DropOldestQueue
from device.viewer.stats import Rate, StageTimes
from device.viewer.strobe import Strobe, try_realtime_priority
from device.viewer.window import TripletWindow

log = logging.getLogger(__name__)
POLL_S = 0.1
# The strobe thread must react within a fraction of a millisecond, but by default a thread that
# wants the GIL may wait 5 ms for it: long enough to hold an LED past its exposure.
GIL_SWITCH_S = 0.0002


@dataclass
class RunReport:
    frames: int = 0                  # color frames displayed
    subframes: int = 0               # camera frames kept (one LED each)
    triplets: int = 0                # triplets handed to the colorize thread
    wall_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0          # mean, newest exposure end -> on screen
    dropped: dict[str, int] = field(default_factory=dict)
    camera_losses: int = 0
    failsafe_fired: int = 0
    engine: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    @property
    def subframe_fps(self) -> float:
        return self.subframes / self.wall_s if self.wall_s else 0.0

    def summary(self) -> str:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.stage_ms.items())
        drops = ", ".join(f"{k} {v}" for k, v in self.dropped.items())
        return (f"{self.frames} color frames in {self.wall_s:.1f} s: {self.fps:.1f} fps from "
                f"{self.subframe_fps:.1f} sub-frames/s, latency {self.latency_ms:.0f} ms, "
                f"engine {self.engine}; stage ms: {stages}; dropped: {drops}; camera lost "
                f"{self.camera_losses}x; LED fail-safe fired {self.failsafe_fired}x")


class Pipeline:
    def __init__(self, config: Config, observer=None, sliding: bool = True,
                 on_color: Callable[[ColorFrame], None] | None = None):
        self.config = config
        self.observer = observer or LoggingObserver()
        self.sliding = sliding
        self.on_color = on_color          # called in the display thread with every color frame
        self.times = StageTimes()
        self.report = RunReport()
        self.leds = None                  # open while running; the simulated bank keeps its edges
        self.reloading = False
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._latency = [0.0, 0]                       # sum, count over the run
        self._recent_latency: deque[float] = deque(maxlen=200)
        # "No signal" is a state the display shows, not a queued frame: a marker in the
        # drop-oldest queue could be pushed out by frames still in the align and colorize stages,
        # or be followed on screen by them. So the capture thread counts losses and stamps the
        # time; the display shows "no signal" once per loss and discards every frame exposed
        # before the latest loss (counted as stale).
        self._losses_shown = 0
        self._lost_at = float("-inf")       # time.monotonic() of the latest camera loss
        self._stale = 0

    def stop(self, reloading: bool = False) -> None:
        """Ask the threads to wind down (safe from a signal handler); LEDs off at once.
        `reloading`: the caller starts another pipeline, so the observer hears no `stopping`."""
        self.reloading = self.reloading or reloading
        self._stop.set()
        if self.leds is not None:
            self.leds.off()

    def run(self, max_frames: int | None = None) -> RunReport:
        """Run until stopped, `max_frames` color frames were shown, or a thread fails."""
        c = self.config
        card = load_model_card(c.model_card_path())
        self.leds = open_leds(c.leds, c.strobe.wavelengths)
        self.camera = self.display = self.strobe = None
        try:
            self._open(card)
            self._run_threads(max_frames)
        finally:
            self.leds.off()
            self._close()
            if not self.reloading:
                self.observer.stopping()
        if self._errors:
            raise self._errors[0]
        return self.report

    # -- setup and teardown -------------------------------------------------------------------
    def _open(self, card: ModelCard) -> None:
        c = self.config
        self.card = card
        engine = open_engine(c.engine.uri, card, c.resolve, self.observer.status)
        self.report.engine = engine.name
        log.info("engine: %s", engine.name)
        self.colorizer = Colorizer(card, engine, self._calibration(), c.preprocess.align,
                                   c.preprocess.align_scale, self.times,
                                   (c.camera.height, c.camera.width))
        self.display = open_display(c)
        self.camera = open_camera(c, self.leds)
        self.strobe = Strobe(self.leds, self.camera, c.strobe, c.camera.exposure_ms / 1e3,
                             1.0 / c.camera.fps)
        self.window = TripletWindow(c.strobe.wavelengths, self.sliding)
        self.triplets: DropOldestQueue = DropOldestQueue(c.pipeline.queue_size, "triplets")
        self.aligned: DropOldestQueue = DropOldestQueue(c.pipeline.queue_size, "frame inputs")
        self.shown: DropOldestQueue = DropOldestQueue(c.pipeline.queue_size, "color frames")

    def _calibration(self) -> Calibration | None:
        c = self.config
        path = c.resolve(c.preprocess.calibration)
        if not path.exists():
            self.observer.status(f"uncalibrated: {path} not found (run `device calibrate`); "
                                 "normalising each frame to its brightest paper")
            return None
        return Calibration.load(path, c.strobe.wavelengths, (c.camera.height, c.camera.width))

    def _close(self) -> None:
        for part in (self.strobe, self.camera, self.display, self.leds):
            if part is not None:
                try:
                    part.close()
                except Exception as exc:  # keep closing the rest: the LEDs above all
                    log.error("closing %s failed: %s", type(part).__name__, exc)

    # -- threads ------------------------------------------------------------------------------
    def _run_threads(self, max_frames: int | None) -> None:
        self._max_frames = max_frames
        switch = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_S)
        try:
            self._run_and_join()
        finally:
            sys.setswitchinterval(switch)

    def _run_and_join(self) -> None:
        threads = [threading.Thread(target=self._guard, args=(loop,), name=name, daemon=True)
                   for name, loop in (("capture", self._capture_loop),
                                      ("align", self._align_loop),
                                      ("colorize", self._colorize_loop),
                                      ("display", self._display_loop))]
        started = time.monotonic()
        for t in threads:
            t.start()
        next_stats = started + self.config.pipeline.stats_every_s
        while not self._stop.wait(POLL_S):
            if time.monotonic() >= next_stats:
                self._log_stats()
                next_stats += self.config.pipeline.stats_every_s
        self.leds.off()
        for q in (self.triplets, self.aligned, self.shown):
            q.close()
        for t in threads:
            t.join(timeout=self.config.camera.timeout_s + 1.0)
        self._finish_report(time.monotonic() - started)

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException as exc:   # one failing thread stops them all, LEDs first
            self.leds.off()
            self._errors.append(exc)
            self._stop.set()

    def _capture_loop(self) -> None:
        if self.config.strobe.realtime:
            try_realtime_priority()
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                sub = self.strobe.next()
            except CameraError as exc:
                self._reconnect(exc)
                continue
            self.times.add("capture", time.perf_counter() - t0)
            self.report.subframes += 1
            triplet = self.window.add(sub)
            if triplet is not None:
                self.report.triplets += 1
                self.triplets.put(triplet)

    def _reconnect(self, exc: Exception) -> None:
        """Camera lost: LEDs off, "no signal" on screen, reopen with doubling back-off."""
        p = self.config.pipeline
        self.leds.off()
        if self._stop.is_set():    # the run ended while the camera was timing out: no loss to
            return                 # show or count (the display has stopped)
        self._lost_at = time.monotonic()    # the clock of exposure_end stamps
        self.report.camera_losses += 1
        self.camera.close()
        delay = p.reconnect_min_s
        while True:
            self.observer.status(f"camera lost ({exc}); reconnecting in {delay:g} s")
            if self._stop.wait(delay):
                return
            try:
                self.camera = open_camera(self.config, self.leds)
            except (CameraError, UserError) as again:
                exc, delay = again, min(2 * delay, p.reconnect_max_s)
                continue
            self.strobe.camera = self.camera
            self.window.reset()
            self.observer.status("camera back; resuming")
            return

    def _align_loop(self) -> None:
        while not self._stop.is_set():
            triplet = self.triplets.get(POLL_S)
            if triplet is not None:
                self.aligned.put(self.colorizer.prepare(triplet))

    def _colorize_loop(self) -> None:
        while not self._stop.is_set():
            inputs = self.aligned.get(POLL_S)
            if inputs is None:
                continue
            try:
                frame = self.colorizer.render(inputs)
            except Exception as exc:
                if isinstance(self.colorizer.engine, OnnxEngine):
                    raise
                self.colorizer.use_engine(onnx_fallback(
                    self.card, self.observer.status,
                    f"{self.colorizer.engine.name} failed ({exc})"))
                self.report.engine = self.colorizer.engine.name
                continue
            self.shown.put(frame)

    def _display_loop(self) -> None:
        c = self.config
        rate = Rate()
        while not self._stop.is_set():
            while self._losses_shown < self.report.camera_losses:
                self._losses_shown += 1
                self.display.no_signal((c.camera.height, c.camera.width))
            item = self.shown.get(POLL_S)
            if item is None:
                continue
            if item.triplet.newest.exposure_end <= self._lost_at:
                self._stale += 1             # exposed before the camera was lost
                continue
            t0 = time.perf_counter()
            fps = rate.tick()
            self.display.render(item.rgb, f"{fps:.1f} fps" if c.display.overlay_fps else None)
            self.times.add("display", time.perf_counter() - t0)
            latency = time.monotonic() - item.triplet.newest.exposure_end
            self._latency[0] += latency
            self._latency[1] += 1
            self._recent_latency.append(latency)
            self.report.frames += 1
            self.observer.frame_shown({
                "fps": fps, "latency_ms": latency * 1e3, "frames": self.report.frames,
                "dropped": self.triplets.dropped + self.aligned.dropped + self.shown.dropped,
                "sources": {nm: (s.seq, s.exposure_start, s.exposure_end)
                            for nm, s in item.triplet.frames.items()}})
            if self.on_color is not None:
                self.on_color(item)
            if (self._max_frames is not None and self.report.frames >= self._max_frames) \
                    or not self.display.is_streaming():
                self._stop.set()

    # -- statistics ---------------------------------------------------------------------------
    def _log_stats(self) -> None:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.times.take().items())
        recent = self._recent_latency
        latency = 1e3 * float(np.mean(recent)) if recent else 0.0
        log.info("%d frames shown, latency %.0f ms; stage ms: %s; dropped: triplets %d, "
                 "color frames %d, across LED switch %d, spoiled %d; strobe timing error %s; "
                 "LED fail-safe fired %d", self.report.frames, latency, stages,
                 self.triplets.dropped + self.aligned.dropped, self.shown.dropped,
                 self.strobe.dropped_across_switch,
                 self.strobe.spoiled, self.strobe.jitter.take_summary(),
                 self.strobe.failsafe.fired)

    def _finish_report(self, wall_s: float) -> None:
        r = self.report
        r.wall_s = wall_s
        r.stage_ms = self.times.means_ms()
        r.latency_ms = 1e3 * self._latency[0] / self._latency[1] if self._latency[1] else 0.0
        r.dropped = {"triplets": self.triplets.dropped + self.aligned.dropped,
                     "color frames": self.shown.dropped,
                     "across LED switch": self.strobe.dropped_across_switch,
                     "spoiled by fail-safe": self.strobe.spoiled,
                     "stale after camera loss": self._stale}
        r.failsafe_fired = self.strobe.failsafe.fired
