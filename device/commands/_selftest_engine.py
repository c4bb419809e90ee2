"""`device selftest`'s step 8 and the ExecStopPost part of step 7: the checks that need the
engines and the service's fail-safe, which the rig procedure itself may not import.

Step 8 opens the engine as `device run` does (`trt://` builds or rebuilds it; a TensorRT that
cannot load falls back to ONNX, which here is a failure), renders the triplet just captured
through the viewer's own per-pixel path (the Colorizer: calibration planes resident, the
viewer graph's feeds), then renders the same inputs through the reference, the card's FP32
viewer graph in onnxruntime, and holds the two 8-bit sRGB frames to the FP16 bound `convert`
holds every FP16 form to (device.engines.parity)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from device.engines.engine import ENGINES, OnnxEngine
from device.engines.model_card import load_model_card
from device.engines.parity import FP16_MIN_PSNR_DB, srgb_psnr_db
from device.procedures.selftest import Finding
from device.procedures.selftest.evidence import EngineCheck, StopPostCheck
from device.viewer.colorize import Colorizer
from device.viewer.config import Config
from device.viewer.preprocess import Calibration
from device.viewer.rig import open_engine
from device.viewer.stats import StageTimes
from device.viewer.window import Triplet

Rgb8 = NDArray[np.uint8]


def engine_check(config: Config) -> EngineCheck:
    def check(triplet: Triplet | None) -> tuple[Finding, Rgb8 | None]:
        uri = config.engine.uri
        said: list[str] = []
        t0 = time.monotonic()
        try:
            card = load_model_card(config.model_card_path())
            engine = open_engine(config, card, said.append)
        except Exception as exc:  # noqa: BLE001 - the engine's refusal is this step's finding
            return Finding(False, f"engine.uri '{uri}' did not load: {exc}", {"loaded": False},
                           "check engine.uri and the model beside it (convert --fp16 writes "
                           "the card, the ONNX files and the engine: docs/convert.md)"), None
        load_s = time.monotonic() - t0
        if ENGINES.parse(uri).scheme == "trt" and isinstance(engine, OnnxEngine):
            return Finding(False, f"engine.uri '{uri}' did not load in TensorRT: "
                                  f"{said[-1] if said else 'it fell back to ONNX'}",
                           {"loaded": False},
                           "install JetPack's TensorRT and a CUDA binding (docs/jetson.md, "
                           "TensorRT, onnxruntime and the CUDA bindings), or name an onnx:// "
                           "model in engine.uri"), None
        if triplet is None:
            return Finding(True, f"{engine.name} loaded in {load_s:.1f} s",
                           {"engine": engine.name, "load_s": load_s}), None
        reference = OnnxEngine(card.viewer_graph)
        colorizer = Colorizer(card, engine, _calibration(config), "none",
                              config.preprocess.align_scale, StageTimes(),
                              (config.camera.height, config.camera.width))
        inputs = colorizer.prepare(triplet)
        got = colorizer.render(inputs).rgb
        colorizer.use_engine(reference)
        expected = colorizer.render(inputs).rgb
        itself = getattr(engine, "path", None) == reference.path     # onnx://ckpt.onnx
        return _agreement(engine.name + (" (the reference graph itself)" if itself else ""),
                          reference.path.name, srgb_psnr_db(expected, got), load_s), got
    return check


def _agreement(engine: str, reference: str, psnr: float, load_s: float) -> Finding:
    measured = {"engine": engine, "reference": reference, "psnr_db": psnr,
                "min_psnr_db": FP16_MIN_PSNR_DB, "load_s": load_s}
    said = (f"{engine} gives {psnr:.1f} dB PSNR against {reference} (FP32, onnxruntime) on the "
            f"triplet just captured")
    if psnr >= FP16_MIN_PSNR_DB:
        return Finding(True, f"{said} (at least {FP16_MIN_PSNR_DB:g} dB)", measured)
    return Finding(False, f"{said}, under the {FP16_MIN_PSNR_DB:g} dB convert requires",
                   measured,
                   "the engine computes something else than its model: delete the engine "
                   "file and restart the service to rebuild it on this device (or run "
                   "convert --fp16 here), and check that engine.uri names this model's engine")


def _calibration(config: Config) -> Calibration | None:
    path = config.resolve(config.preprocess.calibration)
    if not path.is_file():
        return None
    return Calibration.load(path, config.strobe.wavelengths,
                            (config.camera.height, config.camera.width))


def execstoppost_check(config_file: Path | None, replaced: bool) -> StopPostCheck:
    """The unit's ExecStopPost, `python -m device.service.failsafe --config FILE`, in a fresh
    process as systemd runs it (after the self-test has released the LED pins)."""
    def check() -> Finding:
        if config_file is None:
            return Finding(None, "ExecStopPost not run: the built-in simulated rig has no "
                                 "config file")
        if replaced:
            return Finding(None, "ExecStopPost not run: --rig sim replaced the config's "
                                 "leds.uri, the pins it would drive")
        command = [sys.executable, "-m", "device.service.failsafe", "--config", str(config_file)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        last = said[-1] if said else "it said nothing"
        measured = {"execstoppost_exit": done.returncode}
        if done.returncode == 0:
            return Finding(True, "the ExecStopPost fail-safe exited 0"
                                 + (f" ({last})" if said else ""), measured)
        return Finding(False, f"the ExecStopPost fail-safe exited {done.returncode}: {last}",
                       measured, "fix what it says: the service runs it after every stop "
                                 "(systemd/nightcolor.service, ExecStopPost)")
    return check
