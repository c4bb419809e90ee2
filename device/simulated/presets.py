"""The simulated rig as a ready-made config, and how close a color frame comes to what the
eye would see (for `device demo`, `device bench` and the tests)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from device.simulated.sim_camera import SimCamera
from device.viewer.cameras import Camera
from device.viewer.colorize import ColorFrame
from device.viewer.config import (CameraConfig, Config, DisplayConfig, EngineConfig, LedConfig,
                                   PipelineConfig, PreprocessConfig, SimConfig, StrobeConfig)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_MODEL = ASSETS / "edge.onnx"        # + edge.json, its model card
EDGE_PX = 4     # frame border left out of ΔE: warps there replicate edge pixels


def sim_config(folder: Path, *, engine: str | Path = SHIPPED_MODEL, width: int = 128,
               height: int = 96, fps: float = 100.0, exposure_ms: float = 8.0,
               sync: str = "trigger", display: str = "null://", scene: str = "astronaut",
               calibration: str = "calibration.npz", margin_ms: float = 5.0,
               queue_size: int = 2, seed: int = 0) -> Config:
    """A config for the simulated camera and LEDs; relative paths resolve in `folder`."""
    return Config(
        path=Path(folder).resolve() / "sim.toml",
        camera=CameraConfig(uri="sim://", width=width, height=height, fps=fps,
                            exposure_ms=exposure_ms),
        leds=LedConfig(uri="sim://"),
        strobe=StrobeConfig(sync=sync, margin_ms=margin_ms),
        engine=EngineConfig(uri=f"onnx://{engine}"),
        preprocess=PreprocessConfig(calibration=calibration),
        display=DisplayConfig(uri=display),
        pipeline=PipelineConfig(queue_size=queue_size, stats_every_s=5.0),
        sim=SimConfig(scene=scene, seed=seed))


def truth_for(frame: ColorFrame, camera: Camera | None) -> np.ndarray | None:
    """What the eye would see, in the pose of the frame's newest sub-frame (None if unknown:
    not the simulated camera, or a pose it no longer keeps)."""
    if not isinstance(camera, SimCamera):
        return None
    return camera.ground_truth(frame.triplet.newest.exposure_start)


def mean_delta_e00(rgb8: np.ndarray, truth: np.ndarray) -> float:
    """Mean CIEDE2000 between a color frame (uint8) and the truth (float), border left out."""
    from device.sim import delta_e00

    e = EDGE_PX
    return float(delta_e00(rgb8[e:-e, e:-e].astype(np.float32) / 255.0,
                           truth[e:-e, e:-e]).mean())
