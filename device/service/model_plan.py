"""Does the configured model need `convert --fp16` before the service starts? (install.sh asks)

The config names the engine (`trt://.../ckpt.fp16.engine` or `onnx://.../ckpt.onnx`); the
checkpoint it comes from is `ckpt.pt` in the same folder, the name `convert` writes beside.
Prints three lines for the shell: the checkpoint path, `convert` or `fresh`, and why.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from device.common.errors import UserError


def _config_path(config, text: str, root: Path) -> Path:
    """A path from the config as seen from here: an absolute one lives under the staging tree
    `root` (install.sh --root DESTDIR), a relative one beside the (staged) config file."""
    path = Path(text).expanduser()
    return root / path.relative_to(path.anchor) if path.is_absolute() else config.resolve(text)


def plan(config_path: Path, root: Path = Path("/")) -> tuple[Path, bool, str]:
    """(checkpoint, needs_convert, reason) for the config at `config_path` (already rerooted)."""
    from device.engines.model_card import load_model_card
    from device.engines.engine_backends import ENGINES
    from device.engines.trt_build import (card_engine_source, engine_is_stale,
                                          installed_tensorrt_version)
    from device.viewer.config import load_config, model_card_beside

    config = load_config(config_path, check_model=False)
    uri = ENGINES.parse(config.engine.uri)
    model = _config_path(config, uri.target, root)
    card_path = (_config_path(config, config.engine.model_card, root)
                 if config.engine.model_card else model_card_beside(model))
    checkpoint = card_path.with_suffix(".pt")
    try:
        card = load_model_card(card_path)
    except UserError as exc:
        return checkpoint, True, str(exc)
    if uri.scheme == "onnx":
        if not model.is_file():
            return checkpoint, True, f"{model} does not exist"
        return checkpoint, False, f"{card_path.name} and {model.name} are in place"
    trt_version = installed_tensorrt_version()
    if trt_version is None:
        # Not a Jetson: no engine can be built here; the viewer falls back to the card's ONNX.
        return checkpoint, False, "TensorRT is not installed; the viewer will use the ONNX model"
    stale, reason = engine_is_stale(model, card_engine_source(card, trt_version), trt_version)
    return checkpoint, stale, reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device.service.model_plan",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path("/"),
                        help="staging tree the config's absolute paths live under")
    args = parser.parse_args(argv)
    try:
        checkpoint, needed, reason = plan(args.config, args.root)
    except UserError as exc:
        print(f"model_plan: error: {exc}", file=sys.stderr)
        return 2
    print(checkpoint)
    print("convert" if needed else "fresh")
    print(" ".join(reason.splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
