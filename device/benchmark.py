"""Measure the viewer on the simulated rig: the CPU work per color frame of the classic and the
fused per-pixel paths side by side, and (optionally) the live pipeline's stages and rates."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from device.engines.engine import OnnxEngine
from device.engines.model_card import load_model_card
from device.procedures.calibration import measure_calibration
from device.simulated.sim_camera import SimCamera
from device.simulated.sim_leds import SimLeds
from device.viewer.classic import ClassicColorizer
from device.viewer.colorize import ColorFrame, Colorizer
from device.viewer.config import Config
from device.viewer.exposure import AutoExposure, exposure_limits
from device.viewer.loop import Pipeline, RunReport
from device.viewer.preprocess import Calibration, Normaliser, estimate_shift
from device.viewer.rig import camera_options, make_strobe, open_camera, open_leds
from device.viewer.stats import StageTimes
from device.viewer.strobe import LedExposure
from device.viewer.window import Triplet, TripletWindow

COLORIZE_STAGES = ("prepare", "align", "feed", "engine", "postprocess")
ALIGN_STAGES = ("prepare", "align", "feed")     # the viewer's align thread; the rest colorize
EXPOSURE_STAGE = "exposure"    # automatic exposure's meter, in the capture thread, per sub-frame
ENGINE_STAGE = "engine"        # timed apart: on the Jetson it runs on the GPU
# CPU seconds of the whole process (every thread: OpenCV's and onnxruntime's pools too), not
# wall time: the stages run one after another, so each reads what it cost the CPU, and other
# work on a shared machine does not inflate it the way it inflates wall time.
CLOCK = time.process_time


@dataclass
class PathTimes:
    """Mean milliseconds per color frame of one per-pixel path."""
    stages_ms: dict[str, float]

    @property
    def cpu_ms(self) -> float:
        """What the CPU spends outside the engine call: what a Jetson's CPU would still do."""
        return sum(v for k, v in self.stages_ms.items() if k != ENGINE_STAGE)

    @property
    def engine_ms(self) -> float:
        return self.stages_ms.get(ENGINE_STAGE, 0.0)

    def to_dict(self) -> dict:
        return {"cpu_ms_per_frame": self.cpu_ms, "engine_ms_per_frame": self.engine_ms,
                "stages_ms": dict(self.stages_ms)}


def ensure_calibration(config: Config) -> Calibration:
    """The simulated rig's calibration (measured once per folder)."""
    path = config.resolve(config.preprocess.calibration)
    if not path.exists():
        measure_calibration(config, 4).save(path)
    c = config.camera
    return Calibration.load(path, config.strobe.wavelengths, (c.height, c.width))


def record_triplets(config: Config, count: int) -> list:
    """`count` sliding-window triplets strobed on the simulated rig (the hand-held print)."""
    leds = open_leds(config)
    camera = open_camera(config, leds)
    strobe = make_strobe(config, leds, camera)
    window = TripletWindow(config.strobe.wavelengths, sliding=True)
    triplets: list[Triplet] = []
    try:
        while len(triplets) < count:
            triplet = window.add(strobe.next())
            if triplet is not None:
                triplets.append(triplet)
    finally:
        for part in (strobe, camera, leds):
            part.close()
    return triplets


def compare_paths(config: Config, frames: int) -> dict[str, PathTimes]:
    """The classic and the fused path colorize the same recorded triplets, alternating frame
    by frame so both see the same machine load, each stage timed in CPU time (`CLOCK`); the
    first frame of each warms up (onnxruntime allocates on its first run) and is not
    counted. The fused path is the viewer's as configured: with the temporal filter (its
    pose and feeds are in align and feed) and automatic exposure's meter on each new
    sub-frame (`exposure`)."""
    card = load_model_card(config.model_card_path())
    calibration = ensure_calibration(config)
    triplets = record_triplets(config, frames + 1)
    p = config.preprocess
    times = {"classic": StageTimes(), "fused": StageTimes()}
    history = config.temporal.strength if config.temporal.filter else 0.0
    fused = Colorizer(card, OnnxEngine(card.viewer_graph), calibration, p.align, p.align_scale,
                      times["fused"], (config.camera.height, config.camera.width), CLOCK,
                      history)
    meter = AutoExposure(tuple(config.strobe.wavelengths), exposure_limits(
        config.camera, config.strobe, config.exposure), config.exposure,
        LedExposure(config.camera.exposure_ms / 1e3, 1.0))

    def fused_with_meter(triplet: Triplet) -> ColorFrame:
        t0 = CLOCK()
        meter(triplet.newest)
        times["fused"].add(EXPOSURE_STAGE, CLOCK() - t0)
        return fused(triplet)

    paths: dict[str, Callable[[Triplet], ColorFrame]] = {
        "classic": ClassicColorizer(card, OnnxEngine(card.onnx), Normaliser(calibration),
                                    p.align, p.align_scale, times["classic"], CLOCK),
        "fused": fused_with_meter,
    }
    for i, triplet in enumerate(triplets):
        for name, colorize in paths.items():
            colorize(triplet)
            if i == 0:
                times[name].take()
    return {name: PathTimes(t.take()) for name, t in times.items()}


def run_sim(config: Config, frames: int, sliding: bool = True) -> RunReport:
    """Calibrate the simulated rig (once per folder) and run `frames` color frames."""
    ensure_calibration(config)
    return Pipeline(config, sliding=sliding).run(max_frames=frames).report_or_raise()


def stage_bound_fps(report: RunReport, sliding: bool) -> tuple[str, float]:
    """The slowest stage and the color-frame rate it allows on its own."""
    ms = report.stage_ms
    per_color = {"capture": ms["capture"] * (1 if sliding else 3),
                 "align": sum(ms.get(k, 0.0) for k in ALIGN_STAGES),
                 "colorize": sum(ms.get(k, 0.0) for k in COLORIZE_STAGES
                                 if k not in ALIGN_STAGES),
                 "display": ms.get("display", 0.0)}
    stage = max(per_color, key=lambda name: per_color[name])
    return stage, 1e3 / per_color[stage]


def align_ms(config: Config, method: str, repeats: int = 10) -> float:
    """Milliseconds to estimate one sub-frame pair's motion, on two simulated frames."""
    camera = SimCamera(camera_options(config, SimLeds(config.strobe.wavelengths)), None)
    a = camera.expose({718: 1.0}, 0.0).astype(np.float32)
    b = camera.expose({777: 1.0}, 0.0).astype(np.float32)
    start = time.perf_counter()
    for _ in range(repeats):
        estimate_shift(a, b, method, config.preprocess.align_scale)
    return (time.perf_counter() - start) / repeats * 1e3
