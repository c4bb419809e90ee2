"""`device demo --camera PROFILE [--sync MODE] [--strobe-output]`: the demo's simulated camera
given a real camera's shutter, line time and strobe timing, and the JSON fields that say how
clean its sub-frames were (`mixed_rows`) and how fast they came (`fps`, `predicted_fps`)."""
from __future__ import annotations

import argparse
import dataclasses

from device.simulated.row_light import RowLightMeter
from device.viewer.camera_profiles import PROFILES
from device.viewer.config import Config
from device.viewer.exposure_plan import plan_exposure
from device.viewer.strobe import STROBE_TIMINGS


def add_camera_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--camera", choices=tuple(PROFILES), default=None,
                   help="simulate this camera's shutter, line time and strobe timing "
                        "(docs/cameras.md); default: a triggered global shutter")
    p.add_argument("--sync", choices=tuple(STROBE_TIMINGS), default=None,
                   help="the strobe timing (default: the camera's, else trigger); a timing the "
                        "camera cannot do runs anyway, to show what goes wrong")
    p.add_argument("--strobe-output", action="store_true",
                   help="give the simulated camera a strobe output wired to the LED driver "
                        "(for --sync sensor-strobe on a camera without one)")
    p.add_argument("--realtime", action="store_true",
                   help="run the strobe thread at SCHED_FIFO, as the example configs do on the "
                        "device (needs CAP_SYS_NICE; else it says so and carries on)")


def with_camera(config: Config, args: argparse.Namespace) -> Config:
    """The demo's config with the camera of --camera / --sync / --strobe-output."""
    camera, sync = config.camera, config.strobe.sync
    if args.camera is not None:
        profile = PROFILES[args.camera]
        camera, sync = dataclasses.replace(camera, profile=profile.name), profile.default_sync
    if args.strobe_output:   # the profile's figures spelled out, with a strobe output
        timing = plan_exposure(camera, config.strobe).timing
        camera = dataclasses.replace(camera, profile="", shutter=timing.shutter,
                                     line_time_us=timing.line_time_s * 1e6,
                                     trigger_input=timing.trigger_input, strobe_output=True)
    if args.sync is not None:
        sync = args.sync
    return dataclasses.replace(config, camera=camera, strobe=dataclasses.replace(
        config.strobe, sync=sync, realtime=config.strobe.realtime or args.realtime))


def camera_fields(config: Config, meter: RowLightMeter,
                  until: float = float("inf")) -> dict[str, object]:
    """What --json reports of the camera and its timing, over the sub-frames exposed by
    `until` (when the last colour frame was shown): `mixed_rows`, the share of their rows with
    more than 0.1 % of their LED light from another LED (or none from theirs); `fps`, kept
    sub-frames per second on the camera's clock, and what the timing rule predicts."""
    plan = plan_exposure(config.camera, config.strobe)
    return {"camera": config.camera.profile or plan.timing.name, "shutter": plan.timing.shutter,
            "sync": config.strobe.sync, "mixed_rows": round(meter.mixed_share(until), 6),
            "row_light_spread": round(meter.spread(until), 6),
            "fps": round(meter.fps(until), 2), "predicted_fps": round(plan.fps, 2),
            "subframes_measured": len(meter.kept(until)),
            "timing_problems": list(plan.problems)}
