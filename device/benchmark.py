"""Measure the pipeline on the simulated rig: per-stage milliseconds, throughput, latency."""
from __future__ import annotations

import time

import numpy as np

from device.viewer.config import Config
from device.viewer.loop import Pipeline, RunReport
from device.viewer.preprocess import estimate_shift
from device.procedures.calibration import measure_calibration
from device.simulated.sim_leds import SimLeds
from device.simulated.sim_camera import SimCamera

COLORIZE_STAGES = ("normalise", "align", "infer", "postprocess")


def run_sim(config: Config, frames: int, sliding: bool = True) -> RunReport:
    """Calibrate the simulated rig (once per folder) and run `frames` color frames."""
    calibration = config.resolve(config.preprocess.calibration)
    if not calibration.exists():
        measure_calibration(config, 4).save(calibration)
    return Pipeline(config, sliding=sliding).run(max_frames=frames)


def stage_bound_fps(report: RunReport, sliding: bool) -> tuple[str, float]:
    """The slowest stage and the color-frame rate it allows on its own."""
    ms = report.stage_ms
    per_color = {"capture": ms["capture"] * (1 if sliding else 3),
                 "colorize": sum(ms.get(k, 0.0) for k in COLORIZE_STAGES),
                 "display": ms.get("display", 0.0)}
    stage = max(per_color, key=per_color.get)
    return stage, 1e3 / per_color[stage]


def align_ms(config: Config, method: str, repeats: int = 10) -> float:
    """Milliseconds to estimate one sub-frame pair's motion, on two simulated frames."""
    leds = SimLeds(config.strobe.wavelengths)
    camera = SimCamera(config, leds, None)
    a = camera.expose({718: 1.0}, 0.0).astype(np.float32)
    b = camera.expose({777: 1.0}, 0.0).astype(np.float32)
    start = time.perf_counter()
    for _ in range(repeats):
        estimate_shift(a, b, method, config.preprocess.align_scale)
    return (time.perf_counter() - start) / repeats * 1e3
