"""`train`: fit, evaluate and ablate models on capture sets. Each sub-command's module exposes
`register(subparsers)`; this module only assembles and dispatches them."""
from __future__ import annotations

import argparse
import importlib
import sys

from device.common.command_line import run_cli

COMMANDS = ("fit", "evaluate", "ablate", "families")   # modules; `evaluate` registers `eval`


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train", description="nightcolor training: fit, eval and ablate models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"train.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_cli("train", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
