"""A recording stand-in for Jetson.GPIO and RPi.GPIO, and checks over what it recorded.

Jetson.GPIO refuses to import anywhere but on a Jetson (it reads the device tree's model and
opens /dev/gpiochip0 at import), and RPi.GPIO anywhere but on a Pi, so the tests install this
module's API under their names (`sys.modules`, or a package on PYTHONPATH for a child process)
and the backends' real `import Jetson.GPIO as GPIO` finds it.

It implements the part of the documented API the viewer uses, with the libraries' own
constants, messages and exception types, taken from their sources:
- NVIDIA/jetson-gpio, lib/python/Jetson/GPIO/constants.py, gpio.py and gpio_cdev.py
  (2.1, the gpio-cdev implementation of JetPack 5/6): BOARD = 10, BCM = 11, OUT = 0, IN = 1,
  HIGH = 1, LOW = 0, PUD_OFF/DOWN/UP = 20/21/22; "Channel %s is invalid" (ValueError) for a
  pin that is no GPIO; GPIOError (an OSError) with errno EBUSY, "Opening output line handle:
  Device or resource busy", when another process holds the line; an output set up without
  `initial` starts HIGH (`request.default_values[0] = initial if initial is not None else
  GPIO_HIGH`); the pin table of the Orin NX/Nano developer kit (JETSON_ORIN_NX_PIN_DEFS).
- RPi.GPIO, source/common.c and py_gpio.c: the same constants; "The channel sent is invalid
  on a Raspberry Pi" (ValueError); a pin in use elsewhere only warns "This channel is
  already in use, continuing anyway.  Use GPIO.setwarnings(False) to disable warnings."
  (RuntimeWarning). rpi-lgpio (its drop-in on the Pi 5), RPi/GPIO/__init__.py, raises
  RuntimeError("GPIO busy") there instead: flavour "rpi-lgpio".
- A level that is not an integer (bool is one): RPi.GPIO's output() raises ValueError("Value
  must be an integer/boolean or a list/tuple of integers/booleans") before touching a line
  (py_gpio.c, py_output_gpio); Jetson.GPIO's gpio_cdev.set_value stores it in a ctypes
  c_uint8 array (gpiohandle_data.values), which raises TypeError, here by ctypes itself.
- Both: setmode() with another mode set raises ValueError("A different mode has already been
  set!"); setup() before setmode() raises RuntimeError("Please set pin numbering mode ...");
  output() on a pin not set up as an output raises RuntimeError("The GPIO channel has not
  been set up as an OUTPUT"); input() on one not set up raises RuntimeError("You must setup()
  the GPIO channel first"); cleanup() with nothing set up warns, and cleanup() with no
  argument releases every channel and forgets the numbering mode.

`Header` is the physical 40-pin header: it outlives a library instance (a process), so a
level left by a killed viewer is what the next process (the ExecStopPost helper) finds.
Every call is recorded with a timestamp from the injected clock, and every level change of
a header pin as a `Level`.
"""
from __future__ import annotations

import ctypes
import errno
import json
import types
import warnings
from dataclasses import dataclass, field
from typing import Callable

BOARD, BCM = 10, 11
HIGH, LOW = 1, 0
OUT, IN = 0, 1
PUD_OFF, PUD_DOWN, PUD_UP = 20, 21, 22

# 40-pin header: BOARD pin -> BCM number (the Raspberry Pi layout the Jetson header copies).
BOARD_TO_BCM = {3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24,
                19: 10, 21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12,
                33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21}
# The header pins Jetson.GPIO drives on an Orin NX/Nano developer kit (3/5/27/28 are I2C, 8/10
# the UART, the rest power and ground).
JETSON_GPIO_PINS = (7, 11, 12, 13, 15, 16, 18, 19, 21, 22, 23, 24, 26, 29, 31, 32, 33, 35, 36,
                    37, 38, 40)

MODE_NOT_SET = {
    "jetson": "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD), "
              "GPIO.setmode(GPIO.BCM), GPIO.setmode(GPIO.TEGRA_SOC) or GPIO.setmode(GPIO.CVM)",
    "rpi": "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or "
           "GPIO.setmode(GPIO.BCM)",
}
IN_USE = ("This channel is already in use, continuing anyway.  Use GPIO.setwarnings(False) "
          "to disable warnings.")
NOTHING_TO_CLEAN = ("No channels have been set up yet - nothing to clean up! Try cleaning up "
                    "at the end of your program instead!")


class GPIOError(OSError):
    """Jetson.GPIO.gpio_cdev.GPIOError: an IOError carrying the ioctl's errno."""


@dataclass
class Call:
    t: float
    name: str
    args: tuple
    kwargs: dict
    error: str | None = None        # the exception it raised, "Type: message"


@dataclass
class Level:
    t: float
    pin: int                        # BOARD (physical header) pin
    level: int | None               # HIGH, LOW, or None: released (an input, floating)


@dataclass
class Header:
    """The 40-pin header: levels and the lines other processes hold, across processes."""
    levels: dict[int, int | None] = field(default_factory=dict)
    held_elsewhere: set[int] = field(default_factory=set)    # BOARD pins another process owns
    history: list[Level] = field(default_factory=list)

    def drive(self, t: float, pin: int, level: int | None) -> None:
        self.levels[pin] = level
        self.history.append(Level(t, pin, level))

    def to_json(self) -> str:
        return json.dumps({"levels": {str(k): v for k, v in self.levels.items()},
                           "held_elsewhere": sorted(self.held_elsewhere),
                           "history": [[h.t, h.pin, h.level] for h in self.history]})

    @classmethod
    def from_json(cls, text: str) -> "Header":
        d = json.loads(text)
        return cls({int(k): v for k, v in d["levels"].items()}, set(d["held_elsewhere"]),
                   [Level(*h) for h in d["history"]])


class GpioLibrary:
    """One process's view of the library: `module()` is what `import Jetson.GPIO` returns."""

    def __init__(self, flavour: str, header: Header, clock: Callable[[], float]):
        assert flavour in ("jetson", "rpi", "rpi-lgpio")
        self.flavour, self.header, self.clock = flavour, header, clock
        self.kind = "jetson" if flavour == "jetson" else "rpi"
        self.calls: list[Call] = []
        self.mode: int | None = None
        self.directions: dict[int, int] = {}     # BOARD pin -> OUT/IN, set up by this process
        self.warnings = True
        self.failing_lines: set[int] = set()    # BOARD pins whose writes fail (EIO)

    # -- what the tests read --------------------------------------------------------------------
    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    # -- the API --------------------------------------------------------------------------------
    def module(self) -> types.ModuleType:
        name = "Jetson.GPIO" if self.kind == "jetson" else "RPi.GPIO"
        m = types.ModuleType(name, f"recording stand-in for {name}")
        for const in ("BOARD", "BCM", "HIGH", "LOW", "OUT", "IN", "PUD_OFF", "PUD_DOWN",
                      "PUD_UP"):
            setattr(m, const, globals()[const])
        for api in ("setmode", "getmode", "setwarnings", "setup", "output", "input", "cleanup"):
            setattr(m, api, self._recorded(api, getattr(self, "_" + api)))
        m.VERSION = "2.1.7" if self.kind == "jetson" else "0.7.1"
        m.standin = self
        return m

    def _recorded(self, name, fn):
        def call(*args, **kwargs):
            record = Call(self.clock(), name, args, kwargs)
            self.calls.append(record)
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                record.error = f"{type(exc).__name__}: {exc}"
                raise
        call.__name__ = name
        return call

    def _setmode(self, mode):
        if self.mode is not None and mode != self.mode:
            raise ValueError("A different mode has already been set!")
        if mode not in (BOARD, BCM):
            raise ValueError("An invalid mode was passed to setmode()"
                             + ("!" if self.kind == "jetson" else ""))
        self.mode = mode

    def _getmode(self):
        return self.mode

    def _setwarnings(self, state):
        self.warnings = bool(state)

    def _pin(self, channel) -> int:
        """The BOARD pin a channel names in the current mode."""
        if self.mode is None:
            raise RuntimeError(MODE_NOT_SET[self.kind])
        usable = JETSON_GPIO_PINS if self.kind == "jetson" else tuple(BOARD_TO_BCM)
        if self.mode == BOARD:
            pin = channel if channel in usable else None
        else:
            pin = next((p for p in usable if BOARD_TO_BCM[p] == channel), None)
        if pin is None:
            raise ValueError(f"Channel {channel} is invalid" if self.kind == "jetson"
                             else "The channel sent is invalid on a Raspberry Pi")
        return pin

    @staticmethod
    def _many(values) -> list:
        return list(values) if isinstance(values, (list, tuple)) else [values]

    def _setup(self, channels, direction, pull_up_down=PUD_OFF, initial=None, **_consumer):
        pins = [self._pin(c) for c in self._many(channels)]
        if direction not in (OUT, IN):
            raise ValueError("An invalid direction was passed to setup()")
        if direction == OUT and pull_up_down != PUD_OFF:
            raise ValueError("pull_up_down parameter is not valid for outputs")
        if direction == IN and initial is not None:
            raise ValueError("initial parameter is not valid for inputs")
        initials = self._many(initial)
        if len(initials) == 1:
            initials = initials * len(pins)
        if len(initials) != len(pins):
            raise RuntimeError("Number of values != number of channels")
        for pin, init in zip(pins, initials):
            if pin in self.header.held_elsewhere:
                if self.flavour == "jetson":
                    raise GPIOError(errno.EBUSY, "Opening output line handle: "
                                                 "Device or resource busy")
                if self.flavour == "rpi-lgpio":
                    raise RuntimeError("GPIO busy")
                if self.warnings:             # classic RPi.GPIO: shared, with a warning
                    warnings.warn(IN_USE, RuntimeWarning, stacklevel=3)
            elif (self.flavour == "rpi" and self.warnings and pin not in self.directions
                  and self.header.levels.get(pin) is not None):
                warnings.warn(IN_USE, RuntimeWarning, stacklevel=3)   # left an output
            self.directions[pin] = direction
            if direction == OUT:
                if init is None:   # gpio-cdev drives a new output HIGH; RPi.GPIO keeps the latch
                    init = HIGH if self.kind == "jetson" else (self.header.levels.get(pin) or LOW)
                self.header.drive(self.clock(), pin, int(bool(init)))
            else:
                self.header.drive(self.clock(), pin, None)

    def _output(self, channels, values):
        if self.kind == "rpi" and not isinstance(values, (int, list, tuple)):
            raise ValueError("Value must be an integer/boolean or a list/tuple of "
                             "integers/booleans")
        pins = [self._pin(c) for c in self._many(channels)]
        values = self._many(values)
        if len(values) == 1:
            values = values * len(pins)
        if len(values) != len(pins):
            raise RuntimeError("Number of values != number of channels")
        if any(self.directions.get(p) != OUT for p in pins):
            raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
        for pin, value in zip(pins, values):
            if self.kind == "jetson":
                (ctypes.c_uint8 * 1)()[0] = value      # set_value's gpiohandle_data.values[0]
            elif not isinstance(value, int):
                raise ValueError("Value must be an integer or boolean")
            if pin in self.failing_lines:    # gpio_cdev.set_value's error for a failed ioctl
                raise GPIOError(errno.EIO, "Setting line value: Input/output error")
            self.header.drive(self.clock(), pin, int(bool(value)))

    def _input(self, channel):
        pin = self._pin(channel)
        if pin not in self.directions:
            raise RuntimeError("You must setup() the GPIO channel first")
        return self.header.levels.get(pin) or LOW

    def _cleanup(self, channel=None):
        if self.mode is None or not self.directions:
            if self.warnings:
                warnings.warn(NOTHING_TO_CLEAN, RuntimeWarning, stacklevel=3)
            return
        pins = (list(self.directions) if channel is None
                else [self._pin(c) for c in self._many(channel)])
        for pin in pins:
            if self.directions.pop(pin, None) is not None:
                self.header.drive(self.clock(), pin, None)     # back to an input, released
        if channel is None:
            self.mode = None


# -- checks over a recording -----------------------------------------------------------------
# Each raises AssertionError naming what went wrong; the tests run them against GpioLeds and
# against deliberately broken backends, which they must reject.

def check_board_numbering(lib: GpioLibrary) -> None:
    modes = [c.args[0] for c in lib.calls if c.name == "setmode"]
    assert modes and set(modes) == {BOARD}, f"setmode calls {modes}, expected only BOARD"
    first_setmode = lib.names().index("setmode")
    first_setup = lib.names().index("setup") if "setup" in lib.names() else len(lib.calls)
    assert first_setmode < first_setup, "setup() before setmode(BOARD)"


def check_set_up_low_as_outputs(lib: GpioLibrary, pins: list[int]) -> None:
    """Every pin is set up as an output with initial=LOW, and its first level is LOW."""
    for pin in pins:
        setups = [c for c in lib.calls if c.name == "setup" and c.error is None
                  and pin in GpioLibrary._many(c.args[0])]
        assert setups, f"pin {pin} was never set up"
        for c in setups:
            direction = c.args[1] if len(c.args) > 1 else c.kwargs.get("direction")
            assert direction == OUT, f"pin {pin} set up as {direction}, not OUT"
            assert c.kwargs.get("initial") == LOW, \
                f"pin {pin} set up with initial={c.kwargs.get('initial')}, not LOW"
        first = next(h.level for h in lib.header.history if h.pin == pin)
        assert first == LOW, f"pin {pin} came up {first}"


def check_one_led_at_a_time(header: Header, led_pins: list[int]) -> None:
    """An LED pin goes HIGH only while every LED pin is LOW: never two at once, and never
    'on' again on top of 'on' (a bank that lost track of what it lit)."""
    lit: set[int] = set()
    for h in header.history:
        if h.pin not in led_pins:
            continue
        if h.level == HIGH:
            assert not lit, f"pin {h.pin} switched on at t={h.t:.6f} while {sorted(lit)} lit"
            lit.add(h.pin)
        else:
            lit.discard(h.pin)


def check_cleaned_up_dark(lib: GpioLibrary, pins: list[int]) -> None:
    """The last call is cleanup() of every channel; every pin was LOW when it came, and the
    library holds nothing afterwards."""
    assert lib.calls and lib.calls[-1].name == "cleanup", \
        f"the last GPIO call was {lib.calls[-1].name if lib.calls else None}, not cleanup()"
    last = lib.calls[-1]
    assert not last.args and not last.kwargs, f"cleanup{last.args} left other channels set up"
    before = {}                  # cleanup() is the last call: later levels are its releases
    for h in lib.header.history:
        if h.level is not None:
            before[h.pin] = h.level
    lit = [p for p in pins if before.get(p) == HIGH]
    assert not lit, f"pins {lit} were still HIGH when cleanup() came"
    assert not lib.directions and lib.mode is None, "channels still set up after cleanup()"
