"""LEDs off first: whatever goes wrong, an infrared LED must not stay lit in front of an eye.

`lights_out` calls the LED backend's off switch and never raises (a fault while handling a
fault must not skip the rest of the shutdown). `install_excepthooks` puts it in front of the
interpreter's report of any unhandled exception, in the main thread and in worker threads.
"""
from __future__ import annotations

import logging
import sys
import threading
from typing import Callable

log = logging.getLogger(__name__)


def lights_out(all_off: Callable[[], None]) -> bool:
    """Run `all_off`; True if it returned, False (logged) if it raised."""
    try:
        all_off()
        return True
    except Exception:  # noqa: BLE001 - nothing may stop the rest of the shutdown
        log.exception("turning the LEDs off failed")
        return False


def install_excepthooks(all_off: Callable[[], None]) -> Callable[[], None]:
    """Make every unhandled exception switch the LEDs off before it is reported.

    Returns a function that restores the previous hooks.
    """
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def sys_hook(exc_type, exc, tb):
        lights_out(all_off)
        previous_sys(exc_type, exc, tb)

    def thread_hook(args):
        lights_out(all_off)
        previous_thread(args)

    sys.excepthook, threading.excepthook = sys_hook, thread_hook

    def restore() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return restore
