"""What the steps have measured so far, handed on to later steps and to the contact sheet, and
the words a fix uses to name a config key, a pin or a wire."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from device.procedures.selftest.judge import DarkStats
from device.procedures.selftest.report import Finding
from device.procedures.selftest.session import RigSession
from device.viewer.config import Config
from device.viewer.strobe import SubFrame
from device.viewer.window import Triplet, TripletWindow

# (finding, the colour frame it rendered) for a triplet: supplied by the command, which may
# import the engines (this package may not).
# (None: no triplet was captured; the engine is only loaded.)
EngineCheck = Callable[["Triplet | None"], "tuple[Finding, NDArray[np.uint8] | None]"]
StopPostCheck = Callable[[], Finding]


@dataclass(frozen=True)
class Hooks:
    """The checks beyond the rig procedures' reach, given by `device selftest`."""
    engine: EngineCheck | None = None       # step 8
    stop_post: StopPostCheck | None = None  # step 7: the unit's ExecStopPost, a fresh process


@dataclass
class Evidence:
    config: Config
    saturation: float                       # the raw code at which the sensor clips
    saturation_source: str                  # where that figure comes from
    hooks: Hooks = field(default_factory=Hooks)
    session: RigSession | None = None
    no_frames: str = ""                     # why no frames can be taken ("": they can)
    dark_frames: list[NDArray[np.uint16]] = field(default_factory=list)
    dark: DarkStats | None = None
    dark_mean: NDArray[np.float64] | None = None
    alone: dict[int, list[SubFrame]] = field(default_factory=dict)   # step 3: one LED each
    rises: dict[int, float] = field(default_factory=dict)           # step 3: above dark, codes
    cycle: list[SubFrame] = field(default_factory=list)             # step 4: the viewer's strobe
    colour: NDArray[np.uint8] | None = None                         # step 8's colour frame

    @property
    def wavelengths(self) -> tuple[int, ...]:
        return tuple(self.config.strobe.wavelengths)

    def lit(self, nm: int) -> bool:
        """Step 3 found LED `nm` lit (True before step 3 has run)."""
        if self.dark is None or nm not in self.rises:
            return True
        return self.rises[nm] >= self.dark.lit_threshold

    def triplet(self) -> Triplet | None:
        """The latest whole triplet of the viewer's strobe (step 4), else one of the LEDs lit
        alone (step 3)."""
        window = TripletWindow(self.wavelengths, sliding=False)
        latest = None
        for sub in self.cycle:
            latest = window.add(sub) or latest
        if latest is None and all(self.alone.get(nm) for nm in self.wavelengths):
            window = TripletWindow(self.wavelengths, sliding=False)
            for nm in self.wavelengths:
                latest = window.add(self.alone[nm][-1]) or latest
        return latest

    def close_rig(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()


def led_wire(config: Config, nm: int) -> str:
    """The 718 nm LED's control line, as the config names it."""
    pin = config.leds.pins.get(nm)
    if pin is None:
        return f"the {nm} nm line of leds.uri '{config.leds.uri}'"
    return f"board pin {pin} (leds.uri pins={nm}:{pin})"


def trigger_wire(config: Config) -> str:
    pin = config.leds.trigger_pin
    if pin is None:
        return f"the trigger line of leds.uri '{config.leds.uri}'"
    return f"board pin {pin} (leds.uri trigger={pin})"


def swap_fix(config: Config, swapped: dict[int, int]) -> str:
    """What to do when the frames lit for some LEDs look like others'."""
    nms = sorted(swapped)
    pins = config.leds.pins
    if all(nm in pins for nm in nms):
        # The LED a line lights is on that line's pin: it goes there in the URI.
        moved = ",".join(f"{led}:{pins[nm]}" for led, nm in sorted((swapped[nm], nm)
                                                                  for nm in nms))
        return (f"the drivers of the {' and '.join(f'{nm} nm' for nm in nms)} LEDs are on each "
                f"other's pins ({', '.join(f'board pin {pins[nm]}' for nm in nms)}): swap "
                f"their wires, or give leds.uri pins={moved}")
    return (f"the {' and '.join(f'{nm} nm' for nm in nms)} LEDs are on each other's lines: "
            f"swap their wires, or their pins in leds.uri '{config.leds.uri}'")
