"""The LED role: what every LED bank is (`Leds`) and is given (`LedOptions`), its backend table
(`LEDS`), the one-LED-at-a-time logic banks share (`OneLedAtATime`), and the GPIO backend behind
`gpio://jetson` and `gpio://rpi` (registered in device.viewer.backends; the simulated bank,
`sim://`, belongs to the simulated rig's package).

A bank lights exactly one LED with `set(nm)` (None: all off), pulses the camera's trigger input
with `pulse_trigger()` and leaves every line low at `close()`. Real boards drive Jetson.GPIO /
RPi.GPIO (the same API, imported lazily).
"""
from __future__ import annotations

import logging
import threading
import time
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import Mapping, Protocol

from device.common.backends import BackendTable
from device.common.errors import UserError
from device.common.uri import Uri
from device.viewer.clock import Clock, Sleep, precise_sleep

log = logging.getLogger(__name__)
TRIGGER_PULSE_S = 100e-6


class Leds(Protocol):
    """The LED role. Thread-safe: the LED guard may switch off from another thread."""
    wavelengths: tuple[int, ...]       # the LEDs this bank can light, nm
    lit: int | None                    # the one lit now (None: all off)

    def set(self, nm: int | None) -> None: ...

    def off(self) -> None: ...

    def pulse_trigger(self, width_s: float = TRIGGER_PULSE_S) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class LedOptions:
    """What an LED backend is given besides its URI."""
    wavelengths: tuple[int, ...]       # [strobe] wavelengths: the LEDs the strobe fires
    pins: Mapping[int, int]            # nm -> board pin, as the config parsed them from the URI
    trigger_pin: int | None            # the camera trigger's board pin, if wired


LEDS: BackendTable[LedOptions, Leds] = BackendTable("leds.uri")


class OneLedAtATime:
    """What every bank shares: it tracks which LED is lit and switches off before on, under a
    lock; a subclass writes the lines (`_write`)."""

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

    def pulse_trigger(self, width_s: float = TRIGGER_PULSE_S) -> None:
        """A short pulse on the camera's trigger input: the exposure starts on its edge."""

    def close(self) -> None:
        self.off()

    def _write(self, nm: int, high: bool) -> None:
        raise NotImplementedError


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


def import_gpio(board: str, uri: str) -> ModuleType:
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


class GpioLeds(OneLedAtATime):
    """Jetson.GPIO or RPi.GPIO, board pin numbering; every pin starts and ends LOW, and the
    library's cleanup() runs however the bank is closed."""

    def __init__(self, board: str, pins: Mapping[int, int], trigger_pin: int | None,
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

    def pulse_trigger(self, width_s: float = TRIGGER_PULSE_S) -> None:
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


def open_gpio_leds(uri: Uri, options: LedOptions) -> GpioLeds:
    log.info("LEDs on %s GPIO pins %s, trigger %s", uri.target, dict(options.pins),
             options.trigger_pin)
    return GpioLeds(uri.target, options.pins, options.trigger_pin, options.wavelengths,
                    uri=uri.text)
