"""The rig outside the live loop: the configured LEDs and camera, one LED at a time.

`device calibrate` and the real-rig capture protocol take frames under chosen LEDs through
the very backends `device run` uses, so references and datasets match what the viewer sees.
"""
from __future__ import annotations

import dataclasses

import numpy as np

import device.simulated  # noqa: F401  registers the simulated rig, which calibrates itself
from device.captures.references import REFERENCE_FRAMES, mean_reference
from device.simulated.sim_camera import BLANK_PAPER
from device.viewer.config import Config
from device.viewer.exposure import WHITE_TARGET, AutoExposure, ExposureLimits, exposure_limits
from device.viewer.preprocess import Calibration, WhiteNoise
from device.viewer.rig import make_strobe, open_camera, open_leds
from device.viewer.strobe import FixedExposure, GainControl, LedExposure, SubFrame

METERING_FRAMES = 3         # frames that find the white's exposure, before the references


def on_blank_paper(config: Config) -> Config:
    """The config for taking white references: on the simulated rig the simulated operator
    swaps the print for blank paper (a real operator is asked to), and the light holds still
    (a change the run is to see comes after the calibration)."""
    if not config.camera.uri.startswith("sim://"):
        return config
    return dataclasses.replace(config, sim=dataclasses.replace(
        config.sim, scene=BLANK_PAPER, cut_at=0, light_change_at=0))


class Rig:
    def __init__(self, config: Config):
        self.config = config
        self.wavelengths = tuple(config.strobe.wavelengths)
        self.leds = open_leds(config)
        try:
            self.camera = open_camera(config, self.leds)
        except BaseException:
            self.leds.close()
            raise

    def frames(self, nm: int | None, count: int) -> list[np.ndarray]:
        """`count` raw frames with only LED `nm` lit (None: all off), strobed as in the viewer."""
        return [sub.image for sub in self.subframes(nm, count)]

    def subframes(self, nm: int | None, count: int,
                  setting: LedExposure | None = None) -> list[SubFrame]:
        """`count` sub-frames under LED `nm` alone (None: all off), lit for `setting`'s on-time
        at its gain (default: the whole exposure window at the camera's gain)."""
        phases = dataclasses.replace(self.config.strobe, wavelengths=() if nm is None else (nm,),
                                     dark_phase=nm is None)
        exposures = None if setting is None else FixedExposure(setting)
        strobe = make_strobe(self.config, self.leds, self.camera, phases, exposures)
        try:
            return [strobe.next() for _ in range(count)]
        finally:
            strobe.close()

    def mean_frame(self, nm: int | None, count: int = REFERENCE_FRAMES) -> np.ndarray:
        return mean_reference(self.frames(nm, count))

    def close(self) -> None:
        try:
            self.camera.close()
        finally:
            self.leds.close()

    def __enter__(self) -> "Rig":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def measure_calibration(config: Config, frames: int = REFERENCE_FRAMES) -> Calibration:
    """Dark (all LEDs off) and white (blank paper under each LED) references, averaged, with
    each white's exposure and noise. With automatic exposure each white gets its own on-time
    (and gain), found in METERING_FRAMES frames; fixed, the configured window and gain."""
    c = config.camera
    with Rig(on_blank_paper(config)) as rig:
        darks = [sub.image for sub in rig.subframes(None, max(frames, 2))]
        dark = mean_reference(darks).astype(np.float32)
        read = float(np.sqrt(np.mean(np.var(np.asarray(darks, np.float32), axis=0, ddof=1))))
        limits = exposure_limits(c, config.strobe, config.exposure)
        if not isinstance(rig.camera, GainControl):    # its gain stays camera.gain
            limits = dataclasses.replace(limits, max_gain=1.0)
        whites, exposures, noise = {}, {}, {}
        for nm in rig.wavelengths:
            setting = LedExposure(c.exposure_ms / 1e3, c.gain)
            if config.exposure.mode == "auto":
                setting = _white_exposure(rig, nm, limits, config, float(np.median(dark)))
            subs = rig.subframes(nm, max(frames, 2), setting)
            whites[nm] = mean_reference([s.image for s in subs]).astype(np.float32)
            exposures[nm] = LedExposure(float(np.mean([_on_s(s, setting) for s in subs])),
                                        setting.gain)
            noise[nm] = _white_noise(subs, dark, whites[nm], read)
    return Calibration(dark, whites, exposures, noise)


def _on_s(sub: SubFrame, setting: LedExposure) -> float:
    return setting.on_s if sub.led is None else sub.led.on_s


def _white_exposure(rig: Rig, nm: int, limits: ExposureLimits, config: Config,
                    black: float) -> LedExposure:
    """The exposure that puts the white's bright end at WHITE_TARGET: automatic exposure's
    own meter, run on a few frames of the white."""
    meter = AutoExposure((nm,), limits, dataclasses.replace(config.exposure, target=WHITE_TARGET),
                         LedExposure(config.camera.exposure_ms / 1e3, 1.0), black)
    for _ in range(METERING_FRAMES):
        meter(rig.subframes(nm, 1, meter.setting(nm))[0])
    return meter.setting(nm)


def _white_noise(subs: list[SubFrame], dark: np.ndarray, white: np.ndarray,
                 read: float) -> WhiteNoise:
    """The white frames' temporal noise and the dark frames', in units of the white's signal.
    Each frame is first scaled to the same mean: an LED on-time a little longer or shorter than
    the last (the strobe's timing, which the viewer divides out frame by frame) is no noise."""
    above = np.asarray([s.image for s in subs], np.float32) - dark
    levels = above.reshape(len(subs), -1).mean(axis=1)
    above *= (levels.mean() / np.maximum(levels, 1e-6))[:, None, None]
    signal = max(float(np.mean(white - dark)), 1.0)
    total = float(np.sqrt(np.mean(np.var(above, axis=0, ddof=1))))
    return WhiteNoise(total / signal, read / signal)
