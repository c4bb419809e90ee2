"""The LED bank (and the camera trigger line): `gpio://jetson`, `gpio://rpi` or `sim://`.

One interface: `set(nm)` lights exactly that LED (None: all off), `pulse_trigger()` and
`close()`. Real boards drive Jetson.GPIO / RPi.GPIO (the same API, imported lazily); the
simulated bank is device.simulated.sim_leds.
"""
from __future__ import annotations

import logging
import threading
import time

from device.common.uri import Uri
from device.viewer.config import LedConfig
from device.viewer.led_backends import LEDS

log = logging.getLogger(__name__)


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
    return LEDS.open(config.uri, config, wavelengths)


def open_gpio_leds(uri: Uri, config: LedConfig, wavelengths: tuple[int, ...]) -> Leds:
    log.info("LEDs on %s GPIO pins %s, trigger %s", uri.target, config.pins, config.trigger_pin)
    return GpioLeds(uri.target, config.pins, config.trigger_pin, wavelengths)
