"""The observer role: what the viewer reports as it runs, and to whom.

The pipeline calls `frame_shown` after every frame it displays (in the display thread: an
observer returns at once) and `status` for each standing condition (uncalibrated, camera lost
and back, an engine fallback). The program that runs pipelines (`device run`) calls
`reloading`, `reloaded` and `stopping` around them: the pipeline never does, since only that
program knows whether another pipeline follows. The service's ServiceObserver
(device.service.observer) turns the events into sd_notify messages, LoggingObserver logs them,
and Observers hands each to several (a status page beside the service, a test's recorder).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from device.viewer.colorize import ColorFrame

log = logging.getLogger("device.viewer")


class Exposure(NamedTuple):
    """When one sub-frame behind a color frame was exposed."""
    seq: int
    start: float                       # time.monotonic()
    end: float


@dataclass(frozen=True)
class FrameShown:
    """A color frame just displayed, with the run's figures at that moment."""
    frame: ColorFrame
    frames: int                        # color frames shown so far in this run
    fps: float                         # displayed frames per second, over the last 2 s
    latency_ms: float                  # newest exposure end -> on screen
    dropped: int                       # frames the queues dropped so far (RunReport.dropped)

    @property
    def sources(self) -> dict[int, Exposure]:
        """nm -> the exposure of the sub-frame under that LED."""
        return {nm: Exposure(s.seq, s.exposure_start, s.exposure_end)
                for nm, s in self.frame.triplet.frames.items()}


class Observer(Protocol):
    """The observer role: every event the viewer reports."""

    def frame_shown(self, shown: FrameShown) -> None:
        """A frame is on screen (the watchdog's sign of life)."""

    def status(self, text: str) -> None:
        """A condition worth a line of status: "camera lost ...", "uncalibrated: ..."."""

    def reloading(self) -> None:
        """The running pipeline stopped to reload the config."""

    def reloaded(self) -> None:
        """The next pipeline is about to start (with the new config, or the old one kept)."""

    def stopping(self) -> None:
        """The viewer is ending: no pipeline follows."""


class LoggingObserver:
    """The default: logs, and leaves frame statistics to the pipeline's periodic line."""

    def frame_shown(self, shown: FrameShown) -> None:
        pass

    def status(self, text: str) -> None:
        log.warning("%s", text)

    def reloading(self) -> None:
        log.info("reloading configuration")

    def reloaded(self) -> None:
        log.info("configuration reloaded")

    def stopping(self) -> None:
        log.info("stopping")


class Observers:
    """Several observers as one: each event goes to every one, in order."""

    def __init__(self, *observers: Observer) -> None:
        self.observers = observers

    def frame_shown(self, shown: FrameShown) -> None:
        for observer in self.observers:
            observer.frame_shown(shown)

    def status(self, text: str) -> None:
        for observer in self.observers:
            observer.status(text)

    def reloading(self) -> None:
        for observer in self.observers:
            observer.reloading()

    def reloaded(self) -> None:
        for observer in self.observers:
            observer.reloaded()

    def stopping(self) -> None:
        for observer in self.observers:
            observer.stopping()
