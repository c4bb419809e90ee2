"""How the simulated LED bank is wired, and the wiring faults `sim://` can be given so that a
self-test (or anyone) can see what each looks like on the rig:

    sim://?swap=718:777        the 718 nm line drives the 777 nm LED and the other way round
                               (two LED drivers on each other's pins)
    sim://?dead=807            the 807 nm LED never lights (a dead LED, driver or wire)
    sim://?dead=trigger        the trigger pulses never reach the camera (a cut trigger wire)

`dead` takes a comma-separated list. The bank records the lines as the software drove them
(what a logic analyser on the header pins would see); the light follows the wiring.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from device.common.errors import UserError
from device.common.uri import Uri

TRIGGER = "trigger"
PARAMS = ("swap", "dead")


@dataclass(frozen=True)
class Wiring:
    """Which LED each line lights (a line not listed lights its own; None: none), and whether
    the trigger line reaches the camera."""
    lit_by_line: dict[int, int | None] = field(default_factory=dict)
    trigger: bool = True

    def lights(self, line: int) -> int | None:
        return self.lit_by_line.get(line, line)

    @property
    def faults(self) -> tuple[str, ...]:
        """The faults in words, for logs and reports."""
        said = [f"line {line} lights {'nothing' if nm is None else f'the {nm} nm LED'}"
                for line, nm in sorted(self.lit_by_line.items())]
        return tuple(said + ([] if self.trigger else ["the trigger reaches no camera"]))


def check_sim_leds_uri(uri: Uri) -> None:
    """The form of `sim://?swap=A:B&dead=...` (the LEDs named are checked at open, against the
    bank's wavelengths)."""
    sim_wiring(uri, None)


def sim_wiring(uri: Uri, wavelengths: tuple[int, ...] | None) -> Wiring:
    where = f"leds.uri '{uri.text}'"
    unknown = sorted(set(uri.params) - set(PARAMS))
    if unknown:
        raise UserError(f"{where} has unknown parameter(s) {', '.join(unknown)}; expected "
                        "swap=NM:NM and dead=NM,...|trigger.")
    lit: dict[int, int | None] = {}
    if "swap" in uri.params:
        a, b = _swap(where, uri.params["swap"])
        lit.update({a: b, b: a})
    dead = [d.strip() for d in uri.params.get("dead", "").split(",") if d.strip()]
    for name in dead:
        if name != TRIGGER:
            lit[_nm(where, name, "dead")] = None
    if wavelengths is not None:
        strange = sorted(nm for nm in lit if nm not in wavelengths)
        if strange:
            raise UserError(f"{where} names {', '.join(map(str, strange))} nm, which is not "
                            f"among the bank's LEDs ({', '.join(map(str, wavelengths))} nm).")
    return Wiring(lit, TRIGGER not in dead)


def _swap(where: str, text: str) -> tuple[int, int]:
    a, sep, b = text.partition(":")
    if not sep:
        raise UserError(f"{where}: swap must be two wavelengths, NM:NM (e.g. 718:777).")
    pair = _nm(where, a, "swap"), _nm(where, b, "swap")
    if pair[0] == pair[1]:
        raise UserError(f"{where}: swap must name two different LEDs.")
    return pair


def _nm(where: str, text: str, key: str) -> int:
    if not text.strip().isdigit():
        raise UserError(f"{where}: {key} takes LED wavelengths in nm"
                        + (" or 'trigger'" if key == "dead" else "") + f", not '{text}'.")
    return int(text)
