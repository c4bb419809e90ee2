"""`sim://`: the simulated camera of the simulated rig.

It renders a print (`device.sim.PrintedScene`) under whatever the simulated LED bank did during
each exposure: the expected frame under each LED is cached, so a frame costs a mix of those
(usually one), a warp for the hand-held jitter and the sensor's shot and read noise.

For tests and `device demo` the [sim] section also sets the LEDs' light on the print (`light`,
changing at a camera frame as a step or a ramp), how the print moves (`motion`: held still, by
a shaking hand, or sliding across the view) and a scene cut (`cut_at`: the print swapped for
`cut_to`); every change is keyed to the camera's frame count, so a run is the same however
fast the viewer keeps up. The camera's analogue gain can be set per frame (`set_gain`, at
once): it divides the electrons per raw code.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import cv2
import numpy as np

from numpy.typing import NDArray

from device.captures.format import Exposure
from device.common.errors import UserError
from device.common.uri import Uri
from device.content.surfaces import SURFACE_KINDS
from device.simulated.lit_by_sim_leds import (Fractions, LitBySimLeds, injected_rolling,
                                              injected_stall)
from device.viewer.cameras import CameraOptions, Frame
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


@functools.lru_cache(maxsize=4)   # a reconnecting camera finds its prints already rendered
def _printed_scene(rgb_bytes: bytes, shape: tuple[int, int, int], rig_items: tuple, seed: int):
    from device.sim import PrintedScene, RigSpec

    rgb = np.frombuffer(rgb_bytes, np.uint8).reshape(shape)
    return PrintedScene(rgb, rig=RigSpec(**dict(rig_items)), seed=seed)


class Shot(NamedTuple):
    """What the simulated camera did for one frame: where the print was, which print, and the
    LEDs' light on it."""
    motion: np.ndarray         # 2x3 affine pose of the print
    scene: int                 # 0: the [sim] scene; 1: `cut_to`, after the cut
    light: float               # the light factor (1: the demo's)
    frame: int                 # the camera's frame count


class Print:
    """One print under the rig: electrons per LED at the window's full exposure before the
    camera's flat field (which stays with the camera when the print moves), and the truth."""

    def __init__(self, scene, wavelengths: tuple[int, ...]):
        self.scene = scene
        rig = scene.rig
        to_e = np.float32(rig.gain_e_per_adu) / scene.flat
        ambient = scene.signal(None)
        self.ambient_e = (ambient - np.float32(rig.dark_offset)) * to_e
        self.led_e = {nm: (scene.signal(nm) - ambient) * to_e for nm in wavelengths}


def light_at(sim: SimConfig, frame: int) -> float:
    """The light factor at camera frame `frame`: `light`, changing from `light_change_at` to
    `light_change_to`, at once or linearly over `light_change_frames`."""
    if sim.light_change_at <= 0 or frame < sim.light_change_at:
        return sim.light
    if sim.light_change_frames <= 0:
        return sim.light_change_to
    done = min(1.0, (frame - sim.light_change_at + 1) / sim.light_change_frames)
    return sim.light + done * (sim.light_change_to - sim.light)


@functools.lru_cache(maxsize=2)
def _material_scene(kind: str, size: tuple[int, int], rig_items: tuple, seed: int):
    """A scene of SURFACE_KINDS `kind`, drawn square and centre-cropped to the camera's size."""
    from device.sim import RigSpec
    from device.simulated.material_scenes import material_scene

    return material_scene(kind, np.random.default_rng(seed), max(size), RigSpec(**dict(rig_items)),
                          seed, crop=size)


def _scene(sim: SimConfig, size: tuple[int, int], rig: tuple, resolve):
    """The [sim] scene under the rig: made of skin, leaves or cloth, or printed."""
    if sim.scene in SURFACE_KINDS:
        return _material_scene(sim.scene, size, rig, sim.seed)
    rgb = print_artwork(sim, size, resolve)
    return _printed_scene(rgb.tobytes(), rgb.shape, rig, sim.seed)


class SimCamera(LitBySimLeds):
    def __init__(self, options: CameraOptions, stall_after: int | None,
                 rolling_line_s: float | None = None):
        super().__init__(options, stall_after, rolling_line_s)
        from device.sim.camera import read_out
        from device.sim.led_parts import part_fwhms

        c, sim, leds = options.camera, options.sim, self.leds
        self._read_out = read_out
        self.sim = sim
        self.size = size = (c.height, c.width)
        # The rig at light 1 and gain 1 for the sensor's exposure (the timing plan's: longer
        # than the LED time in a flash window): the photons an LED lit throughout it would
        # give, of which each row gets its share. Each frame's light and the camera's gain are
        # applied as the sim rig does for capture sets (`RigSpec.under`, `expose`).
        rig = tuple(sorted({"leds": tuple(leds.wavelengths), "exposure": self.exposure_s * 1e3,
                            "ambient": sim.ambient,
                            "led_fwhm_by_nm": part_fwhms(leds.wavelengths)}.items()))
        scenes = [sim] + ([dataclasses.replace(sim, scene=sim.cut_to)] if sim.cut_at > 0 else [])
        self.prints = [Print(_scene(s, size, rig, options.resolve), tuple(leds.wavelengths))
                       for s in scenes]
        self.scene = self.prints[0].scene
        self.rig = self.scene.rig
        self.gain = c.gain
        self.motion_px, self.motion_deg = sim.motion_px, sim.motion_deg
        self.rng = np.random.default_rng(sim.seed)
        self.shots: dict[float, Shot] = {}      # exposure start -> what was shot then
        self._read_at: dict[float, int] = {}    # exposure start -> frame count when read
        self.motions: dict[float, np.ndarray] = {}    # exposure start -> pose of the print

    def read(self) -> Frame:
        """The next frame; its picture (rendered when first looked at) is that of the frame
        count it was read at, however late that is."""
        count = self.frames
        frame = super().read()
        self._read_at[frame.exposure_start] = count
        while len(self._read_at) > MOTION_HISTORY:
            del self._read_at[next(iter(self._read_at))]
        return frame

    def set_gain(self, gain: float) -> None:
        """The analogue gain of the frames from the next one on (at once, unlike a sensor)."""
        self.gain = gain

    def expose(self, fractions: Fractions, start: float) -> NDArray[np.uint16]:
        count = self._read_at.get(start, self.frames)
        shot = Shot(self._pose(count), 1 if 0 < self.sim.cut_at <= count else 0,
                    light_at(self.sim, count), count)
        lit = self.prints[shot.scene]
        self._remember(start, shot)
        h, w = self.size

        def moved(electrons: np.ndarray) -> np.ndarray:       # the print, in its pose
            return cv2.warpAffine(electrons, shot.motion, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REFLECT101)

        # One exposure concept with the capture sets' (device.captures.format.Exposure): the
        # LEDs' photons grow with light x time, room light with time alone (the sensor's
        # exposure here: each LED's on-time within it is its rows' `fractions`).
        exposure = Exposure(self.rig.exposure, self.gain, shot.light)
        led_scale = np.float32(exposure.photons / self.rig.exposure)
        electrons = moved(lit.ambient_e) if self.sim.ambient > 0 else np.zeros((h, w), np.float32)
        for nm, f in fractions.items():   # f: rows x 1, each sensor row's share of the exposure
            electrons = electrons + (np.asarray(f, dtype=np.float32) * led_scale) \
                * moved(lit.led_e[nm])
        electrons *= lit.scene.flat        # the fall-off stays with the camera
        return self._read_out(electrons, self.size, self.rig.under(exposure), self.rng)

    def _pose(self, count: int) -> np.ndarray:
        """The print's pose for frame `count`: still, shaken or sliding."""
        from device.sim import random_motion

        if self.sim.motion == "none":
            return np.eye(2, 3)
        if self.sim.motion == "slide":
            return np.array([[1.0, 0.0, self.sim.slide_px * count], [0.0, 1.0, 0.0]])
        return random_motion(self.rng, self.motion_px, self.motion_deg, self.size)

    def _remember(self, start: float, shot: Shot) -> None:
        self.shots[start] = shot
        self.motions[start] = shot.motion
        for kept in (self.shots, self.motions):
            if len(kept) > MOTION_HISTORY:
                del kept[next(iter(kept))]   # the oldest

    def ground_truth(self, exposure_start: float) -> np.ndarray | None:
        """What the eye would see (sRGB float HxWx3) in the pose of the frame exposed then."""
        shot = self.shots.get(exposure_start)   # one atomic lookup: the capture thread writes
        if shot is None:
            return None
        h, w = self.size
        return cv2.warpAffine(self.prints[shot.scene].scene.ground_truth("human"), shot.motion,
                              (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def open_sim_camera(uri: Uri, options: CameraOptions) -> SimCamera:
    camera = SimCamera(options, injected_stall(uri), injected_rolling(uri))
    if "fail_after" in uri.params:   # fault injection for tests: raise inside the loop after N
        camera.fail_after = int(uri.params["fail_after"])
    return camera
