"""The simulated LED bank (`leds.uri = "sim://"`): records every edge with the time on its clock
(monotonic unless a test passes its own), so tests and the simulated cameras can see precisely
what was lit when."""
from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from device.common.uri import Uri
from device.simulated.sim_wiring import Wiring, sim_wiring
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
    """A simulated bank: every edge is recorded (the lines the software drove); `lit_intervals`
    says what was lit when (the LEDs those lines lit, through `wiring`).

    `gate`, when a camera sets it, is that camera's strobe output wired to the LED driver: the
    selected LED then lights only while the output is high (`sensor-strobe` timing)."""

    def __init__(self, wavelengths: tuple[int, ...], clock: Clock = time.monotonic,
                 wiring: Wiring | None = None):
        super().__init__(wavelengths, clock)
        self.wiring = wiring or Wiring()    # the faults a self-test can be shown (sim://?swap=)
        self.edges: deque[Edge] = deque(maxlen=EDGE_HISTORY)
        self.triggers = 0                   # pulses so far; the simulated camera counts them
        self.last_trigger: float | None = None
        self.gate: Gate | None = None       # the camera's strobe output, when it gates the LEDs
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
            if self.wiring.trigger:          # a cut trigger wire: the line moves, no camera sees it
                self.last_trigger = t
                self.triggers += 1

    def close(self) -> None:
        """Every line low, as a real bank's close drives them: also a line whose bookkeeping
        (`lit`) an interrupt cut short between the write and the record of it."""
        self.off()
        with self._lock:
            for nm in self.high_lines():
                self._write(nm, False)

    def high_lines(self) -> list[int]:
        """The LED lines whose last recorded edge is high."""
        last: dict[int, bool] = {}
        for e in reversed(self.edges):
            if e.line != "trigger" and int(e.line) not in last:
                last[int(e.line)] = e.high
                if len(last) == len(self.wavelengths):
                    break
        return sorted(nm for nm, high in last.items() if high)

    def on_time(self, start: float, end: float) -> dict[int, float]:
        """Seconds each LED was lit within [start, end] (what a sensor integrating then sees)."""
        totals: dict[int, float] = {}
        for nm, on, off in self.lit_intervals(start, end):
            totals[nm] = totals.get(nm, 0.0) + off - on
        return totals

    def lit_intervals(self, start: float, end: float) -> list[tuple[int, float, float]]:
        """(nm, on, off) for every stretch an LED lit within [start, end], in time order,
        clipped to it (and to the gate's high times, when a camera's strobe output gates)."""
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
        lit: list[tuple[int, float, float]] = []
        nm, since = None, start
        for e in reversed(events):
            if nm is not None:
                lit.append((nm, max(since, start), min(e.t, end)))
            nm, since = (self.wiring.lights(int(e.line)), e.t) if e.high else (None, e.t)
        if nm is not None:
            lit.append((nm, max(since, start), end))
        lit = [(n, on, off) for n, on, off in lit if off > on]
        return lit if self.gate is None else _gated(lit, self.gate(start, end))


Gate = Callable[[float, float], list[tuple[float, float]]]   # (start, end) -> high stretches


def _gated(lit: list[tuple[int, float, float]],
           high: list[tuple[float, float]]) -> list[tuple[int, float, float]]:
    """The lit stretches cut to where the gate was high."""
    out = []
    for nm, on, off in lit:
        for a, b in high:
            if min(off, b) > max(on, a):
                out.append((nm, max(on, a), min(off, b)))
    return out


def open_sim_leds(uri: Uri, options: LedOptions) -> SimLeds:
    return SimLeds(options.wavelengths, wiring=sim_wiring(uri, options.wavelengths))
