"""`device`: the viewer's command line. Each sub-command lives in `device/commands/<name>.py`
and exposes `register(subparsers)`; this module only discovers and dispatches them. Every
command offers the simulated rig, so its backends are registered here, before any parser or
config is built."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import device.simulated  # noqa: F401  registers the simulated rig (sim://, file://)
from device.common.command_line import run_cli


def build_parser() -> argparse.ArgumentParser:
    import device.commands as commands

    parser = argparse.ArgumentParser(
        prog="device", description="nightcolor viewer and rig: run, capture, calibrate, simulate.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):      # shared helpers, not sub-commands
            continue
        importlib.import_module(f"device.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli("device", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
