"""Automatic exposure: per LED, the LED's on-time within the sensor's exposure window and the
camera's analogue gain, chosen from each sub-frame's raw histogram.

The plant is simple and known: a linear sensor under an LED the strobe times itself, so the
signal is proportional to on-time x gain, and every sub-frame carries the on-time (measured on
the strobe's clock) and gain it really got. So, unlike a camera ISP that waits out the sensor's
control delays and creeps towards its target (libcamera's AgcMeanLuminance filters the exposure
with speed 0.2, 1 in its first ten frames, sqrt(0.2) within 20 % of the target), this one can
go straight to the exposure that puts the bright end where it should be, computed from the
frame that measured it, and the normalisation follows the exposure exactly
(device.viewer.feeds), so a change shows no jump in colour. What is taken from libcamera's AGC
(src/ipa/libipa/agc_mean_luminance.cpp, exposure_mode_helper.cpp; read, not copied):
- the target is a constraint on an upper quantile of the histogram ("the top 2 % at least
  0.5" there; here the bright end at `exposure.target` of the range, an upper bound, since
  the aim is the most signal that does not clip);
- the split of the exposure value: on-time first, up to its limit, and only then gain
  (their ExposureModeHelper's order with no stages given). Gain adds no photons: once the
  signal is well above the read noise it only amplifies shot noise and narrows the range, and
  it scales room light and dark current that a dark frame taken at another gain would not
  subtract. So it is raised only to lift a dim bright end up to `gain_target` of the range,
  not to the full target;
- a dead band: changes under DEAD_BAND are not made (their "avoid making multiple
  micro-adjustments"), so a still scene keeps one exposure and never hunts.
A saturated bright end says only "too bright": then a lower quantile that is not saturated,
scaled by the ratio the two had in the last unsaturated frame, estimates it (the shape of the
histogram does not change with exposure); when that one is saturated too, the exposure drops
by CLIPPED_STEP. A 4x light step settles in two frames per LED (tests/device/viewer/
test_exposure.py), from below without overshoot.

Limits (`[exposure]` in the config): the strobe says which on-times its timing mode and camera
allow (`led_on_time_range`, from the timing rule's `longest_led_on_s`), and this module adds the
LEDs' own: `max_on_ms`, and `max_duty`,
the fraction of time each LED may be lit (the eye-safety cap: docs/video.md says where its
default comes from and what is assumed).
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from numpy.typing import NDArray

from device.viewer.sections import CameraConfig, ExposureConfig, StrobeConfig
from device.viewer.strobe import LedExposure, SubFrame, led_on_time_range, longest_led_on_s

log = logging.getLogger(__name__)
DEAD_BAND = 0.08          # relative change below which the exposure is kept as it is
CLIPPED_STEP = 0.25       # the bright end and the lower quantile both saturated: cut by this
MAX_RISE = 16.0           # the most one frame may raise the exposure (an all-dark frame)
LOWER_QUANTILE = 90.0     # the quantile that stands in for a saturated bright end
SAMPLE_SIDE = 160         # the histogram is taken on a strided sample about this many a side
LARGE_CHANGE = 2.0        # changes at least this large are logged (the journal)
# `device calibrate` (with automatic exposure) takes each white with its bright end here, a
# share of the range above dark: far from clipping (the paper's brightest pixels, its
# fixed-pattern spread and noise stay below it), and a signal high enough that averaged
# frames make the noise negligible. A print's bright end is about its paper's, so the run
# starts from the white's exposure scaled to the target.
WHITE_TARGET = 0.6


@dataclass(frozen=True)
class ExposureLimits:
    """The exposures automatic exposure may choose: on-time (seconds) and gain ranges."""
    shortest_s: float
    longest_s: float
    max_gain: float
    saturation: float          # the raw code at which the sensor clips

    def split(self, product: float, gain_share: float = 1.0) -> LedExposure:
        """An exposure value (on-time x gain) as on-time first, then gain (up to what
        `gain_share` of the value needs: gain_target over target, so that gain lifts the
        bright end only that far), both clamped."""
        on_s = min(max(product, self.shortest_s), self.longest_s)
        gain = min(max(product * gain_share / on_s, 1.0), self.max_gain)
        return LedExposure(on_s, gain)


def exposure_limits(camera: CameraConfig, strobe: StrobeConfig,
                    exposure: ExposureConfig) -> ExposureLimits:
    """The strobe's on-time range for this camera, capped by the LEDs' own limits: `max_on_ms`
    and the duty cap (each LED fires once per cycle of phases, one camera frame each)."""
    period_s = 1.0 / camera.fps
    timing = led_on_time_range(camera, strobe)
    phases = len(strobe.wavelengths) + (1 if strobe.dark_phase else 0)
    longest = min(timing.longest_s, exposure.max_duty * phases * period_s)
    if exposure.max_on_ms > 0:
        longest = min(longest, exposure.max_on_ms / 1e3)
    longest = max(longest, timing.shortest_s)
    shortest = min(max(exposure.min_on_ms / 1e3, timing.shortest_s), longest)
    if timing.shortest_s == timing.longest_s:
        log.warning("strobe.sync \"%s\" does not let the strobe choose the LED's on-time: "
                    "automatic exposure can only set the gain", strobe.sync)
    return ExposureLimits(shortest, longest, exposure.max_gain, float(exposure.saturation))


def longest_window_ms(camera: CameraConfig, strobe: StrobeConfig,
                      exposure: ExposureConfig) -> float:
    """The LED time to configure (`camera.exposure_ms`: the sensor's exposure and window are
    set for it) that leaves automatic exposure its whole range and no more: the longest on-time
    the timing rule and the LEDs' limits allow at this frame rate (a longer window would only
    collect more room light and dark current)."""
    longest = longest_led_on_s(camera, strobe)
    unbounded = dataclasses.replace(camera, exposure_ms=longest * 1e3)
    return exposure_limits(unbounded, strobe, exposure).longest_s * 1e3


@dataclass(frozen=True)
class Histogram:
    """What automatic exposure reads of one raw sub-frame."""
    bright: float              # the bright end: the `percentile` of the sample, raw codes
    lower: float               # the LOWER_QUANTILE of the sample
    clipped: float             # fraction of the sample at or above saturation


def measure(image: NDArray[np.uint16], percentile: float, saturation: float) -> Histogram:
    """The bright end, a lower quantile and the clipped fraction, from a strided sample (a
    percentile needs no more: about SAMPLE_SIDE² pixels)."""
    step = max(1, min(image.shape) // SAMPLE_SIDE)
    sample = image[::step, ::step].ravel()
    bright, lower = np.percentile(sample, (percentile, LOWER_QUANTILE))
    clipped = float(np.count_nonzero(sample >= saturation)) / sample.size
    return Histogram(float(bright), float(lower), clipped)


class AutoExposure:
    """The exposure meter (a sub-frame stage, run in the capture thread on each sub-frame) and
    the plan the strobe reads (`setting(nm)`): each LED's next exposure follows from its last
    sub-frame."""

    name = "exposure"

    def __init__(self, wavelengths: tuple[int, ...], limits: ExposureLimits,
                 config: ExposureConfig, start: Mapping[int, LedExposure] | LedExposure,
                 black: float = 0.0):
        """`start`: the first exposure of each LED (or of all); `black`: the sensor's dark
        level in raw codes (the calibration's), below which there is no signal."""
        self.limits, self.config, self.black = limits, config, black
        self._aim = black + config.target * (limits.saturation - black)
        self._gain_share = min(1.0, config.gain_target / config.target)
        self._lock = threading.Lock()
        first = {nm: start if isinstance(start, LedExposure) else start[nm]
                 for nm in wavelengths}
        self._settings = {nm: limits.split(s.product, self._gain_share)
                          for nm, s in first.items()}
        self._shape: dict[int, float] = {}        # nm -> (bright - black) / (lower - black)
        self.changes = 0                            # exposures changed so far
        self.latest: dict[int, Histogram] = {}

    def setting(self, nm: int | None) -> LedExposure:
        """The exposure the strobe gives LED `nm` next (the dark phase: the longest)."""
        with self._lock:
            if nm is None:
                return LedExposure(self.limits.longest_s, 1.0)
            return self._settings[nm]

    def settings(self) -> dict[int, LedExposure]:
        with self._lock:
            return dict(self._settings)

    def __call__(self, sub: SubFrame) -> SubFrame:
        if sub.nm is None or sub.led is None or sub.nm not in self._settings:
            return sub
        histogram = measure(sub.image, self.config.percentile, self.limits.saturation)
        wanted = self.limits.split(sub.led.product * self._ratio(sub.nm, histogram),
                                   self._gain_share)
        with self._lock:
            current = self._settings[sub.nm]
            change = wanted.product / current.product
            if abs(change - 1.0) >= DEAD_BAND:
                self._settings[sub.nm] = wanted
                self.changes += 1
            self.latest[sub.nm] = histogram
        if max(change, 1 / change) >= LARGE_CHANGE:
            log.info("exposure %d nm: %s -> %s (bright end %.0f, clipped %.2f %%)", sub.nm,
                     describe(current), describe(wanted), histogram.bright,
                     100 * histogram.clipped)
        return sub

    def _ratio(self, nm: int, h: Histogram) -> float:
        """How much more exposure would put the bright end at the aim."""
        saturated = h.bright >= self.limits.saturation - 1
        if not saturated:
            if h.lower > self.black:
                self._shape[nm] = (h.bright - self.black) / (h.lower - self.black)
            return min((self._aim - self.black) / max(h.bright - self.black, 1e-6), MAX_RISE)
        shape = self._shape.get(nm)
        if shape is not None and h.lower < self.limits.saturation - 1 and h.lower > self.black:
            return (self._aim - self.black) / (shape * (h.lower - self.black))
        return CLIPPED_STEP

    def summary(self) -> str:
        """Each LED's exposure, for the statistics line: "718 12.0 ms x1.0, ..."."""
        return ", ".join(f"{nm} {describe(s)}" for nm, s in self.settings().items())


def describe(setting: LedExposure) -> str:
    return f"{setting.on_s * 1e3:.2f} ms x{setting.gain:.2f}"

