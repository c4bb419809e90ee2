"""`sim://`: the simulated camera of the simulated rig.

It renders a print (`device.sim.PrintedScene`) under whatever the simulated LED bank did during
each exposure: the expected frame under each LED is cached, so a frame costs a mix of those
(usually one), a warp for the hand-held jitter and the sensor's shot and read noise.
"""
from __future__ import annotations

import functools

import cv2
import numpy as np

from numpy.typing import NDArray

from device.common.errors import UserError
from device.common.uri import Uri
from device.content.surfaces import SURFACE_KINDS
from device.simulated.lit_by_sim_leds import (Fractions, LitBySimLeds, injected_rolling,
                                              injected_stall)
from device.viewer.cameras import CameraOptions
from device.viewer.sections import SimConfig

MOTION_HISTORY = 2048   # poses kept for ground-truth lookups: seconds of frames, a few KB
BLANK_PAPER = "paper"    # unprinted paper: what calibration puts under the simulated camera


def print_artwork(sim: SimConfig, size: tuple[int, int], resolve) -> np.ndarray:
    """The sRGB image on the simulated print: blank paper, a bundled photo, a generated chart /
    skin / gradient, or an image file; centre-cropped to the camera's aspect and resized."""
    from device.content.generated import GENERATORS
    from device.content.photos import BUNDLED_PHOTOS, load_bundled_photo

    h, w = size
    if sim.scene == BLANK_PAPER:
        return np.full((h, w, 3), 255, np.uint8)
    if sim.scene in BUNDLED_PHOTOS:
        rgb = load_bundled_photo(sim.scene)
    elif sim.scene in GENERATORS:
        rgb = GENERATORS[sim.scene](np.random.default_rng(sim.seed), max(h, w))
    else:
        path = resolve(sim.scene)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise UserError(f"sim.scene '{sim.scene}' is neither a bundled print ("
                            + ", ".join([BLANK_PAPER, *BUNDLED_PHOTOS, *GENERATORS])
                            + "), a scene made of materials (" + ", ".join(SURFACE_KINDS)
                            + f") nor a readable image file ({path}).")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    ih, iw = rgb.shape[:2]
    scale = min(ih / h, iw / w)
    ch, cw = int(h * scale), int(w * scale)
    y, x = (ih - ch) // 2, (iw - cw) // 2
    return cv2.resize(rgb[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=2)   # a reconnecting camera finds its print already rendered
def _printed_scene(rgb_bytes: bytes, shape: tuple[int, int, int], rig_items: tuple, seed: int):
    from device.sim import PrintedScene, RigSpec

    rgb = np.frombuffer(rgb_bytes, np.uint8).reshape(shape)
    return PrintedScene(rgb, rig=RigSpec(**dict(rig_items)), seed=seed)


@functools.lru_cache(maxsize=2)
def _material_scene(kind: str, size: tuple[int, int], rig_items: tuple, seed: int):
    """A scene of SURFACE_KINDS `kind`, drawn square and centre-cropped to the camera's size."""
    from device.sim import RigSpec
    from device.simulated.material_scenes import material_scene

    return material_scene(kind, np.random.default_rng(seed), max(size), RigSpec(**dict(rig_items)),
                          seed, crop=size)


class SimCamera(LitBySimLeds):
    def __init__(self, options: CameraOptions, stall_after: int | None,
                 rolling_line_s: float | None = None):
        super().__init__(options, stall_after, rolling_line_s)
        from device.sim.camera import read_out
        from device.sim.led_parts import part_fwhms

        c, sim, leds = options.camera, options.sim, self.leds
        self._read_out = read_out
        size = (c.height, c.width)
        # Camera gain divides the electrons per ADU code; the sensor's exposure (the timing
        # plan's: longer than the LED time in a flash window) sets the photons an LED lit
        # throughout it would give, of which each row gets its share.
        rig = {"leds": tuple(leds.wavelengths), "exposure": self.exposure_s * 1e3,
               "full_well_e": 10500.0 / c.gain, "ambient": sim.ambient,
               "led_fwhm_by_nm": part_fwhms(leds.wavelengths)}   # catalogue LEDs' own
        if sim.scene in SURFACE_KINDS:   # made of skin, leaves or cloth, not printed
            self.scene = _material_scene(sim.scene, size, tuple(sorted(rig.items())), sim.seed)
        else:
            rgb = print_artwork(sim, size, options.resolve)
            self.scene = _printed_scene(rgb.tobytes(), rgb.shape, tuple(sorted(rig.items())),
                                        sim.seed)
        self.rig = self.scene.rig
        self.size = size
        self.motion_px, self.motion_deg = sim.motion_px, sim.motion_deg
        self.rng = np.random.default_rng(sim.seed)
        to_e = np.float32(self.rig.gain_e_per_adu)
        ambient = self.scene.signal(None)
        self._ambient_e = (ambient - np.float32(self.rig.dark_offset)) * to_e
        self._led_e = {nm: (self.scene.signal(nm) - ambient) * to_e for nm in leds.wavelengths}
        self.motions: dict[float, np.ndarray] = {}    # exposure start -> pose of the print

    def expose(self, fractions: Fractions, start: float) -> NDArray[np.uint16]:
        from device.sim import random_motion

        electrons = self._ambient_e
        for nm, f in fractions.items():   # f: rows x 1, each row's share of the exposure
            electrons = electrons + np.asarray(f, dtype=np.float32) * self._led_e[nm]
        motion = random_motion(self.rng, self.motion_px, self.motion_deg, self.size)
        self.motions[start] = motion
        if len(self.motions) > MOTION_HISTORY:
            del self.motions[next(iter(self.motions))]   # the oldest
        h, w = self.size
        electrons = cv2.warpAffine(electrons, motion, (w, h), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT101)
        return self._read_out(electrons, self.size, self.rig, self.rng)

    def ground_truth(self, exposure_start: float) -> np.ndarray | None:
        """What the eye would see (sRGB float HxWx3) in the pose of the frame exposed then."""
        motion = self.motions.get(exposure_start)   # one atomic lookup: the capture thread writes
        if motion is None:
            return None
        h, w = self.size
        return cv2.warpAffine(self.scene.ground_truth("human"), motion, (w, h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def open_sim_camera(uri: Uri, options: CameraOptions) -> SimCamera:
    camera = SimCamera(options, injected_stall(uri), injected_rolling(uri))
    if "fail_after" in uri.params:   # fault injection for tests: raise inside the loop after N
        camera.fail_after = int(uri.params["fail_after"])
    return camera
