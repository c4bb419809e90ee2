"""One run of the live loop: its four threads and what they share.

Queues between threads are bounded and drop their oldest item, so a slow stage always works on
the newest frame and latency never grows; every drop is counted (`Dropped`, in one place:
`LiveRun.dropped`). Faults are handled in place: a lost camera shows "no signal", switches the
LEDs off and reconnects with back-off (`CameraLosses`, `LiveRun._reconnect`); a failing
TensorRT engine falls back to ONNX. The thread functions keep their names (`_capture_loop`...):
the journal's stack dump of a hung viewer names them.
"""
from __future__ import annotations

import enum
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from device.common.errors import UserError
from device.engines.engine import OnnxEngine, onnx_fallback
from device.engines.model_card import ModelCard
from device.viewer.cameras import Camera, CameraError
from device.viewer.colorize import ColorFrame, Colorizer, FrameInputs
from device.viewer.config import Config
from device.viewer.displays import Display
from device.viewer.exposure import AutoExposure, describe
from device.viewer.observer import FrameShown, Observer
from device.viewer.queues import DropOldestQueue
from device.viewer.report import Dropped, RunReport
from device.viewer.stats import Latency, Rate, StageTimes
from device.viewer.strobe import Strobe, SubFrame, try_realtime_priority
from device.viewer.window import Triplet, TripletWindow

log = logging.getLogger(__name__)
POLL_S = 0.1
# The strobe thread must react within a fraction of a millisecond, but by default a thread that
# wants the GIL may wait 5 ms for it: long enough to hold an LED past its exposure.
GIL_SWITCH_S = 0.0002


class StopReason(enum.Enum):
    """Why a run ended. When several come together the most severe wins (the order below, last
    wins): a fault must surface, and a stop must not be undone by a reload sent with it."""
    FRAMES = "the frames asked for were shown"
    DISPLAY_CLOSED = "the display stopped streaming (its window was closed)"
    RELOAD = "reload() was called (SIGHUP): the caller starts the next pipeline"
    STOP = "stop() was called (SIGTERM, Ctrl-C)"
    FAULT = "a thread raised: RunResult.fault"


class StopRequests:
    """Every reason asked for to end the run, from any thread or a signal handler: no lock
    (a handler interrupting its own thread inside one would deadlock); `list.append` and
    `Event.set` are each atomic."""

    def __init__(self) -> None:
        self._asked: list[StopReason] = []
        self._event = threading.Event()

    def ask(self, reason: StopReason) -> None:
        self._asked.append(reason)
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout_s: float) -> bool:
        return self._event.wait(timeout_s)

    def most_severe(self) -> StopReason:
        order = list(StopReason)
        return max(self._asked, key=order.index)


class SubFrameStage(Protocol):
    """A step between the camera and the triplet window (an exposure meter, a temporal
    filter...), run in the capture thread on every sub-frame in turn. The strobe waits for
    it, so it must be quick; its time is reported under `name`."""
    name: str

    def __call__(self, sub: SubFrame) -> SubFrame: ...


@dataclass(frozen=True)
class Parts:
    """What a run opened besides the LEDs (the strobe holds them and the camera)."""
    card: ModelCard
    colorizer: Colorizer
    display: Display
    strobe: Strobe
    times: StageTimes
    exposure: AutoExposure | None = None     # the exposure meter and plan, when automatic


class CameraLosses:
    """What a lost camera means to the display: "no signal" once per loss, and no frame exposed
    before the latest loss. A state, not a queued marker: a marker in a drop-oldest queue could
    be pushed out by frames still in the align and colorize stages, or be followed on screen by
    them."""

    def __init__(self) -> None:
        self.count = 0                       # losses so far (the capture thread)
        self.stale = 0                       # frames discarded for it (the display thread)
        self._shown = 0
        self._lost_at = float("-inf")        # time.monotonic() of the latest loss

    def lost(self, at: float) -> None:
        self._lost_at = at                   # stamped before counted: the display reads count
        self.count += 1

    def unshown(self) -> int:
        """Losses the display has not answered with "no signal" yet (now counted answered)."""
        owed = self.count - self._shown
        self._shown += owed
        return owed

    def exposed_before_loss(self, frame: ColorFrame) -> bool:
        if frame.triplet.newest.exposure_end > self._lost_at:
            return False
        self.stale += 1
        return True


class LiveRun:
    def __init__(self, config: Config, parts: Parts, observer: Observer,
                 requests: StopRequests, stages: tuple[SubFrameStage, ...], sliding: bool,
                 reopen_camera: Callable[[], Camera], lockstep: bool = False):
        self.config = config
        self.parts = parts
        self.strobe = parts.strobe
        self.observer = observer
        self.requests = requests
        # The exposure meter first: it reads the sub-frame as the camera gave it.
        self.stages: tuple[SubFrameStage, ...] = \
            ((parts.exposure,) if parts.exposure is not None else ()) + stages
        self.reopen_camera = reopen_camera
        q = config.pipeline.queue_size
        self.triplets: DropOldestQueue[Triplet] = DropOldestQueue(q, "triplets", lockstep)
        self.aligned: DropOldestQueue[FrameInputs] = DropOldestQueue(q, "frame inputs",
                                                                     lockstep)
        self.shown: DropOldestQueue[ColorFrame] = DropOldestQueue(q, "color frames", lockstep)
        self.window = TripletWindow(config.strobe.wavelengths, sliding)
        self.losses = CameraLosses()
        self.latency = Latency()
        self.engine = parts.colorizer.engine.name
        self.subframes = 0                   # counts: each written by one thread
        self.triplets_made = 0
        self.frames = 0
        self.max_frames: int | None = None
        self.wall_s = 0.0
        self.fault: BaseException | None = None

    def run(self, max_frames: int | None) -> None:
        """The four threads until a stop is asked for, then joined."""
        self.max_frames = max_frames
        log.info("engine: %s", self.engine)
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
        every_s = self.config.pipeline.stats_every_s
        next_stats = started + every_s
        while not self.requests.wait(POLL_S):
            if time.monotonic() >= next_stats:
                self._log_stats()
                next_stats += every_s
        self.strobe.leds.off()
        for q in (self.triplets, self.aligned, self.shown):
            q.close()
        for t in threads:
            t.join(timeout=self.config.camera.timeout_s + 1.0)
        self.wall_s = time.monotonic() - started

    def _guard(self, loop: Callable[[], None]) -> None:
        try:
            loop()
        except BaseException as exc:   # one failing thread stops them all, LEDs first
            self.strobe.leds.off()
            if self.fault is None:
                self.fault = exc
            self.requests.ask(StopReason.FAULT)

    # -- capture ---------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        if self.config.strobe.realtime:
            try_realtime_priority()
        while not self.requests.is_set():
            t0 = time.perf_counter()
            try:
                sub = self.strobe.next()
            except CameraError as exc:
                self._reconnect(exc)
                continue
            self.parts.times.add("capture", time.perf_counter() - t0)
            self.subframes += 1
            for stage in self.stages:
                t0 = time.perf_counter()
                sub = stage(sub)
                self.parts.times.add(stage.name, time.perf_counter() - t0)
            triplet = self.window.add(sub)
            if triplet is not None:
                self.triplets_made += 1
                self.triplets.put(triplet)

    def _reconnect(self, exc: Exception) -> None:
        """Camera lost: LEDs off, "no signal" on screen, reopen with doubling back-off."""
        p = self.config.pipeline
        self.strobe.leds.off()
        if self.requests.is_set():   # the run ended while the camera was timing out: no loss
            return                   # to show or count (the display has stopped)
        self.losses.lost(time.monotonic())    # the clock of exposure_end stamps
        self.strobe.camera.close()
        delay = p.reconnect_min_s
        while True:
            self.observer.status(f"camera lost ({exc}); reconnecting in {delay:g} s")
            if self.requests.wait(delay):
                return
            try:
                camera = self.reopen_camera()
            except (CameraError, UserError) as again:
                exc, delay = again, min(2 * delay, p.reconnect_max_s)
                continue
            self.strobe.use_camera(camera, self.config.camera.gain)
            self.window.reset()
            self.observer.status("camera back; resuming")
            return

    # -- align and colorize ----------------------------------------------------------------
    def _align_loop(self) -> None:
        while not self.requests.is_set():
            triplet = self.triplets.get(POLL_S)
            if triplet is not None:
                self.aligned.put(self.parts.colorizer.prepare(triplet))

    def _colorize_loop(self) -> None:
        colorizer = self.parts.colorizer
        while not self.requests.is_set():
            inputs = self.aligned.get(POLL_S)
            if inputs is None:
                continue
            try:
                frame = colorizer.render(inputs)
            except Exception as exc:
                if isinstance(colorizer.engine, OnnxEngine):
                    raise
                colorizer.use_engine(onnx_fallback(
                    self.parts.card, self.observer.status,
                    f"{colorizer.engine.name} failed ({exc})"))
                self.engine = colorizer.engine.name
                continue
            self.shown.put(frame)

    # -- display ---------------------------------------------------------------------------
    def _display_loop(self) -> None:
        rate = Rate()
        size = (self.config.camera.height, self.config.camera.width)
        while not self.requests.is_set():
            for _ in range(self.losses.unshown()):
                self.parts.display.no_signal(size)
            frame = self.shown.get(POLL_S)
            if frame is None or self.losses.exposed_before_loss(frame):
                continue
            fps = rate.tick()
            self._render(frame, fps)
            latency_s = time.monotonic() - frame.triplet.newest.exposure_end
            self.latency.add(latency_s)
            self.frames += 1
            self.observer.frame_shown(FrameShown(frame, self.frames, fps, latency_s * 1e3,
                                                 self.dropped().queued))
            self._end_when_done()

    def _render(self, frame: ColorFrame, fps: float) -> None:
        t0 = time.perf_counter()
        text = f"{fps:.1f} fps" if self.config.display.overlay_fps else None
        self.parts.display.render(frame.rgb, text)
        self.parts.times.add("display", time.perf_counter() - t0)

    def _end_when_done(self) -> None:
        if self.max_frames is not None and self.frames >= self.max_frames:
            self.requests.ask(StopReason.FRAMES)
        if not self.parts.display.is_streaming():
            self.requests.ask(StopReason.DISPLAY_CLOSED)

    # -- figures ---------------------------------------------------------------------------
    def dropped(self) -> Dropped:
        return Dropped(triplets=self.triplets.dropped + self.aligned.dropped,
                       color_frames=self.shown.dropped,
                       across_led_switch=self.strobe.dropped_across_switch,
                       spoiled=self.strobe.spoiled, stale=self.losses.stale)

    def _log_stats(self) -> None:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in self.parts.times.take().items())
        d = self.dropped()
        log.info("%d frames shown, latency %.0f ms; stage ms: %s; dropped: triplets %d, "
                 "color frames %d, across LED switch %d, spoiled %d; strobe timing error %s; "
                 "LED fail-safe fired %d; exposure: %s", self.frames, self.latency.recent_ms(),
                 stages, d.triplets, d.color_frames, d.across_led_switch, d.spoiled,
                 self.strobe.jitter.take_summary(), self.strobe.guard.fired, self.exposure())

    def exposure(self) -> str:
        """Each LED's exposure now: what automatic exposure chose, or the fixed one."""
        meter = self.parts.exposure
        if meter is not None:
            return meter.summary()
        fixed = self.strobe.exposures.setting(None)
        return f"fixed {describe(fixed)}"

    def report(self) -> RunReport:
        return RunReport(frames=self.frames, subframes=self.subframes,
                         triplets=self.triplets_made, wall_s=self.wall_s,
                         stage_ms=self.parts.times.means_ms(),
                         latency_ms=self.latency.mean_ms(), dropped=self.dropped().labelled(),
                         camera_losses=self.losses.count, failsafe_fired=self.strobe.guard.fired,
                         engine=self.engine, exposure=self.exposure())
