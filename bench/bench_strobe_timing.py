"""Does each strobe timing keep the sub-frame rate its timing rule predicts? (target: >= 95 %)

Runs the strobe alone (no engine, no display) on the simulated rolling shutter (IMX219 line
time, 18.9 us) at each size, for each timing: flash-window, sensor-strobe (the simulated camera
given a strobe output) and today's trigger and frame timings, and prints side by side the rate
the rule predicts, the rate of kept sub-frames on the camera's clock, their ratio and the share
of rows lit by another LED. `--picture` renders every kept sub-frame in the strobe's thread, as
the live loop does; without it only the LEDs and the camera's timing run (on this 2-core machine
a 1280x720 render takes longer than a 30 fps frame, which would measure the simulator, not the
timing).

    .venv/bin/python bench/bench_strobe_timing.py [--subframes 90] [--picture] [--realtime]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from device.simulated.presets import sim_config
from device.simulated.row_light import RowLightMeter
from device.viewer.camera_profiles import PROFILES
from device.viewer.rig import exposure_plan, make_strobe, open_camera, open_leds
from device.viewer.strobe import SubFrame

TARGET = 0.95
SIZES = ((192, 144), (1280, 720))
TIMINGS = ("flash-window", "sensor-strobe", "frame", "trigger")


def config_for(folder: Path, size: tuple[int, int], sync: str, realtime: bool):
    config = sim_config(folder, width=size[0], height=size[1], fps=30.0, sync=sync)
    line_us = PROFILES["imx219"].modes[0].line_time_us
    config.camera = dataclasses.replace(config.camera, shutter="rolling", line_time_us=line_us,
                                        trigger_input=False, strobe_output=True)
    config.strobe.realtime = realtime
    return config


def measure(config, subframes: int, picture: bool) -> tuple[float, float, float]:
    plan = exposure_plan(config)
    leds = open_leds(config)
    camera = open_camera(config, leds)
    strobe = make_strobe(config, leds, camera)
    meter = RowLightMeter(lambda: camera)
    try:
        for phase in range(subframes):
            nm = config.strobe.wavelengths[phase % 3]
            if picture:
                sub = strobe.next()
            else:                 # the timing alone: the frame's picture is never looked at
                frame = strobe.timing.expose(nm, camera)
                while frame is None:
                    frame = strobe.timing.expose(nm, camera)
                sub = SubFrame(nm, None, frame.exposure_start, frame.exposure_end, phase)
            meter(sub)
    finally:
        strobe.close()
        camera.close()
    return plan.fps, meter.fps(), meter.mixed_share()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subframes", type=int, default=90)
    parser.add_argument("--picture", action="store_true", help="render every sub-frame")
    parser.add_argument("--realtime", action="store_true", help="SCHED_FIFO strobe thread")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-strobe-") as folder:
        for size in SIZES:
            for sync in TIMINGS:
                config = config_for(Path(folder), size, sync, args.realtime)
                predicted, reached, mixed = measure(config, args.subframes, args.picture)
                ratio = reached / predicted
                print(f"{size[0]}x{size[1]} {sync:<13}: predicted {predicted:5.1f} fps, "
                      f"reached {reached:5.1f} -> ratio {ratio:.3f} "
                      f"({'meets' if ratio >= TARGET else 'MISSES'} {TARGET:.0%}), "
                      f"mixed rows {mixed:.4f}", flush=True)


if __name__ == "__main__":
    main()
