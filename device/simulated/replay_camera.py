"""`file://capture-set`: a camera that replays a capture set's recorded frames, lit by the
simulated LED bank."""
from __future__ import annotations

import numpy as np

from numpy.typing import NDArray

from device.common.errors import UserError
from device.common.uri import Uri
from device.simulated.lit_by_sim_leds import Fractions, LitBySimLeds, injected_stall
from device.viewer.cameras import CameraOptions


class ReplayCamera(LitBySimLeds):
    """`file://capture-set`: replays recorded frames, `hold` frames per scene, cycling scenes."""
    render_on_use = False    # the scene is the one of the frame count at delivery

    def __init__(self, path: str, options: CameraOptions, hold: int, stall_after: int | None):
        from device.captures import CaptureSet

        super().__init__(options, stall_after)
        self.captures = CaptureSet.open(path)
        missing = [nm for nm in self.leds.wavelengths if nm not in self.captures.wavelengths]
        if missing:
            raise UserError(f"{path}: capture set has no frames at {missing} nm, which the "
                            "strobe fires.")
        self.hold = hold
        self._dark = self.captures.references()["dark"]
        self._scene_raws: tuple[str, dict[int, np.ndarray]] | None = None

    def expose(self, fractions: Fractions, start: float) -> NDArray[np.uint16]:
        scenes = self.captures.scenes
        scene = scenes[(self.frames // self.hold) % len(scenes)]
        if self._scene_raws is None or self._scene_raws[0] != scene:
            self._scene_raws = (scene, {nm: self.captures.load_raw(scene, nm).astype(np.float32)
                                        for nm in self.leds.wavelengths})
        raws = self._scene_raws[1]
        # A linear sensor: each LED adds its recorded signal above dark, scaled by its on-time.
        mixed = self._dark.copy()
        for nm, f in fractions.items():   # f: rows x 1, each row's share of the exposure
            mixed += f * (raws[nm] - self._dark)
        return np.clip(mixed, 0, 65535).astype(np.uint16)


def open_replay_camera(uri: Uri, options: CameraOptions) -> ReplayCamera:
    return ReplayCamera(str(options.resolve(uri.target)), options,
                        int(uri.params.get("hold", 30)), injected_stall(uri))
