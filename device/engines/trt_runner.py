"""Run a built TensorRT engine in a live loop: buffers allocated once, one CUDA stream, copies
and inference queued asynchronously. One runner serves `convert`'s parity check and the viewer.

- Buffers: each I/O tensor gets a host buffer (and, on a discrete GPU, a device buffer) the
  first time it is used, sized for its shape; a later frame reuses it, and a dynamic shape
  that needs more bytes re-allocates that tensor once. Nothing is allocated per frame (each slot
  keeps one CUDA event, re-recorded every frame).
- Memory kind (see device.engines.cuda_buffers): mapped zero-copy host memory where the GPU is
  integrated (Jetson), pinned host memory + device memory + async copies otherwise.
- Resident inputs (`set_resident`: the calibration's dark and gain planes) are uploaded once
  and stay on the device until set again.
- Recurrent pairs (`recurrent={input: output}`: the viewer graph's temporal filter state) live
  in two device buffers that swap roles every frame: frame N reads A and writes B, frame N+1
  reads B and writes A. Nothing is copied to or from the host; one stream runs the frames in
  order, so frame N+1's kernels read B only after frame N wrote it, even with both in flight.
  A feed of the input (zeros, to start over) is uploaded once into the buffer read next, after
  the frames in flight have finished.
- One stream. `submit()` stages a frame and queues upload, inference and download, then
  returns; `collect()` waits for the oldest frame. Two slots of buffers (double buffering) let
  the caller stage frame N+1 while the GPU still works on frame N:
  - discrete GPU: the CPU's part of an upload (writing the frame into pinned memory, queueing
    the copy) overlaps frame N's inference; the DMA itself queues behind it on the one stream.
    A second stream would overlap the DMA too, but a 720p frame is ~5.5 MB, about 0.5 ms over
    PCIe: not worth a second stream's synchronisation.
  - integrated GPU: mapped memory needs no copy, so there is nothing to overlap but the CPU's
    own writes, and that is exactly why the second slot is needed: the kernels of frame N read
    slot A in place while the CPU writes frame N+1 into slot B. With one slot the CPU would have
    to wait for frame N to finish before touching the buffer.
  `run()` (submit + collect) is the synchronous form, and what the parity check uses.
- Two execution APIs: TensorRT 10 and 11 (JetPack 6, 7) only have the name-based one:
  `set_input_shape`, `set_tensor_address`, `execute_async_v3(stream)`. TensorRT 8.5 (JetPack 5)
  gets the binding-index API it was written for: `set_binding_shape` and
  `execute_async_v2(bindings, stream)` (8.5 also introduced the name-based calls, but the
  bindings path is its long-standing one; TensorRT 10 removed it: TensorRT migration guide,
  "Migrating from enqueueV2 to enqueueV3").
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from device.common.errors import UserError
from device.engines.cuda_buffers import DeviceBuffer, HostBuffer, cuda_memory

NAME_BASED_API_SINCE = 10   # TensorRT major version that removed execute_async_v2 / bindings
SLOTS = 2                   # frames that may be in flight (double buffering)


@dataclass
class _Tensor:
    """One I/O tensor's buffers: host memory (mapped or pinned) and, on a discrete GPU, device
    memory. `capacity` bytes are allocated; the current shape may use fewer."""

    host: HostBuffer | None = None
    device: DeviceBuffer | None = None
    shape: tuple[int, ...] = ()

    @property
    def capacity(self) -> int:
        return self.host.nbytes if self.host is not None else 0

    def device_ptr(self) -> int:
        if self.device is not None:
            return self.device.ptr
        if self.host is None or self.host.device_ptr is None:
            raise RuntimeError("tensor has neither device memory nor mapped host memory")
        return self.host.device_ptr


@dataclass
class _Slot:
    """One frame's worth of buffers (inputs fed per frame, and outputs) and the event that
    marks the frame's last queued operation."""

    tensors: dict[str, _Tensor] = field(default_factory=dict)
    event: object = None


class EngineRunner:
    """A deserialised engine, its execution context, one stream and the buffers it keeps."""

    def __init__(self, engine_path: str | Path, *, slots: int = SLOTS,
                 recurrent: Mapping[str, str] | None = None):
        import tensorrt as trt

        # The version first: a refusal here leaves no CUDA stream behind.
        leading = re.match(r"\d+", trt.__version__)
        if leading is None:
            raise UserError(f"TensorRT reports a version without a number: {trt.__version__!r}.")
        self._cuda = cuda_memory()
        self.mapped = self._cuda.integrated
        runtime = trt.Runtime(trt.Logger(trt.Logger.WARNING))
        self.engine = runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
        if self.engine is None:
            self._cuda.close()
            raise UserError(f"{engine_path}: TensorRT {trt.__version__} cannot load this engine; "
                            f"rebuild it with convert.")
        self.context = self.engine.create_execution_context()
        major = int(leading.group())
        self._bindings = major < NAME_BASED_API_SINCE
        self._index: dict[str, int] = {}
        if self._bindings:
            names = [self.engine.get_binding_name(i) for i in range(self.engine.num_bindings)]
            self._index = {n: i for i, n in enumerate(names)}
            inputs = [n for n in names if self.engine.binding_is_input(self._index[n])]
            dtypes = {n: self.engine.get_binding_dtype(self._index[n]) for n in names}
        else:
            names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
            inputs = [n for n in names
                      if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
            dtypes = {n: self.engine.get_tensor_dtype(n) for n in names}
        self._dtypes = {n: np.dtype(trt.nptype(d)) for n, d in dtypes.items()}
        self.input_names = inputs
        self.output_names = [n for n in names if n not in inputs]
        self._all_names = names
        self._slots = [_Slot() for _ in range(slots)]
        self._next = 0
        self._pending: deque[int] = deque()
        self._resident: dict[str, _Tensor] = {}
        # input -> output of each recurrent pair, both in the engine; their two buffers and
        # which of them the next frame reads
        self.recurrent = {i: o for i, o in (recurrent or {}).items()
                          if i in inputs and o in self.output_names}
        self._state: dict[str, tuple[_Tensor, _Tensor]] = {}
        self._reads: dict[str, int] = {}
        self._closed = False

    # -- buffers ---------------------------------------------------------------------------

    def _ensure(self, tensor: _Tensor, shape: tuple[int, ...], dtype: np.dtype) -> _Tensor:
        """Make `tensor` hold `shape`: re-allocate only when it needs more bytes than it has."""
        nbytes = max(1, int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        if nbytes > tensor.capacity:
            self._free(tensor)
            tensor.host = self._cuda.alloc_host(nbytes, mapped=self.mapped)
            if not self.mapped:
                tensor.device = self._cuda.alloc_device(nbytes)
        tensor.shape = tuple(shape)
        return tensor

    def _free(self, tensor: _Tensor) -> None:
        if tensor.host is not None:
            self._cuda.free_host(tensor.host)
        if tensor.device is not None:
            self._cuda.free_device(tensor.device)
        tensor.host = tensor.device = None

    def _view(self, tensor: _Tensor, name: str) -> np.ndarray:
        dtype = self._dtypes[name]
        count = int(np.prod(tensor.shape, dtype=np.int64))
        if tensor.host is None:
            raise RuntimeError(f"{name}: no host buffer allocated")
        return tensor.host.array[:count * dtype.itemsize].view(dtype).reshape(tensor.shape)

    def _stage(self, tensor: _Tensor, name: str, array: np.ndarray) -> None:
        """Write `array` into the tensor's host buffer (casting to the engine's dtype) and, on
        a discrete GPU, queue its upload."""
        view = self._view(tensor, name)
        try:
            np.copyto(view, array, casting="same_kind")
        except TypeError:
            raise UserError(f"input '{name}': the engine takes {self._dtypes[name]}, "
                            f"not {array.dtype}.") from None
        if not self.mapped:
            self._cuda.copy_to_device(tensor.device, view)

    # -- public API --------------------------------------------------------------------------

    def set_resident(self, name: str, array: np.ndarray) -> None:
        """Upload an input once and keep it on the device for every frame until set again
        (the calibration planes): recalibrating needs no rebuild and no per-frame copy."""
        self._check_open()
        if name not in self.input_names:
            raise UserError(f"'{name}' is not an input of this engine "
                            f"(inputs: {', '.join(self.input_names)}).")
        # Frames in flight may still read the old values: let them finish first.
        self._cuda.synchronize()
        tensor = self._ensure(self._resident.setdefault(name, _Tensor()),
                              tuple(np.shape(array)), self._dtypes[name])
        self._stage(tensor, name, np.asarray(array))

    def submit(self, feeds: dict[str, np.ndarray]) -> None:
        """Stage one frame's inputs and queue upload, inference and download on the stream;
        returns without waiting. At most `slots` frames may be in flight before `collect()`."""
        self._check_open()
        missing = [n for n in self.input_names
                   if n not in feeds and n not in self._resident and n not in self._state]
        unknown = [n for n in feeds if n not in self.input_names]
        if missing or unknown:
            raise UserError(f"engine inputs are {', '.join(self.input_names)}; "
                            + (f"missing {', '.join(missing)}" if missing else
                               f"unknown {', '.join(unknown)}") + ".")
        if len(self._pending) == len(self._slots):
            raise RuntimeError("collect() a frame before submitting more than "
                               f"{len(self._slots)}")
        index = self._next
        self._next = (self._next + 1) % len(self._slots)
        slot = self._slots[index]

        state = self._recurrent_tensors(feeds)
        feeds = {n: a for n, a in feeds.items() if n not in self.recurrent}
        shapes = {n: tuple(np.shape(a)) for n, a in feeds.items()}
        shapes.update({n: t.shape for n, t in self._resident.items() if n not in feeds})
        shapes.update({n: t.shape for n, t in state.items() if n in self.recurrent})
        for name in self.input_names:
            self._set_shape(name, shapes[name])
        for name, output in self.recurrent.items():
            if self._output_shape(output) != state[output].shape:
                raise UserError(f"'{output}' comes out {self._output_shape(output)} but "
                                f"'{name}' is {state[name].shape}: feed '{name}' again.")
        for name, array in feeds.items():
            tensor = self._ensure(slot.tensors.setdefault(name, _Tensor()), shapes[name],
                                  self._dtypes[name])
            self._stage(tensor, name, np.asarray(array))
        for name in self._downloaded():
            self._ensure(slot.tensors.setdefault(name, _Tensor()), self._output_shape(name),
                         self._dtypes[name])
        tensors = {**{n: t for n, t in self._resident.items() if n not in feeds}, **slot.tensors,
                   **state}
        self._execute({n: tensors[n] for n in self._all_names})
        self._reads = {n: 1 - i for n, i in self._reads.items()}   # the next frame reads B
        if not self.mapped:
            for name in self._downloaded():
                tensor = slot.tensors[name]
                self._cuda.copy_to_host(self._view(tensor, name), tensor.device)
        if slot.event is None:            # one event per slot, re-recorded every frame
            slot.event = self._cuda.new_event()
        self._cuda.record(slot.event)
        self._pending.append(index)

    def collect(self) -> dict[str, np.ndarray]:
        """Wait for the oldest submitted frame; its outputs, copied out of the runner's buffers
        (which the next frames reuse)."""
        self._check_open()
        if not self._pending:
            raise RuntimeError("collect() without a submitted frame")
        slot = self._slots[self._pending.popleft()]
        self._cuda.wait(slot.event)
        return {n: self._view(slot.tensors[n], n).copy() for n in self._downloaded()}

    def _downloaded(self) -> list[str]:
        """The outputs that go back to the host: all but the recurrent ones."""
        recurrent = set(self.recurrent.values())
        return [n for n in self.output_names if n not in recurrent]

    def _recurrent_tensors(self, feeds: Mapping[str, np.ndarray]) -> dict[str, _Tensor]:
        """Each recurrent input's buffer for this frame and its output's (the other one); a
        fed value is uploaded into the buffer read, once the frames in flight are done."""
        tensors = {}
        for name, output in self.recurrent.items():
            if name in feeds:
                array = np.asarray(feeds[name])
                self._cuda.synchronize()
                pair = self._state.get(name, (_Tensor(), _Tensor()))
                for tensor in pair:
                    self._ensure(tensor, array.shape, self._dtypes[name])
                self._state[name], self._reads[name] = pair, 0
                self._stage(pair[0], name, array)
            pair, reads = self._state[name], self._reads[name]
            tensors[name], tensors[output] = pair[reads], pair[1 - reads]
        return tensors

    def run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One frame, synchronously: outputs by name, in the dtypes the engine declares."""
        self.submit(feeds)
        return self.collect()

    def close(self) -> None:
        """Wait for the stream, free every buffer, release the context and the engine."""
        if self._closed:
            return
        self._closed = True
        self._cuda.synchronize()
        for tensor in [*self._resident.values(),
                       *(t for slot in self._slots for t in slot.tensors.values()),
                       *(t for pair in self._state.values() for t in pair)]:
            self._free(tensor)
        self._resident.clear()
        self._state.clear()
        for slot in self._slots:
            slot.tensors.clear()
            if slot.event is not None:
                self._cuda.free_event(slot.event)
                slot.event = None
        self._pending.clear()
        self._cuda.close()
        # TensorRT 10 removed destroy(); dropping the last reference frees the objects.
        self.context = self.engine = None

    def __enter__(self) -> "EngineRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the two execution APIs ----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the engine runner is closed")

    def _set_shape(self, name: str, shape: tuple[int, ...]) -> None:
        ok = (self.context.set_binding_shape(self._index[name], shape) if self._bindings
              else self.context.set_input_shape(name, shape))
        if ok is False:
            raise UserError(f"input '{name}' of shape {'x'.join(map(str, shape))} is outside the "
                            f"engine's optimisation profile; rebuild it with convert's shapes.")

    def _output_shape(self, name: str) -> tuple[int, ...]:
        dims = (self.context.get_binding_shape(self._index[name]) if self._bindings
                else self.context.get_tensor_shape(name))
        return tuple(int(d) for d in dims)

    def _execute(self, tensors: dict[str, _Tensor]) -> None:
        stream = self._cuda.stream_handle
        if self._bindings:
            bindings = [tensors[n].device_ptr() for n in self._all_names]
            ok = self.context.execute_async_v2(bindings, stream)
        else:
            # Each tensor is its own allocation (cudaMalloc: 256-byte aligned, cudaHostAlloc:
            # page aligned), which meets set_tensor_address's 256-byte alignment rule.
            ok = all(self.context.set_tensor_address(name, tensor.device_ptr())
                     for name, tensor in tensors.items()) and \
                self.context.execute_async_v3(stream)
        if not ok:
            raise UserError("TensorRT failed to run the engine (see its messages above).")
