"""Signals a service gets: SIGTERM (systemctl stop), SIGINT (Ctrl-C), SIGHUP (systemctl reload)."""
from __future__ import annotations

import logging
import signal
from typing import Callable

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_signal_handlers(on_stop: Callable[[], None],
                            on_reload: Callable[[], None]) -> Callable[[], None]:
    """Route SIGTERM/SIGINT to `on_stop` and SIGHUP to `on_reload`; return a function that
    puts the previous handlers back.

    Both callbacks run in the main thread between Python bytecodes, so they should only flip
    flags and switch LEDs off: `on_stop` is what makes "LEDs off within 100 ms" true, and
    the loop then winds down and returns 0. A second stop signal calls `on_stop` again, so it
    must be idempotent. Must be called from the main thread (a Python rule for signals).
    """
    def stop(signum, _frame):
        log.info("%s received; stopping", signal.Signals(signum).name)
        on_stop()

    def reload(_signum, _frame):
        log.info("SIGHUP received; reloading configuration")
        on_reload()

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reload)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore
