"""The `--config FILE [--rig sim]` pair that `device run` and `device calibrate` share."""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from device.viewer.config import Config, LedConfig, load_config


def add_rig_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the viewer's TOML config")
    parser.add_argument("--rig", choices=("sim",), default=None,
                        help="use the simulated camera and LEDs whatever the config says")


def with_sim_rig(config: Config) -> Config:
    """The same config with the simulated camera and LEDs (`--rig sim`); a camera or bank that
    is simulated already keeps its URI (and the faults it may inject)."""
    camera = config.camera.uri if config.camera.uri.startswith("sim://") else "sim://"
    leds = config.leds.uri if config.leds.uri.startswith("sim://") else "sim://"
    return dataclasses.replace(config, camera=dataclasses.replace(config.camera, uri=camera),
                               leds=LedConfig(uri=leds))


def load_rig_config(args: argparse.Namespace, check_model: bool = True) -> Config:
    config = load_config(args.config, check_model=check_model)
    return with_sim_rig(config) if args.rig == "sim" else config
