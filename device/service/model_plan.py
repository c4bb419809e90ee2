"""What does the configured model need before the service starts? (install.sh asks)

The config names the engine (`trt://.../ckpt.fp16.engine` or `onnx://.../ckpt.onnx`); its card
is `ckpt.json` beside it and the checkpoint it comes from `ckpt.pt`, the names `convert` writes.
Prints three lines for the shell: the checkpoint path, a verdict and why. The verdict is
`missing` (no valid card or ONNX: a model must be brought), `build` (TensorRT is here and the
engine is missing or stale: it is built from the ONNX, no torch needed) or `fresh`.

The config is also checked against this environment: a camera or display that needs OpenCV's
GStreamer backend is refused here, with the same sentence the viewer would say at start.
`--build` builds a stale engine now instead (install time rather than first start).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from device.common.command_line import run_cli
from device.common.errors import UserError


def _config_path(config, text: str, root: Path) -> Path:
    """A path from the config as seen from here: an absolute one lives under the staging tree
    `root` (install.sh --root DESTDIR), a relative one beside the (staged) config file."""
    path = Path(text).expanduser()
    return root / path.relative_to(path.anchor) if path.is_absolute() else config.resolve(text)


def check_environment(config) -> None:
    """Refuse (UserError) a config naming URIs this OpenCV / GStreamer cannot open."""
    from device.viewer.cameras import CAMERAS
    from device.viewer.displays import DISPLAYS
    from device.viewer.gstreamer import gstreamer_refusal, missing_elements

    # Form only: this process does not register sim:// and file:// (see plan()).
    camera = CAMERAS.parse(config.camera.uri, registered=False)
    display = DISPLAYS.parse(config.display.uri, registered=False)
    refusals = [r for r in (gstreamer_refusal("camera.uri", camera),
                            gstreamer_refusal("display.uri", display)) if r]
    if not refusals and display.scheme == "drm" and missing_elements(("kmssink",)):
        refusals.append(f"display.uri '{config.display.uri}' needs GStreamer's kmssink, which "
                        "is not installed; apt-get install gstreamer1.0-plugins-bad")
    if refusals:
        raise UserError(" ".join(f"{config.path}: {r}." for r in refusals))


def plan(config_path: Path, root: Path = Path("/"), build: bool = False) -> tuple[Path, str, str]:
    """(checkpoint, verdict, reason) for the config at `config_path` (already rerooted)."""
    from device.engines.engine import ENGINES
    from device.engines.model_card import load_model_card
    from device.engines.trt_build import (card_engine_source, engine_is_stale, ensure_engine,
                                          installed_tensorrt_version)
    from device.viewer.config import load_config, model_card_beside

    # check_schemes=False: this process does not import device.simulated (the service layer may
    # not), so sim:// and file:// are no schemes here; the viewer checks them at start.
    config = load_config(config_path, check_model=False, check_schemes=False)
    check_environment(config)
    uri = ENGINES.parse(config.engine.uri)
    model = _config_path(config, uri.target, root)
    card_path = (_config_path(config, config.engine.model_card, root)
                 if config.engine.model_card else model_card_beside(model))
    checkpoint = card_path.with_suffix(".pt")
    try:
        card = load_model_card(card_path)
    except UserError as exc:
        return checkpoint, "missing", str(exc)
    if uri.scheme == "onnx":
        if not model.is_file():
            return checkpoint, "missing", f"{model} does not exist"
        return checkpoint, "fresh", f"{card_path.name} and {model.name} are in place"
    trt_version = installed_tensorrt_version()
    if trt_version is None:
        # Not a Jetson: no engine can be built here; the viewer falls back to the card's ONNX.
        return checkpoint, "fresh", "TensorRT is not installed; the viewer will use the ONNX model"
    stale, reason = engine_is_stale(model, card_engine_source(card, trt_version), trt_version)
    if stale and build:
        ensure_engine(card, model)
        return checkpoint, "fresh", f"built {model.name} with TensorRT {trt_version}"
    return checkpoint, "build" if stale else "fresh", reason


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device.service.model_plan",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--root", type=Path, default=Path("/"),
                        help="staging tree the config's absolute paths live under")
    parser.add_argument("--build", action="store_true",
                        help="build a missing or stale TensorRT engine now")
    args = parser.parse_args(argv)

    def work() -> None:
        checkpoint, verdict, reason = plan(args.config, args.root, args.build)
        print(checkpoint)
        print(verdict)
        print(" ".join(reason.splitlines()))
    return run_cli("model_plan", work)


if __name__ == "__main__":
    sys.exit(main())
