"""Faults the simulated rig can be given by name, so that `device selftest --rig sim --fault
NAME` shows what each looks like on a rig (and the tests hold the self-test to naming each).
Every fault is a plain change of the config, printed as such, that a config file can also
carry:

| name | what | in the config | fails step |
|---|---|---|---|
| swapped-pins | the first two LEDs on each other's pins | leds.uri sim://?swap=718:777 | 3 |
| dead-led | the last LED never lights | leds.uri sim://?dead=807 | 3 |
| no-trigger | the trigger wire reaches no camera | leds.uri sim://?dead=trigger | 5 |
| rolling-shutter | the sensor is a rolling shutter the config does not know of | camera.uri sim://?rolling_us=50 | 4 |
| clipping | a gain at which white paper clips | camera.gain (white at 110 % of full scale) | 6 |
| engine | an engine whose output is perturbed | engine.uri sim://MODEL?perturb=8 | 8 |
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from device.common.errors import UserError
from device.engines.engine import ENGINES
from device.sim.rig_spec import RigSpec
from device.simulated.expected_light import paper_white_electrons, paper_white_signal
from device.simulated.sim_engine import DEFAULT_PERTURB_CODES
from device.viewer.config import Config

# 50 us between rows: a 64-row test frame's rows start over 3.2 ms, as an IMX219's 1080 rows
# start over 20 ms of a 33 ms frame: enough for a mistimed LED to light rows unequally.
ROLLING_US = 50.0
CLIP_AT = 1.1            # white paper's centre under the brightest LED, of full scale


@dataclass(frozen=True)
class Fault:
    name: str
    step: int                                       # the self-test step that must name it
    what: str
    apply: Callable[[Config], tuple[Config, str]]   # the config with it, and the change


def _with_param(uri: str, key: str, value: str) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{key}={value}"


def _leds(config: Config, key: str, value: str) -> tuple[Config, str]:
    uri = _with_param(config.leds.uri, key, value)
    return (dataclasses.replace(config, leds=dataclasses.replace(config.leds, uri=uri)),
            f'leds.uri = "{uri}"')


def _swapped(config: Config) -> tuple[Config, str]:
    a, b = config.strobe.wavelengths[:2]
    return _leds(config, "swap", f"{a}:{b}")


def _dead(config: Config) -> tuple[Config, str]:
    return _leds(config, "dead", str(config.strobe.wavelengths[-1]))


def _no_trigger(config: Config) -> tuple[Config, str]:
    if config.strobe.sync != "trigger":
        raise UserError(f"--fault no-trigger needs strobe.sync \"trigger\", not "
                        f"\"{config.strobe.sync}\": a free-running camera takes no trigger.")
    return _leds(config, "dead", "trigger")


def _rolling(config: Config) -> tuple[Config, str]:
    uri = _with_param(config.camera.uri, "rolling_us", f"{ROLLING_US:g}")
    return (dataclasses.replace(config, camera=dataclasses.replace(config.camera, uri=uri)),
            f'camera.uri = "{uri}"')


def _clipping(config: Config) -> tuple[Config, str]:
    """The gain that takes white paper under the brightest LED to CLIP_AT of full scale at the
    frame's centre (the corners, vignetted, stay below it)."""
    rig = RigSpec()
    signal = paper_white_signal(tuple(config.strobe.wavelengths))
    brightest = max(signal, key=lambda nm: signal[nm])
    electrons = paper_white_electrons(brightest, config.camera.exposure_ms, rig)
    span = rig.adc_max - rig.dark_offset
    gain = round(CLIP_AT * span * rig.gain_e_per_adu / electrons, 2)
    return (dataclasses.replace(config, camera=dataclasses.replace(config.camera, gain=gain)),
            f"camera.gain = {gain:g}")


def _engine(config: Config) -> tuple[Config, str]:
    model = ENGINES.parse(config.engine.uri).target
    uri = f"sim://{model}?perturb={DEFAULT_PERTURB_CODES:g}"
    return (dataclasses.replace(config, engine=dataclasses.replace(config.engine, uri=uri)),
            f'engine.uri = "{uri}"')


FAULTS = {f.name: f for f in (
    Fault("swapped-pins", 3, "the first two LEDs on each other's pins", _swapped),
    Fault("dead-led", 3, "the last LED never lights", _dead),
    Fault("no-trigger", 5, "the trigger wire reaches no camera", _no_trigger),
    Fault("rolling-shutter", 4, "a rolling shutter the config does not know of", _rolling),
    Fault("clipping", 6, "a gain at which white paper clips", _clipping),
    Fault("engine", 8, "an engine whose output is perturbed", _engine),
)}


def inject(config: Config, names: list[str]) -> tuple[Config, list[str]]:
    """The config with each named fault; the changes, in config words. Only the simulated
    rig's backends take them."""
    sim = config.camera.uri.startswith("sim://") and config.leds.uri.startswith("sim://")
    if names and not sim:
        raise UserError("--fault injects faults into the simulated rig: add --rig sim (or use "
                        "sim:// camera and LEDs).")
    changes = []
    for name in names:
        config, change = FAULTS[name].apply(config)
        changes.append(change)
    return config, changes
