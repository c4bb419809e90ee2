"""The `--config FILE [--rig sim]` pair that `device run` and `device calibrate` share."""
from __future__ import annotations

from pathlib import Path

from device.viewer.config import Config, load_config


def add_rig_config_arguments(parser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="the viewer's TOML config")
    parser.add_argument("--rig", choices=("sim",), default=None,
                        help="use the simulated camera and LEDs whatever the config says")


def load_rig_config(args, check_model: bool = True) -> Config:
    config = load_config(args.config, check_model=check_model)
    return config.with_sim_rig() if args.rig == "sim" else config
