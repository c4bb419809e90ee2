"""The clock the strobe, its fail-safe and the LED banks read, and how they wait on it.

Each takes `clock` (seconds, monotonic) and `sleep` as arguments, as the service observer does,
so that tests drive the timing logic from a clock they move instead of the wall clock.
"""
from __future__ import annotations

import time
from typing import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]
SPIN_S = 0.001   # sleep() overshoots by up to ~1 ms: sleep until this close, then spin


def precise_sleep(seconds: float) -> None:
    """Sleep-then-spin on the monotonic clock: sub-millisecond accuracy without burning a core."""
    end = time.monotonic() + seconds
    if seconds > SPIN_S:
        time.sleep(seconds - SPIN_S)
    while time.monotonic() < end:
        pass


def wait_until(deadline: float, clock: Clock = time.monotonic,
               sleep: Sleep = precise_sleep) -> None:
    """Return once `clock` reads `deadline` (at once if it already has)."""
    remaining = deadline - clock()
    if remaining > 0:
        sleep(remaining)
