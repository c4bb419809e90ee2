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
from device.viewer.preprocess import Calibration
from device.viewer.rig import make_strobe, open_camera, open_leds


def on_blank_paper(config: Config) -> Config:
    """The config for taking white references: on the simulated rig the simulated operator
    swaps the print for blank paper (a real operator is asked to)."""
    if not config.camera.uri.startswith("sim://"):
        return config
    return dataclasses.replace(config, sim=dataclasses.replace(config.sim, scene=BLANK_PAPER))


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
        phases = dataclasses.replace(self.config.strobe, wavelengths=() if nm is None else (nm,),
                                     dark_phase=nm is None)
        strobe = make_strobe(self.config, self.leds, self.camera, phases)
        try:
            return [strobe.next().image for _ in range(count)]
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
    """Dark (all LEDs off) and white (blank paper under each LED) references, averaged."""
    with Rig(on_blank_paper(config)) as rig:
        dark = rig.mean_frame(None, frames)
        whites = {nm: rig.mean_frame(nm, frames) for nm in rig.wavelengths}
    return Calibration(dark.astype(np.float32),
                       {nm: w.astype(np.float32) for nm, w in whites.items()})
