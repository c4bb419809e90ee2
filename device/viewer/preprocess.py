"""From raw sub-frames to the network's input: dark subtraction, flat-field against the white
references, alignment of the older sub-frames to the newest, scaling to the model's range.

The paper normalises every channel to the paper's white (the camera's quantum efficiency falls
in the NIR); `device calibrate` measures those whites on the rig and saves them here.

The viewer does the per-pixel part of this in the model's viewer graph (convert/viewer_graph.py);
here it keeps the calibration (as the graph's resident planes, `CalibrationPlanes`) and the
alignment estimate at reduced scale. `Normaliser`, `warp_onto`, `to_network` and `to_srgb8` are
the classic per-pixel path (device/viewer/classic.py), the reference the graph is held to.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from device.common.files import atomic_output
from device.common.errors import UserError
from device.engines.model_card import ModelCard
from device.viewer.strobe import LedExposure

log = logging.getLogger(__name__)
UNCALIBRATED_WHITE_PERCENTILE = 99.5   # without references, the brightest paper is the white


@dataclass(frozen=True)
class WhiteNoise:
    """The temporal noise of one LED's white reference as measured, in units of its white
    signal (reflectance 1): `total` at white, and `read` (the dark frames' noise); with the
    shot noise they fix the noise at any other exposure (device.viewer.feeds)."""
    total: float
    read: float


@dataclass
class Calibration:
    """Dark frame and one white reference per LED, float32 HxW raw sensor values, with the
    exposure (LED on-time and gain) each white was taken at and its measured noise. In-memory
    calibrations made without them (tests, `convert`'s samples) are taken as measured at the
    sub-frames' own exposure; a file must record them (CALIBRATION_VERSION)."""
    dark: np.ndarray
    whites: dict[int, np.ndarray]
    exposures: dict[int, LedExposure] = field(default_factory=dict)
    noise: dict[int, WhiteNoise] = field(default_factory=dict)

    def gain(self, nm: int) -> np.ndarray:
        """Per-pixel 1 / (white - dark) of LED `nm`: raw - dark times it is reflectance (paper
        white = 1); floored at one code so a dead pixel does not divide by zero."""
        return 1.0 / np.maximum(self.whites[nm] - self.dark, 1.0)

    def save(self, path: str | Path) -> None:
        arrays: dict[str, np.ndarray] = {"dark": self.dark, "version": np.int32(
            CALIBRATION_VERSION)}
        for nm, white in self.whites.items():
            led, noise = self.exposures[nm], self.noise[nm]
            arrays |= {f"white_{nm}": white, f"on_ms_{nm}": np.float64(led.on_s * 1e3),
                       f"gain_{nm}": np.float64(led.gain),
                       f"noise_{nm}": np.array([noise.total, noise.read], np.float64)}
        with atomic_output(path) as tmp:
            with open(tmp, "wb") as f:     # a file object: np.savez would append ".npz"
                np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # stubs: **kwds

    @classmethod
    def load(cls, path: str | Path, wavelengths, size: tuple[int, int]) -> "Calibration":
        path = Path(path)
        arrays = _read_calibration(path)
        keys = ["dark"] + [f"{k}_{nm}" for nm in wavelengths
                           for k in ("white", "on_ms", "gain", "noise")]
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise UserError(f"{path}: calibration lacks {', '.join(missing)}; run "
                            "`device calibrate` again.")
        if arrays["dark"].shape != size:
            raise UserError(f"{path}: calibration is {arrays['dark'].shape[1]}x"
                            f"{arrays['dark'].shape[0]} but the camera is {size[1]}x{size[0]}; "
                            "run `device calibrate` again.")
        return cls(arrays["dark"].astype(np.float32),
                   {nm: arrays[f"white_{nm}"].astype(np.float32) for nm in wavelengths},
                   {nm: LedExposure(float(arrays[f"on_ms_{nm}"]) / 1e3,
                                    float(arrays[f"gain_{nm}"])) for nm in wavelengths},
                   {nm: WhiteNoise(*map(float, arrays[f"noise_{nm}"])) for nm in wavelengths})


# 2: records the exposure and gain of each white and its noise (automatic exposure scales
# each sub-frame by them); 1 (no "version") recorded neither.
CALIBRATION_VERSION = 2


def _read_calibration(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a calibration file of this version; one sentence when it is not one."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise UserError(f"{path}: calibration not found; run `device calibrate`.") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable calibration file ({exc}).") from None
    if "version" not in arrays:
        raise UserError(f"{path}: calibration made before automatic exposure records no "
                        "exposure and gain for its whites; run `device calibrate` again.")
    if int(arrays["version"]) != CALIBRATION_VERSION:
        raise UserError(f"{path}: calibration version {int(arrays['version'])} is not "
                        f"supported (this build reads version {CALIBRATION_VERSION}); run "
                        "`device calibrate` again.")
    return arrays


class Normaliser:
    """raw -> reflectance (paper white = 1): (raw - dark) / (white - dark), per LED."""

    def __init__(self, calibration: Calibration | None):
        self.calibration = calibration
        if calibration is not None:
            self._gain = {nm: calibration.gain(nm) for nm in calibration.whites}

    def __call__(self, raw: np.ndarray, nm: int, live_dark: np.ndarray | None) -> np.ndarray:
        image = raw.astype(np.float32)
        if live_dark is not None:        # the dark phase: ambient light and dark current, now
            image -= live_dark
        elif self.calibration is not None:
            image -= self.calibration.dark
        if self.calibration is not None:
            return image * self._gain[nm]
        return image / brightest_paper(image)


def brightest_paper(image: np.ndarray, dark: np.ndarray | None = None) -> float:
    """Uncalibrated white: a high percentile of a strided sample of `image` (minus `dark`
    where given, sampled the same way): a sample is enough for a percentile."""
    step = max(1, min(image.shape) // 128)
    small = image[::step, ::step].astype(np.float32)
    if dark is not None:
        small = small - dark[::step, ::step]
    return max(float(np.percentile(small, UNCALIBRATED_WHITE_PERCENTILE)), 1.0)


class CalibrationPlanes:
    """The viewer graph's resident inputs for a calibration: the dark frame and each LED's
    per-pixel gain 1 / (white - dark) (as `Normaliser`), stacked in the model's wavelength
    order; without a calibration, dark 0 and gain 1 (the white then comes per sub-frame as
    the graph's `scale`, from `brightest_paper`). Also the same planes at the alignment's
    reduced scale, so sub-frames are normalised there for the estimate without a full-size
    pass on the CPU."""

    def __init__(self, calibration: Calibration | None, wavelengths, shape: tuple[int, int],
                 align_scale: float):
        self.calibrated = calibration is not None
        self.wavelengths = tuple(wavelengths)
        if calibration is None:
            self.dark = np.zeros(shape, np.float32)
            self.gain = np.ones((len(self.wavelengths), *shape), np.float32)
        else:
            self.dark = calibration.dark.astype(np.float32)
            self.gain = np.stack([calibration.gain(nm)
                                  for nm in self.wavelengths]).astype(np.float32)
        self.scale = align_scale
        self.small_dark = downscale(self.dark, align_scale)
        self.small_gain = {nm: downscale(g, align_scale) for nm, g in zip(self.wavelengths,
                                                                          self.gain)}


def downscale(image: np.ndarray, scale: float) -> np.ndarray:
    return cv2.resize(image.astype(np.float32, copy=False), None, fx=scale, fy=scale,
                      interpolation=cv2.INTER_AREA)


def estimate_shift(ref: np.ndarray, moving: np.ndarray, method: str,
                   scale: float) -> np.ndarray:
    """2x3 affine mapping `moving` onto `ref`, estimated on frames downscaled by `scale`.

    "phase": translation by phase correlation (one FFT pair); "ecc": rotation + translation by
    OpenCV's ECC, which tolerates the brightness differences between wavelengths.
    """
    return estimate_shift_small(downscale(ref, scale), downscale(moving, scale), method, scale)


def estimate_shift_small(ref_small: np.ndarray, moving_small: np.ndarray, method: str,
                         scale: float) -> np.ndarray:
    """`estimate_shift` on frames already downscaled by `scale` (the fused viewer keeps each
    sub-frame's small copy, made once)."""
    small = [ref_small, moving_small]
    warp = np.eye(2, 3, dtype=np.float32)
    if method == "phase":
        window = cv2.createHanningWindow(small[0].shape[::-1], cv2.CV_32F)
        (dx, dy), _ = cv2.phaseCorrelate(small[1], small[0], window)
        warp[:, 2] = (dx, dy)
    else:
        try:
            _, found = cv2.findTransformECC(
                small[0], small[1], warp, cv2.MOTION_EUCLIDEAN,
                (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-4),
                None, 3)  # type: ignore[call-overload]  # the stubs lack a None mask with a size
            warp = np.asarray(found, np.float32)
        except cv2.error:                # no convergence (a blank frame): leave unaligned
            warp = np.eye(2, 3, dtype=np.float32)
        warp = np.asarray(cv2.invertAffineTransform(warp), np.float32)
    warp[:, 2] /= scale
    return warp


def warp_onto(moving: np.ndarray, warp: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    return cv2.warpAffine(moving, warp[:2], (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class Aligner:
    """Aligns a window of sub-frames onto its newest, estimating one new pair per sub-frame.

    With the sliding window the newest sub-frame n needs n-1 -> n and n-2 -> n; n-2 -> n-1 was
    estimated one sub-frame ago, so n-2 -> n is composed from it instead of estimated again:
    one ECC per color frame instead of two.
    """

    def __init__(self, method: str, scale: float, prescaled: bool = False):
        """`prescaled`: the planes handed in are already downscaled by `scale`."""
        self.method, self.scale, self.prescaled = method, scale, prescaled
        self._warps: dict[tuple[int, int], np.ndarray] = {}   # (from seq, to seq) -> 3x3

    def __call__(self, planes: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """{seq: reflectance} -> the same planes aligned onto the newest (highest seq)."""
        if self.method == "none":
            return planes
        warps = self.warps(planes)
        newest = max(planes)
        return {seq: plane if seq == newest else warp_onto(plane, warps[seq],
                                                            planes[newest].shape)
                for seq, plane in planes.items()}

    def warps(self, planes: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
        """{seq: plane} -> {seq: 3x3 affine taking that plane onto the newest}, in full-size
        pixels (identity for the newest, and for all with method "none")."""
        seqs = sorted(planes)
        warps = {seq: np.eye(3, dtype=np.float32) for seq in seqs}
        if self.method == "none":
            return warps
        for later, earlier in zip(reversed(seqs), reversed(seqs[:-1])):
            warps[earlier] = warps[later] @ self._pair(planes, earlier, later)
        self._warps = {k: v for k, v in self._warps.items() if k[0] in planes}
        return warps

    def _pair(self, planes: dict[int, np.ndarray], earlier: int, later: int) -> np.ndarray:
        key = (earlier, later)
        if key not in self._warps:
            estimate = estimate_shift_small if self.prescaled else estimate_shift
            warp = estimate(planes[later], planes[earlier], self.method, self.scale)
            self._warps[key] = np.vstack([warp, [0, 0, 1]]).astype(np.float32)
        return self._warps[key]


def to_network(planes: list[np.ndarray], card: ModelCard) -> np.ndarray:
    """Reflectance planes (in the card's wavelength order) -> 1 x C x H' x W' network input,
    H' and W' rounded up to the card's spatial multiple by replicating the bottom row and right
    column (what the viewer graph pads with). (`card`: anything with the card's
    `from_reflectance` and `spatial_multiple`; `to_srgb8` reads its `to_srgb`.)"""
    h, w = planes[0].shape
    m = card.spatial_multiple
    bottom, right = -h % m, -w % m
    if bottom or right:
        planes = [cv2.copyMakeBorder(p, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
                  for p in planes]
    x = np.stack(planes)[None].astype(np.float32, copy=False)
    return x * card.from_reflectance.scale + card.from_reflectance.offset


def to_srgb8(y: np.ndarray, card: ModelCard, shape: tuple[int, int]) -> np.ndarray:
    """1 x 3 x H' x W' network output -> H x W x 3 uint8 sRGB of the frame's `shape` (H, W):
    the pad `to_network` added is cropped off."""
    h, w = shape
    rgb = y[0, :, :h, :w].transpose(1, 2, 0) * card.to_srgb.scale + card.to_srgb.offset
    return (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
