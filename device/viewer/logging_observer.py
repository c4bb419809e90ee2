"""What the pipeline reports as it runs. The service's ServiceObserver (device/service) has the
same three methods and forwards them to systemd; this default one only logs."""
from __future__ import annotations

import logging

log = logging.getLogger("device.viewer")


class LoggingObserver:
    def frame_shown(self, stats: dict) -> None:
        pass                              # the pipeline logs its own periodic statistics

    def status(self, text: str) -> None:
        log.warning("%s", text)

    def stopping(self) -> None:
        log.info("stopping")
