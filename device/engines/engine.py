"""The engine role: one interface for every inference backend (`Engine`), what a backend is
given (`EngineOptions`), the table of backends by URI scheme (`ENGINES`, filled by
device.viewer.backends), and the two backends: onnxruntime and TensorRT.

An engine runs one ONNX graph (or the TensorRT engine built from it) with named inputs:
`run(feeds) -> outputs`, both {name: array}. Inputs that change rarely (the viewer graph's
calibration planes) are made resident with `set_resident(name, array)`: uploaded once, used by
every later `run` until set again. Recurrent inputs (viewer_io.RECURRENT: the temporal
filter's state) are fed from the previous `run`'s matching output without leaving the device;
`run` takes one only to start over and never returns the output. The viewer runs the model
card's viewer graph (raw sub-frames in, 8-bit sRGB out; see device/engines/viewer_io.py);
`OnnxEngine.infer(nir)` runs a graph with one input and one output, such as the card's network
ONNX (the classic path, the parity checks).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Protocol

import numpy as np
from numpy.typing import NDArray

from device.common.backends import BackendTable
from device.common.errors import UserError
from device.common.uri import Uri
from device.engines import viewer_io
from device.engines.model_card import ModelCard

log = logging.getLogger(__name__)
# Arrays in and out of a graph: float32 inputs (raw planes, scales, warps, the network's nir),
# an 8-bit sRGB frame or the network's float output (FP16 in an FP16 graph).
Array = NDArray[np.uint8] | NDArray[np.float16] | NDArray[np.float32]


class Engine(Protocol):
    """The engine role: a graph with named inputs and outputs."""
    name: str
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def set_resident(self, name: str, array: Array) -> None:
        """Keep `array` as input `name` for every later run (uploaded once)."""

    def run(self, feeds: Mapping[str, Array]) -> dict[str, Array]:
        """The outputs for `feeds` plus the resident and recurrent inputs (recurrent outputs
        stay in the engine)."""


@dataclass(frozen=True)
class EngineOptions:
    """What an engine backend is given besides its URI."""
    card: ModelCard                    # the model: its graphs, wavelengths, files
    resolve: Callable[[str], Path]     # a path in the config, relative to the config file
    status: Callable[[str], None]      # says what the backend did (a rebuild, a fallback)


ENGINES: BackendTable[EngineOptions, Engine] = BackendTable("engine.uri")


class OnnxEngine:
    """onnxruntime, preferring the CUDA execution provider where the build has it.

    Resident inputs live in an IO binding as OrtValues made once (on the GPU where the session
    runs there), so a frame binds only its own inputs. A recurrent pair's two OrtValues swap
    every run: the output bound to one, the input to the other, neither copied to the host."""

    name = "onnxruntime"

    def __init__(self, onnx_path: str | Path, threads: int = 0):
        import onnxruntime as ort

        path = Path(onnx_path)
        if not path.is_file():
            raise UserError(f"{path}: ONNX model not found.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3     # the CPU provider's notes on FP16 Casts are not errors
        # Idle pool threads would otherwise spin for work and starve the strobe thread's timing.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        wanted = ("CUDAExecutionProvider", "CPUExecutionProvider")
        providers = [p for p in wanted if p in ort.get_available_providers()]
        try:
            self._session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise UserError(f"{path}: onnxruntime cannot load it ({exc}).") from None
        self._ort = ort
        self.path = path
        provider = self._session.get_providers()[0]
        self._device = "cuda" if provider == "CUDAExecutionProvider" else "cpu"
        self.name = f"onnxruntime ({provider}, {path.name})"
        self.input_names = tuple(i.name for i in self._session.get_inputs())
        self.output_names = tuple(o.name for o in self._session.get_outputs())
        self._binding = self._session.io_binding()
        self._resident: dict[str, object] = {}      # name -> OrtValue, kept alive here
        self.recurrent = {i: o for i, o in viewer_io.RECURRENT.items()
                          if i in self.input_names and o in self.output_names}
        self._state: dict[str, tuple[object, object]] = {}   # input -> (read next, written)

    def set_resident(self, name: str, array: Array) -> None:
        if name not in self.input_names:
            raise UserError(f"{self.path}: the graph has no input {name!r} "
                            f"(it takes {', '.join(self.input_names)}).")
        value = self._ort.OrtValue.ortvalue_from_numpy(
            np.ascontiguousarray(array, np.float32), self._device, 0)
        self._resident[name] = value
        self._binding.bind_ortvalue_input(name, value)

    def infer(self, nir: Array) -> Array:
        """The single output of a single-input graph (the network: nir -> rgb)."""
        (name,), (out,) = self.input_names, self.output_names
        return self.run({name: nir})[out]

    def run(self, feeds: Mapping[str, Array]) -> dict[str, Array]:
        missing = [n for n in self.input_names
                   if n not in feeds and n not in self._resident and n not in self._state]
        if missing:
            raise UserError(f"{self.path}: no value for input {', '.join(missing)}.")
        if not self._resident and not self.recurrent:   # nothing kept between frames
            outputs = self._session.run(None, {k: np.ascontiguousarray(v)
                                               for k, v in feeds.items()})
            return dict(zip(self.output_names, outputs))
        for name, array in feeds.items():
            if name in self.recurrent:
                self._start_state(name, array)
            else:
                self._binding.bind_cpu_input(name, np.ascontiguousarray(array))
        written_by = {self.recurrent[name]: pair[1] for name, pair in self._state.items()}
        for name, (read, _) in self._state.items():
            self._binding.bind_ortvalue_input(name, read)
        # Always in the graph's order: the binding returns its outputs in the order they were
        # first bound (and a rebinding keeps the place).
        for name in self.output_names:
            if name in written_by:
                self._binding.bind_ortvalue_output(name, written_by[name])
            else:
                self._binding.bind_output(name, "cpu")
        self._session.run_with_iobinding(self._binding)
        self._state = {name: (written, read) for name, (read, written) in self._state.items()}
        values = dict(zip(self.output_names, self._binding.get_outputs()))
        return {name: value.numpy() for name, value in values.items() if name not in written_by}

    def _start_state(self, name: str, array: Array) -> None:
        """Start a recurrent input over from `array`: two OrtValues of its shape, on the
        session's device, the first holding it."""
        # A copy: on the CPU an OrtValue made from a numpy array shares its memory, and the
        # engine writes the next state into it one frame later.
        value = np.array(array, np.float32, copy=True, order="C")
        self._state[name] = (self._ort.OrtValue.ortvalue_from_numpy(value, self._device, 0),
                             self._ort.OrtValue.ortvalue_from_numpy(np.zeros_like(value),
                                                                    self._device, 0))


class TrtEngine:
    """A TensorRT FP16 engine built from the card's viewer graph; rebuilt when stale.

    Runs through `trt_build.EngineRunner` (buffers allocated once per shape, resident inputs
    kept on the device), the runner `convert` checks engines with."""

    name = "TensorRT"

    def __init__(self, engine_path: str | Path, card: ModelCard, status: Callable[[str], None]):
        from device.engines import trt_build

        # One staleness rule for `convert` and the viewer: on TensorRT 10.12+/11 the engine is
        # built from the FP16 ONNX, so comparing it against the FP32 one would rebuild forever.
        def say(line: str) -> None:
            log.info(line)
            status(line)

        engine_path = trt_build.ensure_engine(card, engine_path, log=say)
        self._runner = trt_build.EngineRunner(engine_path, recurrent=viewer_io.RECURRENT)
        self.input_names = tuple(self._runner.input_names)
        self.output_names = tuple(self._runner.output_names)
        wanted = set(viewer_io.input_names(card.wavelengths_nm))
        if set(self.input_names) != wanted or \
                not set(viewer_io.output_names()) <= set(self.output_names):
            raise UserError(f"{engine_path}: not an engine of {card.viewer_graph.name} (its inputs "
                            f"are {', '.join(self.input_names)}); delete it to have it rebuilt.")
        self.name = f"TensorRT ({Path(engine_path).name})"

    def set_resident(self, name: str, array: Array) -> None:
        self._runner.set_resident(name, array)

    def run(self, feeds: Mapping[str, Array]) -> dict[str, Array]:
        return self._runner.run(dict(feeds))


def viewer_onnx(card: ModelCard, named: Path | None = None) -> Path:
    """The viewer graph to run with onnxruntime: the FP16 one where the URI names it, else
    the FP32 one (the CPU runs FP32 faster; a URI naming the network means its viewer graph)."""
    if named is not None and card.viewer_fp16_onnx is not None \
            and named.resolve() == card.viewer_fp16_onnx:
        return card.viewer_fp16_onnx
    return card.viewer_graph


def onnx_fallback(card: ModelCard, status: Callable[[str], None], why: str) -> OnnxEngine:
    """The one fallback: the card's viewer graph in onnxruntime, and `status` says why."""
    engine = OnnxEngine(viewer_onnx(card))
    status(f"{why}; using ONNX {engine.path.name}")
    return engine


def open_onnx_engine(uri: Uri, options: EngineOptions) -> OnnxEngine:
    return OnnxEngine(viewer_onnx(options.card, options.resolve(uri.target)))


def open_trt_engine(uri: Uri, options: EngineOptions) -> Engine:
    try:
        return TrtEngine(options.resolve(uri.target), options.card, options.status)
    except Exception as exc:  # ImportError, TensorRT/CUDA errors, UserError: all fall back
        return onnx_fallback(options.card, options.status, f"TensorRT failed ({exc})")
