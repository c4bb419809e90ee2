"""Sub-frames -> triplets. With the sliding window every new sub-frame completes a triplet with
the latest sub-frame of each other LED, so color frames come at the camera's rate, not a
third of it; without it, one triplet per full strobe cycle."""
from __future__ import annotations

from dataclasses import dataclass

from device.viewer.strobe import SubFrame


@dataclass
class Triplet:
    frames: dict[int, SubFrame]       # nm -> the latest sub-frame under that LED
    newest: SubFrame                  # the reference the others are aligned to
    dark: SubFrame | None = None      # the latest all-off sub-frame, with a dark phase
    epoch: int = 0                    # the window's resets so far: a new one, a new start


class TripletWindow:
    def __init__(self, wavelengths: tuple[int, ...], sliding: bool = True):
        self.wavelengths = tuple(wavelengths)
        self.sliding = sliding
        self._latest: dict[int, SubFrame] = {}     # nm -> its latest sub-frame
        self._fresh: set[int] = set()              # LEDs with a sub-frame since the last triplet
        self._dark: SubFrame | None = None
        self.epoch = 0

    def reset(self) -> None:
        """Forget everything (after a reconnect the old sub-frames show another moment)."""
        self._latest.clear()
        self._fresh.clear()
        self._dark = None
        self.epoch += 1

    def add(self, sub: SubFrame) -> Triplet | None:
        if sub.nm is None:
            self._dark = sub
            return None
        self._latest[sub.nm] = sub
        self._fresh.add(sub.nm)
        if len(self._latest) < len(self.wavelengths):
            return None
        if not self.sliding:
            if len(self._fresh) < len(self.wavelengths):
                return None
            self._fresh.clear()
        return Triplet(dict(self._latest), sub, self._dark, self.epoch)
