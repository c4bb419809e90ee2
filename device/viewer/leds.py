"""The LED bank (and the camera trigger line): `gpio://jetson`, `gpio://rpi` or `sim://`.

One interface: `set(nm)` lights exactly that LED (None: all off), `pulse_trigger()` and
`close()`. Real boards drive Jetson.GPIO / RPi.GPIO (the same API, imported lazily); the
simulated bank records every edge with its monotonic time so tests and the simulated camera
can see precisely what was lit when.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from device.viewer.config import LED_SCHEMES, LedConfig
from device.common.uri import parse_uri

log = logging.getLogger(__name__)
EDGE_HISTORY = 200_000   # a long simulated run keeps the latest edges, not all of them
# Another process (the service tests) reads the simulated edges from this file as they happen:
# one "time line 1|0" per line, so even a run that dies leaves its record.
EDGE_RECORD_ENV = "NIGHTCOLOR_SIM_LED_RECORD"


class Leds:
    """Base: tracks which LED is lit; subclasses write the pins. Thread-safe, since the
    fail-safe timer may switch an LED off from another thread."""

    def __init__(self, wavelengths: tuple[int, ...]):
        self.wavelengths = tuple(wavelengths)
        self._lock = threading.Lock()
        self.lit: int | None = None

    def set(self, nm: int | None) -> None:
        """Light `nm` alone (off before on, so two LEDs are never lit together)."""
        if nm is not None and nm not in self.wavelengths:
            raise ValueError(f"no LED at {nm} nm")
        with self._lock:
            if self.lit == nm:
                return
            if self.lit is not None:
                self._write(self.lit, False)
            self.lit = None
            if nm is not None:
                self._write(nm, True)
                self.lit = nm

    def off(self) -> None:
        self.set(None)

    def pulse_trigger(self, width_s: float = 100e-6) -> None:
        """A short pulse on the camera's trigger input: the exposure starts on its edge."""

    def close(self) -> None:
        self.off()

    def _write(self, nm: int, high: bool) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Edge:
    t: float            # time.monotonic()
    line: str           # "718", "777", "807" or "trigger"
    high: bool


class SimLeds(Leds):
    """A simulated bank: every edge is recorded; `on_intervals` says what was lit when."""

    def __init__(self, wavelengths: tuple[int, ...]):
        super().__init__(wavelengths)
        self.edges: deque[Edge] = deque(maxlen=EDGE_HISTORY)
        self.triggers = 0                   # pulses so far; the simulated camera counts them
        self.last_trigger: float | None = None
        record = os.environ.get(EDGE_RECORD_ENV)
        self._record = open(record, "a", buffering=1) if record else None

    def _write(self, nm: int, high: bool) -> None:
        self.edges.append(Edge(time.monotonic(), str(nm), high))
        if self._record is not None:
            self._record.write(f"{self.edges[-1].t:.6f} {nm} {int(high)}\n")

    def pulse_trigger(self, width_s: float = 100e-6) -> None:
        t = time.monotonic()
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


class GpioLeds(Leds):
    """Jetson.GPIO or RPi.GPIO, board pin numbering; every pin starts and ends LOW."""

    def __init__(self, board: str, pins: dict[int, int], trigger_pin: int | None,
                 wavelengths: tuple[int, ...]):
        super().__init__(wavelengths)
        if board == "jetson":
            import Jetson.GPIO as GPIO
        else:
            import RPi.GPIO as GPIO
        self._gpio = GPIO
        self._pins = dict(pins)
        self._trigger = trigger_pin
        GPIO.setmode(GPIO.BOARD)
        outputs = list(self._pins.values()) + ([trigger_pin] if trigger_pin is not None else [])
        GPIO.setup(outputs, GPIO.OUT, initial=GPIO.LOW)

    def _write(self, nm: int, high: bool) -> None:
        self._gpio.output(self._pins[nm], self._gpio.HIGH if high else self._gpio.LOW)

    def pulse_trigger(self, width_s: float = 100e-6) -> None:
        if self._trigger is None:
            return
        self._gpio.output(self._trigger, self._gpio.HIGH)
        end = time.perf_counter() + width_s
        while time.perf_counter() < end:   # a sub-millisecond pulse: sleep() is too coarse
            pass
        self._gpio.output(self._trigger, self._gpio.LOW)

    def close(self) -> None:
        try:
            self.off()
            for pin in list(self._pins.values()) + [self._trigger]:
                if pin is not None:
                    self._gpio.output(pin, self._gpio.LOW)
        finally:
            self._gpio.cleanup()


def open_leds(config: LedConfig, wavelengths: tuple[int, ...]) -> Leds:
    uri = parse_uri(config.uri, "leds.uri", LED_SCHEMES)
    if uri.scheme == "sim":
        return SimLeds(wavelengths)
    log.info("LEDs on %s GPIO pins %s, trigger %s", uri.target, config.pins, config.trigger_pin)
    return GpioLeds(uri.target, config.pins, config.trigger_pin, wavelengths)
