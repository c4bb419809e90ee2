"""Light levels for many scenes: one value, a range drawn log-uniformly per scene, or a list of
levels each scene is taken at (`device capture --light`, `--gain`, `train fit --light`).

Light is photons on the sensor relative to the rig's nominal exposure (the simulated rig's
10 ms at its LED flux, `RigSpec`): halving the light and halving the exposure time are the same
to the sensor. A range is drawn log-uniformly, since exposure works in stops: every octave
from 1/16 to 2 gets the same share of scenes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from device.common.errors import UserError


@dataclass(frozen=True)
class Levels:
    """A knob's setting over scenes: `low` == `high` (fixed), `low` < `high` (log-uniform draws),
    or `listed` (each scene at every one of these levels)."""
    low: float
    high: float
    listed: tuple[float, ...] = ()

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    @property
    def each(self) -> tuple[float, ...]:
        """The levels every scene is taken at: the list, or the one fixed value; () for a range."""
        return self.listed or ((self.low,) if self.fixed else ())

    def draw(self, rng: np.random.Generator, size: int | None = None):
        """Log-uniform draws between low and high (the fixed value when fixed)."""
        if self.fixed:
            return self.low if size is None else np.full(size, self.low)
        return np.exp(rng.uniform(math.log(self.low), math.log(self.high), size))

    def describe(self) -> str:
        if self.listed:
            return ", ".join(f"{v:g}" for v in self.listed)
        return f"{self.low:g}" if self.fixed else f"{self.low:g}-{self.high:g} (log-uniform)"


def _number(text: str) -> float:
    """'0.25', '1/16' -> a positive finite float; ValueError otherwise."""
    num, _, den = text.strip().partition("/")
    value = float(num) / float(den) if den else float(num)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return value


def parse_level(text: str, option: str) -> float:
    """One light level, '0.25' or '1/4' (`device demo --light`, `device sim floor --light`,
    `[sim] light`'s step): a positive finite float; one-sentence UserError otherwise."""
    try:
        return _number(str(text))
    except ValueError:
        raise UserError(f"{option} {text}: expected one positive value like 0.5 or 1/16.") \
            from None


def parse_levels(text: str, option: str, lists: bool = True) -> Levels:
    """'1' | '1/16-2' | '0.0625,0.125,1' (when `lists`) -> Levels; one-sentence UserError."""
    forms = "a value like 0.5 or 1/16, a range LO-HI" + (", or a list A,B,C" if lists else "")
    try:
        if "," in text:
            if not lists:
                raise ValueError(text)
            listed = tuple(_number(part) for part in text.split(","))
            if len(set(listed)) != len(listed):
                raise UserError(f"{option} {text!r} names a level twice.")
            return Levels(min(listed), max(listed), listed)
        parts = re.split(r"(?<![eE])-", text)     # not the minus of 1e-3
        if len(parts) > 1:
            low, high = (_number(part) for part in parts)
            if not low < high:
                raise UserError(f"{option} {text!r}: the range must run from low to high.")
            return Levels(low, high)
        value = _number(text)
        return Levels(value, value)
    except ValueError:
        raise UserError(f"{option} {text!r}: expected positive {forms}.") from None
