"""The LED bank (and the camera trigger line): `gpio://jetson`, `gpio://rpi` or `sim://`.

One interface: `set(nm)` lights exactly that LED (None: all off), `pulse_trigger()` and
`close()`. Real boards drive Jetson.GPIO / RPi.GPIO (the same API, imported lazily); the
simulated bank records every edge with the time on its clock (monotonic unless a test passes
its own) so tests and the simulated camera can see precisely what was lit when.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from collections import deque
from dataclasses import dataclass

from device.captures.files import UserError
from device.runtime.clock import Clock, Sleep, precise_sleep
from device.runtime.config import LED_SCHEMES, LedConfig
from device.runtime.uri import parse_uri

log = logging.getLogger(__name__)
EDGE_HISTORY = 200_000   # a long simulated run keeps the latest edges, not all of them
# Another process (the service tests) reads the simulated edges from this file as they happen:
# one "time line 1|0" per line, so even a run that dies leaves its record.
EDGE_RECORD_ENV = "NIGHTCOLOR_SIM_LED_RECORD"


class Leds:
    """Base: tracks which LED is lit; subclasses write the pins. Thread-safe, since the
    fail-safe timer may switch an LED off from another thread."""

    def __init__(self, wavelengths: tuple[int, ...], clock: Clock = time.monotonic):
        self.wavelengths = tuple(wavelengths)
        self.clock = clock
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
    t: float            # the bank's clock (time.monotonic() unless a test injects one)
    line: str           # "718", "777", "807" or "trigger"
    high: bool


class SimLeds(Leds):
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

    def pulse_trigger(self, width_s: float = 100e-6) -> None:
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


# The GPIO libraries, imported only when a gpio:// bank is opened. What they raise, from their
# sources (NVIDIA/jetson-gpio lib/python/Jetson/GPIO/gpio.py and gpio_cdev.py; RPi.GPIO
# source/common.c and py_gpio.c; rpi-lgpio, the RPi.GPIO of the Pi 5, RPi/GPIO/__init__.py):
# - importing on the wrong board or without access: Jetson.GPIO raises RuntimeError (no
#   permission on /dev/gpiochip0) or Exception("Could not determine Jetson model");
# - a pin that is not a GPIO in BOARD numbering: ValueError ("Channel 1 is invalid" / "The
#   channel sent is invalid on a Raspberry Pi");
# - a line another process holds: Jetson.GPIO raises GPIOError, an OSError with errno EBUSY
#   from the line-handle ioctl; rpi-lgpio raises RuntimeError("GPIO busy"); the classic
#   RPi.GPIO only warns "This channel is already in use" (RuntimeWarning) and carries on.
GPIO_LIBRARIES = {"jetson": "Jetson.GPIO", "rpi": "RPi.GPIO"}


def import_gpio(board: str, uri: str):
    """The board's GPIO module; one sentence naming the URI when it cannot be used here."""
    library = GPIO_LIBRARIES[board]
    try:
        if board == "jetson":
            import Jetson.GPIO as GPIO
        else:
            import RPi.GPIO as GPIO
    except ImportError as exc:
        raise UserError(f"leds.uri {uri} needs {library}, which is not installed ({exc}).") \
            from None
    except Exception as exc:  # noqa: BLE001 - both refuse at import on a machine they cannot drive
        raise UserError(f"leds.uri {uri}: {library} cannot drive this machine's GPIO ({exc}).") \
            from None
    return GPIO


class GpioLeds(Leds):
    """Jetson.GPIO or RPi.GPIO, board pin numbering; every pin starts and ends LOW, and the
    library's cleanup() runs however the bank is closed."""

    def __init__(self, board: str, pins: dict[int, int], trigger_pin: int | None,
                 wavelengths: tuple[int, ...], uri: str = "", sleep: Sleep = precise_sleep):
        super().__init__(wavelengths)
        self.uri = uri or f"gpio://{board}"
        self._gpio = GPIO = import_gpio(board, self.uri)
        self._sleep = sleep           # times the trigger pulse
        self._pins = dict(pins)
        self._trigger = trigger_pin
        self._closed = False
        roles = {pin: f"the {nm} nm LED" for nm, pin in self._pins.items()}
        if trigger_pin is not None:
            roles[trigger_pin] = "the camera trigger"
        self._outputs = list(roles)
        GPIO.setmode(GPIO.BOARD)      # the numbers on the 40-pin header, as the config gives them
        try:
            for pin, role in roles.items():   # one at a time, so an error can name its pin
                self._setup_low(pin, role)
        except BaseException:
            GPIO.cleanup()            # the pins set up so far go back to inputs
            raise

    def _setup_low(self, pin: int, role: str) -> None:
        GPIO = self._gpio
        what = f"leds.uri {self.uri}: board pin {pin} ({role})"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # initial=LOW: without it a Jetson.GPIO (gpio-cdev) output line starts HIGH.
                GPIO.setup(pin, GPIO.OUT, initial=GPIO.LOW)
            except ValueError as exc:
                raise UserError(f"{what} is not a GPIO pin on this board ({exc}).") from None
            except (OSError, RuntimeError) as exc:
                raise UserError(f"{what} is busy or not accessible: another program or a "
                                f"device-tree function may hold it ({exc}).") from None
        for warning in caught:   # e.g. a pin left configured by a viewer that was killed
            log.warning("%s: %s", what, warning.message)

    def _write(self, nm: int, high: bool) -> None:
        self._gpio.output(self._pins[nm], self._gpio.HIGH if high else self._gpio.LOW)

    def pulse_trigger(self, width_s: float = 100e-6) -> None:
        if self._trigger is None:
            return
        self._gpio.output(self._trigger, self._gpio.HIGH)
        try:
            self._sleep(width_s)
        finally:
            self._gpio.output(self._trigger, self._gpio.LOW)

    def close(self) -> None:
        """Every line LOW, then cleanup(), even when a write fails; a second close does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            self.off()
        finally:
            try:
                for pin in self._outputs:
                    self._gpio.output(pin, self._gpio.LOW)
            finally:
                self._gpio.cleanup()


def open_leds(config: LedConfig, wavelengths: tuple[int, ...]) -> Leds:
    uri = parse_uri(config.uri, "leds.uri", LED_SCHEMES)
    if uri.scheme == "sim":
        return SimLeds(wavelengths)
    log.info("LEDs on %s GPIO pins %s, trigger %s", uri.target, config.pins, config.trigger_pin)
    return GpioLeds(uri.target, config.pins, config.trigger_pin, wavelengths, uri=config.uri)
