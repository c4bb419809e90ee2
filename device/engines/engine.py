"""One interface for every inference backend, and the URI that picks one.

`Engine.infer(nir)` takes N x C x H x W float32 already scaled to the network's input range
(the model card's `from_reflectance`) and returns N x 3 x H x W float32 in its output range.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from device.common.errors import UserError
from device.engines.model_card import ModelCard
from device.common.uri import Uri
from device.engines.engine_backends import ENGINES

log = logging.getLogger(__name__)


class Engine:
    name = "engine"

    def infer(self, nir: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class OnnxEngine(Engine):
    """onnxruntime, preferring TensorRT / CUDA execution providers where the build has them."""

    name = "onnxruntime"

    def __init__(self, onnx_path: str | Path, card: ModelCard, threads: int = 0):
        import onnxruntime as ort

        path = Path(onnx_path)
        if not path.is_file():
            raise UserError(f"{path}: ONNX model not found.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle pool threads would otherwise spin for work and starve the strobe thread's timing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        wanted = ("CUDAExecutionProvider", "CPUExecutionProvider")
        providers = [p for p in wanted if p in ort.get_available_providers()]
        try:
            self._session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise UserError(f"{path}: onnxruntime cannot load it ({exc}).") from None
        self._input = card.input_name
        self.name = f"onnxruntime ({self._session.get_providers()[0]})"

    def infer(self, nir: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: np.ascontiguousarray(nir, np.float32)})[0]


class TrtEngine(Engine):
    """A TensorRT FP16 engine; rebuilt from the ONNX beside it when stale."""

    name = "TensorRT"

    def __init__(self, engine_path: str | Path, card: ModelCard, status: Callable[[str], None]):
        from device.engines import trt_build

        # One staleness rule for `convert` and the viewer: on TensorRT 10.12+/11 the engine is
        # built from the FP16 ONNX, so comparing it against the FP32 one would rebuild forever.
        engine_path = trt_build.ensure_engine(
            card, engine_path, log=lambda line: (log.info(line), status(line)))
        self._runner = trt_build.EngineRunner(engine_path)

    def infer(self, nir: np.ndarray) -> np.ndarray:
        return self._runner.infer(nir)


def open_engine(uri_text: str, card: ModelCard, resolve: Callable[[str], Path],
                status: Callable[[str], None]) -> Engine:
    """The engine the URI names; a TensorRT engine that cannot load falls back to the card's
    ONNX through onnxruntime, and `status` says so."""
    return ENGINES.open(uri_text, card, resolve, status)


def open_onnx_engine(uri: Uri, card: ModelCard, resolve: Callable[[str], Path],
                     status: Callable[[str], None]) -> Engine:
    return OnnxEngine(resolve(uri.target), card)


def open_trt_engine(uri: Uri, card: ModelCard, resolve: Callable[[str], Path],
                    status: Callable[[str], None]) -> Engine:
    try:
        return TrtEngine(resolve(uri.target), card, status)
    except Exception as exc:  # ImportError, TensorRT/CUDA errors, UserError: all fall back
        status(f"TensorRT failed ({exc}); using ONNX {card.onnx.name}")
        return OnnxEngine(card.onnx, card)
