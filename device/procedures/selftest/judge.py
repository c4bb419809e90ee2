"""What the self-test concludes from the frames it took: plain arrays in, numbers and verdicts
out. Every threshold is a constant here, with the reason for its value.

Frames are raw camera codes (uint16). "Above dark" is a frame minus the mean all-off frame.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.number[Any]]     # raw codes (uint16) or their means (float)

# Step 1: a free-running camera more than 10 % off camera.fps runs another mode (the usual
# steps between sensor modes are 2x: 30/60 fps, 60/120), and the viewer's colour rate is the
# camera's. (A triggered one runs at the strobe's pace: it must fit each frame in a period.)
RATE_TOLERANCE = 0.10
# Step 2: all LEDs off, the frame is the sensor's black level plus any light that gets in.
# Sensors' black levels are ~6 % of full scale (64 of 1023 for the IMX219's RAW10, 256 of 4095
# for the IMX477's RAW12); above a quarter of the range room light gets in, or an LED is lit
# while its line is low.
DARK_MAX_SHARE = 0.25
# Temporal noise (per pixel, frame to frame) above 1 % of full scale is 10x a typical sensor's
# read noise at unity gain (1-3 codes of 4095): a gain far too high, or electrical interference.
NOISE_MAX_SHARE = 0.01
# Step 3: an LED must raise its frame by 20x the dark noise. With less, one frame's
# reflectance (raw - dark) / (white - dark) is noisier than 1/20 = 5 % of white on the paper
# itself, and worse on the inks: the colour would be mostly noise. (A lit LED on paper gives
# hundreds of times the noise: about 490x on the simulated rig's paper at 807 nm.)
LIT_MIN_SNR = 20.0
# The LEDs' relative brightness on white paper tells them apart: an order is wrong when the
# measured ratios miss the expected ones by more than 8 % rms (log units) and another order
# fits at least twice as well. The closest of the paper's LEDs differ by 23 % (777 and 807 nm,
# silicon QE), and swapping those two misses by 18 % rms (718/777: 31 %, 718/807: 50 %); the
# simulated rig meets its expectation to 0.1 %. Two LEDs expected within 2 x 8 % of each other
# cannot be told apart this way (`indistinct`: the step lists them).
ORDER_TOLERANCE = 0.08
# Step 4: a row's light against the same row in a frame lit throughout, relative to the
# median row: beyond 5 % the row saw part of its exposure under another LED or under none.
# Noise in that ratio is 0.34 % rms per row on the simulated rig's 807 nm paper (128 columns,
# one frame against the mean of two), so 5 % is about 15 sigma; the healthy simulated rig's
# largest row of 576 is off by 1.2 % (`device selftest --rig sim`). A row that lost part of its
# exposure shows that part; one that got it from a neighbour LED instead shows it times the
# two LEDs' difference (23 % between 777 and 807 nm: mixing from 22 % of the exposure up).
ROW_TOLERANCE = 0.05
MIN_USABLE_ROW = 0.5        # rows with fewer unclipped pixels than this share are not judged
# Step 6: on white paper (the brightest thing the viewer normally sees) no more than 0.1 % of
# pixels may sit at full scale: a handful of hot pixels is normal, a clipped paper is not.
CLIPPED_MAX = 0.001
# A sensor whose full scale is below the assumed one (a 10-bit sensor in a 16-bit container)
# shows clipping as a pile-up: 1 % or more of the pixels on the frame's top code, far above
# dark (50x its noise), where noise would spread unclipped pixels over many codes.
PILE_UP_SHARE = 0.01
PILE_UP_SNR = 50.0


def delivered_fps(starts: Sequence[float]) -> float:
    """Frames per second from exposure start times: the median interval (a frame the reader
    was too late for does not count against the camera)."""
    gaps = np.diff(np.sort(np.asarray(starts, np.float64)))
    gaps = gaps[gaps > 0]
    return float(1.0 / np.median(gaps)) if gaps.size else 0.0


def rate_ok(fps: float, configured: float) -> bool:
    return abs(fps - configured) <= RATE_TOLERANCE * configured


def frame_span(spans: Sequence[float]) -> float:
    """A triggered camera's frame, first row's start to last row's end (the median of the
    frames': a late timestamp does not count against the camera)."""
    return float(np.median(np.asarray(spans, np.float64)))


@dataclass(frozen=True)
class DarkStats:
    level: float              # mean code, all LEDs off
    noise: float              # temporal rms per pixel, codes

    @property
    def lit_threshold(self) -> float:
        """The least rise above dark a lit LED must give (codes)."""
        return LIT_MIN_SNR * max(self.noise, 0.5)     # a noiseless 8-bit frame: half a code


def dark_stats(frames: Sequence[Image]) -> DarkStats:
    """Mean level and per-pixel temporal noise of two or more all-off frames."""
    stack = np.asarray(frames, np.float64)
    noise = math.sqrt(float(np.mean(np.var(stack, axis=0, ddof=1)))) if len(stack) > 1 else 0.0
    return DarkStats(float(stack.mean()), noise)


def mean_frame(frames: Sequence[Image]) -> NDArray[np.float64]:
    return np.mean(np.asarray(frames, np.float64), axis=0)


def rise_above_dark(lit: NDArray[np.float64], dark: NDArray[np.float64],
                    usable: NDArray[np.bool_] | None = None) -> float:
    """Median rise of a (mean) lit frame over the dark one, over the usable pixels."""
    rise = (lit - dark) if usable is None else (lit - dark)[usable]
    return float(np.median(rise)) if rise.size else float("nan")


def unclipped(frames: Sequence[Image], saturation: float) -> NDArray[np.bool_]:
    """Pixels below full scale in every one of `frames`."""
    return np.all(np.asarray(frames) < saturation, axis=0)


@dataclass(frozen=True)
class Order:
    """Which LED each configured line's frame looks like, by brightness."""
    looks_like: dict[int, int]     # the nm a frame was lit for -> the LED it looks like
    misfit: float                  # rms log misfit of the configured order
    best_misfit: float             # that of the best order

    @property
    def swapped(self) -> dict[int, int]:
        """The frames that look like another LED's, when that order clearly fits better."""
        wrong = {nm: other for nm, other in self.looks_like.items() if nm != other}
        clear = self.misfit > ORDER_TOLERANCE and self.best_misfit <= self.misfit / 2
        return wrong if clear else {}


def log_misfit(measured: Sequence[float], expected: Sequence[float]) -> float:
    """RMS difference of log brightness, common scale removed (the ratios are what count)."""
    r = np.log(np.asarray(measured, np.float64)) - np.log(np.asarray(expected, np.float64))
    return float(np.sqrt(np.mean((r - r.mean()) ** 2)))


def led_order(measured: Mapping[int, float], expected: Mapping[int, float]) -> Order:
    """The assignment of frames to LEDs that best explains the measured brightness (every
    value positive: lit LEDs only)."""
    nms = list(measured)
    values = [measured[nm] for nm in nms]
    identity = log_misfit(values, [expected[nm] for nm in nms])
    best, best_cost = tuple(nms), identity
    for order in itertools.permutations(nms):
        cost = log_misfit(values, [expected[nm] for nm in order])
        if cost < best_cost - 1e-12:
            best, best_cost = order, cost
    return Order(dict(zip(nms, best)), identity, best_cost)


def indistinct(expected: Mapping[int, float]) -> list[tuple[int, int]]:
    """Pairs of LEDs too alike in expected brightness for a swap of the two to show."""
    return [(a, b) for a, b in itertools.combinations(expected, 2)
            if abs(math.log(expected[a] / expected[b])) < 2 * ORDER_TOLERANCE]


@dataclass(frozen=True)
class Rows:
    deviation: float          # largest |row ratio / median - 1| over the judged rows
    bad: int                  # rows beyond ROW_TOLERANCE
    judged: int               # rows with enough unclipped pixels


def row_deviation(sub: Image, steady: NDArray[np.float64], dark: NDArray[np.float64],
                  saturation: float) -> Rows:
    """Each row's light in a strobed sub-frame against the same row of a frame lit throughout
    by the same LED (both above dark, over pixels unclipped in both), relative to the median
    row: a rolling shutter's band, or light from another LED, shows as rows off the others."""
    usable = (sub < saturation) & (steady < saturation)
    rise_sub = np.where(usable, sub.astype(np.float64) - dark, 0.0).sum(axis=1)
    rise_steady = np.where(usable, steady - dark, 0.0).sum(axis=1)
    judged = usable.sum(axis=1) >= MIN_USABLE_ROW * sub.shape[1]
    judged &= rise_steady > 0
    if not judged.any():
        return Rows(0.0, 0, 0)
    ratio = rise_sub[judged] / rise_steady[judged]
    median = float(np.median(ratio))
    if median <= 0:
        return Rows(math.inf, int(judged.sum()), int(judged.sum()))
    deviation = np.abs(ratio / median - 1.0)
    return Rows(float(deviation.max()), int(np.count_nonzero(deviation > ROW_TOLERANCE)),
                int(judged.sum()))


def dark_rows(sub: Image, dark: NDArray[np.float64], dimmest_rise: float) -> Rows:
    """An all-off sub-frame (the dark phase): each row's rise above dark, relative to the
    dimmest LED's rise; beyond ROW_TOLERANCE the row saw an LED."""
    rows = (sub.astype(np.float64) - dark).mean(axis=1) / max(dimmest_rise, 1e-9)
    deviation = np.abs(rows)
    return Rows(float(deviation.max()), int(np.count_nonzero(deviation > ROW_TOLERANCE)),
                len(rows))


@dataclass(frozen=True)
class Clipping:
    share: float              # pixels at or above full scale (or on a pile-up), of all
    bright_end: float         # the 99.9th percentile, codes
    pile_up: float | None     # the top code, when the pixels pile up there below `saturation`

    @property
    def clipped(self) -> bool:
        return self.share > CLIPPED_MAX


def clipping(image: Image, saturation: float, dark: DarkStats) -> Clipping:
    values = np.asarray(image)
    share = float(np.mean(values >= saturation))
    top = float(values.max())
    top_share = float(np.mean(values == top))
    pile = (top < saturation and top_share >= PILE_UP_SHARE
            and top - dark.level > PILE_UP_SNR * max(dark.noise, 0.5))
    return Clipping(max(share, top_share if pile else 0.0),
                    float(np.percentile(values, 99.9)), top if pile else None)
