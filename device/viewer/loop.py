"""The live loop's owner: `Pipeline.run` opens the rig, runs the threads, closes everything and
says why it stopped.

    capture:   strobe.next() -> sub-frame stages -> triplet window -> [triplets]
    align:     [triplets] -> new sub-frames prepared, alignment estimated -> [frame inputs]
    colorize:  [frame inputs] -> the viewer graph (engine) -> [color frames]
    display:   [color frames] -> display.render -> observer.frame_shown

(the threads: device.viewer.live_run). A run ends when one of them asks (the frames asked for
were shown, the display stopped streaming, a thread raised) or when `stop()` or `reload()` is
called from outside (safe from a signal handler: the LEDs go off at once). `run` returns a
RunResult with the StopReason; what follows is the caller's to decide: `device run` starts
another pipeline after RELOAD, and only it tells the observer that the viewer is stopping.
Whatever ends the run, the LEDs end low.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence

import numpy as np

from device.engines.model_card import ModelCard, load_model_card
from device.viewer.cameras import Camera
from device.viewer.colorize import Colorizer
from device.viewer.config import Config
from device.viewer.exposure import WHITE_TARGET, AutoExposure, exposure_limits
from device.viewer.leds import Leds
from device.viewer.live_run import LiveRun, Parts, StopReason, StopRequests, SubFrameStage
from device.viewer.observer import LoggingObserver, Observer
from device.viewer.preprocess import Calibration
from device.viewer.report import RunReport
from device.viewer.rig import make_strobe, open_camera, open_display, open_engine, open_leds
from device.viewer.run_status import follow_run, with_status_display
from device.viewer.stats import StageTimes
from device.viewer.strobe import GainControl, LedExposure, Strobe

log = logging.getLogger(__name__)
__all__ = ["Pipeline", "RunReport", "RunResult", "StopReason", "SubFrameStage"]


class Closable(Protocol):
    def close(self) -> None: ...


@dataclass(frozen=True)
class RunResult:
    reason: StopReason
    report: RunReport
    fault: BaseException | None = None      # with StopReason.FAULT: what the thread raised

    def report_or_raise(self) -> RunReport:
        """The report; after a fault, the fault raised here instead."""
        if self.fault is not None:
            raise self.fault
        return self.report


class Pipeline:
    """One run of the live loop: made for each run (a stop asked for stays asked for)."""

    def __init__(self, config: Config, observer: Observer | None = None, sliding: bool = True,
                 stages: Sequence[SubFrameStage] = (), lockstep: bool = False):
        """`stages`: steps run on every sub-frame between the camera and the triplet window;
        `lockstep`: every triplet is colored (the queues wait instead of dropping), so the
        strobe runs at the pace of the slowest stage: a measurement that stands for a device
        that keeps up (`device demo --lockstep`)."""
        self.config = config
        self.observer: Observer = observer or LoggingObserver()
        self.sliding = sliding
        self.stages = tuple(stages)
        self.lockstep = lockstep
        self._requests = StopRequests()
        self._leds: Leds | None = None         # switched off by stop() at once, from any thread
        self._parts: Parts | None = None

    @property
    def leds(self) -> Leds | None:
        """The LED bank of the latest run (None before one opened it)."""
        return self._leds

    @property
    def camera(self) -> Camera | None:
        """The camera now strobed (a reconnection replaces it); None before a run opened one."""
        return None if self._parts is None else self._parts.strobe.camera

    @property
    def exposure(self) -> AutoExposure | None:
        """Automatic exposure's meter and plan in this run; None with a fixed exposure or
        before a run opened one."""
        return None if self._parts is None else self._parts.exposure

    def stop(self) -> None:
        """End the run (safe from a signal handler and from any thread); LEDs off at once."""
        self._ask(StopReason.STOP)

    def reload(self) -> None:
        """End the run so that the caller can start the next one with a new config."""
        self._ask(StopReason.RELOAD)

    def _ask(self, reason: StopReason) -> None:
        self._requests.ask(reason)
        leds = self._leds
        if leds is not None:
            leds.off()

    def run(self, max_frames: int | None = None) -> RunResult:
        """Run until stopped, `max_frames` color frames were shown, the display stops or a
        thread fails. Opening the rig may raise (UserError, CameraError): nothing runs then."""
        config = self.config
        card = load_model_card(config.model_card_path())
        leds = self._leds = open_leds(config)
        try:
            with self._open_parts(card, leds) as parts:
                observer = with_status_display(self.observer, parts.display)
                live = LiveRun(config, parts, observer, self._requests, self.stages,
                               self.sliding, lambda: open_camera(config, leds), self.lockstep)
                follow_run(parts.display, config, live.report)   # a status page's figures
                live.run(max_frames)
        finally:
            leds.off()
            _close_logging_errors(leds)
        return RunResult(self._requests.most_severe(), live.report(), live.fault)

    @contextlib.contextmanager
    def _open_parts(self, card: ModelCard, leds: Leds) -> Iterator[Parts]:
        """Engine (in the colorizer), display and camera (in the strobe), closed in reverse
        order however the block ends, the LEDs off before."""
        c = self.config
        times = StageTimes()
        with contextlib.ExitStack() as opened:
            opened.callback(leds.off)
            engine = open_engine(c, card, self.observer.status)
            calibration = self._calibration()
            history = c.temporal.strength if c.temporal.filter else 0.0
            colorizer = Colorizer(card, engine, calibration, c.preprocess.align,
                                  c.preprocess.align_scale, times,
                                  (c.camera.height, c.camera.width), history=history)
            display = open_display(c)
            opened.callback(_close_logging_errors, display)
            camera = open_camera(c, leds)
            meter = self._auto_exposure(calibration, isinstance(camera, GainControl))
            strobe: Strobe | None = None
            # Once the strobe holds it, the strobe's camera: a reconnection replaces it.
            opened.callback(lambda: _close_logging_errors(camera if strobe is None
                                                          else strobe.camera))
            strobe = make_strobe(c, leds, camera, exposures=meter)
            opened.callback(_close_logging_errors, strobe)
            self._parts = Parts(card, colorizer, display, strobe, times, meter)
            yield self._parts

    def _auto_exposure(self, calibration: Calibration | None,
                       gain_control: bool) -> AutoExposure | None:
        """The exposure meter and plan with `exposure.mode = "auto"`: each LED starts from its
        white's exposure scaled to the target (a print's bright end is about its paper's), or
        from the configured window and gain uncalibrated. A camera without `set_gain` (V4L2 and
        CSI through OpenCV: a gain set there takes effect after the driver's delay, which the
        frames would not say) keeps `camera.gain`: the on-time alone is then set."""
        c = self.config
        if c.exposure.mode != "auto":
            return None
        limits = exposure_limits(c.camera, c.strobe, c.exposure)
        if not gain_control:
            limits = dataclasses.replace(limits, max_gain=1.0)
        start: dict[int, LedExposure] = {nm: LedExposure(c.camera.exposure_ms / 1e3, c.camera.gain)
                                         for nm in c.strobe.wavelengths}
        black = 0.0
        if calibration is not None:
            black = float(np.median(calibration.dark))
            start |= {nm: LedExposure(e.on_s * c.exposure.target / WHITE_TARGET, e.gain)
                      for nm, e in calibration.exposures.items() if nm in start}
        meter = AutoExposure(tuple(c.strobe.wavelengths), limits, c.exposure, start, black)
        log.info("automatic exposure: on-time %.2f-%.2f ms, gain 1-%g; starting at %s",
                 limits.shortest_s * 1e3, limits.longest_s * 1e3, limits.max_gain,
                 meter.summary())
        return meter

    def _calibration(self) -> Calibration | None:
        c = self.config
        path = c.resolve(c.preprocess.calibration)
        if not path.exists():
            self.observer.status(f"uncalibrated: {path} not found (run `device calibrate`); "
                                 "normalising each frame to its brightest paper")
            return None
        return Calibration.load(path, c.strobe.wavelengths, (c.camera.height, c.camera.width))


def _close_logging_errors(part: Closable) -> None:
    """Close `part`; a failure is logged, so that the rest (the LEDs above all) still close."""
    try:
        part.close()
    except Exception as exc:
        log.error("closing %s failed: %s", type(part).__name__, exc)
