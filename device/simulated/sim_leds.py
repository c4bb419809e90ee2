"""The simulated LED bank (`leds.uri = "sim://"`): records every edge with the time on its clock
(monotonic unless a test passes its own), so tests and the simulated cameras can see precisely
what was lit when."""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass

from device.common.uri import Uri
from device.viewer.clock import Clock
from device.viewer.leds import TRIGGER_PULSE_S, LedOptions, OneLedAtATime

EDGE_HISTORY = 200_000   # a long simulated run keeps the latest edges, not all of them
# Another process (the service tests) reads the simulated edges from this file as they happen:
# one "time line 1|0" per line, so even a run that dies leaves its record.
EDGE_RECORD_ENV = "NIGHTCOLOR_SIM_LED_RECORD"


@dataclass(frozen=True)
class Edge:
    t: float            # the bank's clock (time.monotonic() unless a test injects one)
    line: str           # "718", "777", "807" or "trigger"
    high: bool


class SimLeds(OneLedAtATime):
    """A simulated bank: every edge is recorded; `on_intervals` says what was lit when."""

    def __init__(self, wavelengths: tuple[int, ...], clock: Clock = time.monotonic):
        super().__init__(wavelengths, clock)
        self.edges: deque[Edge] = deque(maxlen=EDGE_HISTORY)
        self.triggers = 0                   # pulses so far; the simulated camera counts them
        self.last_trigger: float | None = None
        record = os.environ.get(EDGE_RECORD_ENV)
        self._record = open(record, "a", buffering=1) if record else None

    def _write(self, nm: int, high: bool) -> None:
        self.edges.append(Edge(self.clock(), str(nm), high))
        if self._record is not None:
            self._record.write(f"{self.edges[-1].t:.6f} {nm} {int(high)}\n")

    def pulse_trigger(self, width_s: float = TRIGGER_PULSE_S) -> None:
        t = self.clock()
        with self._lock:
            self.edges += [Edge(t, "trigger", True), Edge(t + width_s, "trigger", False)]
            self.last_trigger = t
            self.triggers += 1

    def on_time(self, start: float, end: float) -> dict[int, float]:
        """Seconds each LED was lit within [start, end] (what a sensor integrating then sees)."""
        # Edges are strictly sequential (off before on, under the lock), so the last LED edge
        # before `start` says what was lit then: the scan stops there instead of replaying all.
        events: list[Edge] = []
        with self._lock:
            for e in reversed(self.edges):
                if e.line == "trigger":
                    continue
                events.append(e)
                if e.t <= start:
                    break
        totals: dict[int, float] = {}
        lit, since = None, start
        for e in reversed(events):
            if lit is not None:
                _add_overlap(totals, lit, since, e.t, start, end)
            lit, since = (int(e.line), e.t) if e.high else (None, e.t)
        if lit is not None:
            _add_overlap(totals, lit, since, end, start, end)
        return totals


def _add_overlap(totals: dict[int, float], nm: int, on: float, off: float,
                 start: float, end: float) -> None:
    overlap = min(off, end) - max(on, start)
    if overlap > 0:
        totals[nm] = totals.get(nm, 0.0) + overlap


def open_sim_leds(uri: Uri, options: LedOptions) -> SimLeds:
    return SimLeds(options.wavelengths)
