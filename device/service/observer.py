"""What the viewer tells systemd: ready once a frame is on screen, alive only while frames flow.

The pipeline calls `frame_shown` after every displayed frame, and that is the only place a
watchdog ping comes from: if the camera hangs or the engine stops returning, no frame is
shown, no ping goes out, and systemd's watchdog restarts the service.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from device.service.notify import Notifier
from device.viewer.observer import FrameShown

log = logging.getLogger(__name__)


def format_stats(shown: FrameShown) -> str:
    """One short line for `systemctl status`: fps, latency, frame and drop counts."""
    return (f"{shown.fps:.1f} fps, {shown.latency_ms:.0f} ms latency, {shown.frames} frames, "
            f"{shown.dropped} dropped")


class ServiceObserver:
    """Turns the viewer's events (device.viewer.observer.Observer, all five) into
    READY/WATCHDOG/STATUS/RELOADING/STOPPING notifications.

    `status_every_s` limits how often the fps line is re-sent (each one is a wake-up of PID 1).
    Fault texts from `status()` stay appended to that line, so `systemctl status` keeps showing
    every standing condition ("uncalibrated: ...; camera back; resuming"): a text replaces the
    earlier one on the same subject (its first word: "camera lost" gives way to "camera
    back"), and a reload starts the list afresh, since the new pipeline reports its own.
    """

    def __init__(self, notifier: Notifier | None = None, *, status_every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic):
        self.notifier = notifier if notifier is not None else Notifier()
        self.status_every_s = status_every_s
        self.clock = clock
        interval = self.notifier.watchdog_interval_s
        # Half the period, as sd_watchdog_enabled(3) advises, leaves room for one late frame.
        self.ping_every_s = interval / 2 if interval else None
        self.notes: dict[str, str] = {}     # subject (first word) -> latest text
        self.ready = False
        self._last_ping = float("-inf")
        self._last_status = float("-inf")
        self._lock = threading.Lock()  # display and capture threads both report here

    def frame_shown(self, shown: FrameShown) -> None:
        now = self.clock()
        with self._lock:
            first = not self.ready
            if first:
                self.ready = True
                self.notifier.ready()
                log.info("first frame displayed; service ready")
            if self.ping_every_s is not None and now - self._last_ping >= self.ping_every_s:
                self.notifier.watchdog()
                self._last_ping = now
            if first or now - self._last_status >= self.status_every_s:
                self.notifier.status("; ".join([format_stats(shown), *self.notes.values()]))
                self._last_status = now

    def status(self, text: str) -> None:
        with self._lock:
            self.notes[text.split(" ", 1)[0].rstrip(":;,")] = text
            self.notifier.status(text)
        log.warning("%s", text)

    def reloading(self) -> None:
        with self._lock:
            self.notes.clear()
        self.notifier.reloading()
        log.info("reloading configuration")

    def reloaded(self) -> None:
        # READY=1 ends the reload systemd is waiting on (sd_notify(3), RELOADING=1).
        self.notifier.ready()
        log.info("configuration reloaded")

    def stopping(self) -> None:
        self.notifier.stopping()
        log.info("stopping")
