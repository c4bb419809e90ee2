"""Stand-ins for TensorRT, pycuda and cuda-python, installed as `sys.modules` entries so the
engine runner's own lazy imports load them. They follow the documented APIs: the same names,
signatures and return conventions (cuda-python returns `(cudaError_t, value...)` tuples; pycuda
returns objects and raises), and they behave like the real thing where the runner depends on it:

- one simulated GPU (`FakeGpu`) owns device memory at addresses the host cannot dereference,
  page-locked host memory at real host addresses, and mapped aliases of it;
- work queued on a stream (copies, inference) runs only when an event or the stream is
  synchronised, so reading an output too early, or overwriting a buffer a queued frame still
  needs, gives wrong numbers;
- the "engine" is a small ONNX graph run by onnxruntime, so outputs can be checked;
- every allocation, free, copy and launch is logged.

Faithful to: TensorRT Python API (Runtime.deserialize_cuda_engine, ICudaEngine.num_io_tensors /
get_tensor_name / get_tensor_mode / get_tensor_dtype / get_tensor_shape /
get_tensor_profile_shape, IExecutionContext.set_input_shape / get_tensor_shape /
set_tensor_address / execute_async_v3; TensorRT 8.5 also num_bindings / get_binding_name /
binding_is_input / get_binding_dtype / get_profile_shape / set_binding_shape /
get_binding_shape / execute_async_v2(bindings, stream_handle); TensorRT 10 removed those);
cuda-python's runtime module; pycuda.driver.

As strict as the real thing where the runner must handle a refusal:
- Optimisation profiles. An engine built from a network with dynamic dimensions accepts only
  shapes between its profile's min and max ("A runtime error will be raised if the input tensor
  dimensions fall outside the valid range for this profile": TensorRT API, IOptimizationProfile,
  8.5 and 10.x). The context refuses such a shape by returning False, logs an error and keeps
  the shape it had: IExecutionContext::setBindingDimensions (8.5) "returns false if an error
  occurs (e.g. ... binding dimension is inconsistent with min-max range of the optimization
  profile)"; setInputShape (10.x) returns false on error; TensorRT logs "Error Code 3: API Usage
  Error (Parameter check failed ... condition: profileMaxDims.d[i] >= dimensions.d[i])". The
  profile is read back with get_tensor_profile_shape(name, profile) (8.5, 10.x) or
  get_profile_shape(profile, binding) (8.5), each [min, opt, max].
- execute_async_v2 / execute_async_v3 return False when they cannot enqueue ("True if the
  kernels were enqueued successfully", IExecutionContext in the Python API of 8.5 and 10.x):
  here when an input shape or a tensor address is missing, or when the test injects a failure
  (`gpu.fail_execute`, standing for an enqueue error TensorRT only logs).
"""
from __future__ import annotations

import ctypes
import enum
import importlib.abc
import importlib.util
import json
import sys
import types

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

# ---------------------------------------------------------------------------------------------
# The simulated GPU


class FakeGpu:
    """Memory, streams and a log of every CUDA call, shared by the CUDA and TensorRT stand-ins."""

    DEVICE_BASE = 0x7F00_0000_0000   # device addresses: never valid host addresses here

    def __init__(self, integrated: bool, present: bool = True, can_map: bool = True,
                 device_memory: int | None = None):
        self.integrated = integrated
        self.present = present          # False: no CUDA-capable device (cuInit fails)
        self.can_map = can_map          # cudaDevAttrCanMapHostMemory
        self.device_memory = device_memory   # bytes cudaMalloc may hand out; None: no limit
        self.events = set()   # live cuda-python events (cudaEventCreate .. cudaEventDestroy)
        self.device = {}      # device address -> uint8 array (cudaMalloc or mapped alias)
        self.pinned = {}      # host address -> uint8 array (page-locked allocations)
        self.mapped = {}      # host address -> device alias address
        self.queues = {}      # stream handle -> list of pending callables
        self.log = []         # (operation, details...)
        self.fail_execute = False   # the next execute_async_* returns False (an enqueue error)
        self.fail_build = False     # the next build_serialized_network returns None
        self._next = self.DEVICE_BASE
        self._streams = 0

    # memory
    def _device_address(self, nbytes: int) -> int:
        """64 KiB-aligned, like the driver's allocations (and so 256-byte aligned)."""
        address = self._next
        self._next += (nbytes + 0xFFFF) & ~0xFFFF
        return address

    def out_of_memory(self, nbytes: int) -> bool:
        used = sum(a.nbytes for base, a in self.device.items() if base not in self.mapped.values())
        return self.device_memory is not None and used + nbytes > self.device_memory

    def malloc(self, nbytes: int) -> int:
        address = self._device_address(nbytes)
        self.device[address] = np.zeros(nbytes, np.uint8)
        self.log.append(("alloc_device", nbytes))
        return address

    def free(self, address: int) -> None:
        del self.device[address]
        self.log.append(("free_device", address))

    def host_alloc(self, storage: np.ndarray, mapped: bool) -> int:
        host = storage.ctypes.data
        self.pinned[host] = storage
        if mapped:
            alias = self._device_address(storage.nbytes)
            self.device[alias] = storage.reshape(-1).view(np.uint8)
            self.mapped[host] = alias
        self.log.append(("alloc_host", storage.nbytes, mapped))
        return host

    def host_free(self, host: int) -> None:
        del self.pinned[host]
        alias = self.mapped.pop(host, None)
        if alias is not None:
            del self.device[alias]
        self.log.append(("free_host", host))

    def device_view(self, address: int, nbytes: int) -> np.ndarray:
        for base, storage in self.device.items():
            if base <= address and address + nbytes <= base + storage.nbytes:
                return storage[address - base:address - base + nbytes]
        raise AssertionError(f"no device allocation holds {nbytes} bytes at {address:#x}")

    def is_pinned(self, host: int, nbytes: int) -> bool:
        return any(base <= host and host + nbytes <= base + a.nbytes
                   for base, a in self.pinned.items())

    @staticmethod
    def host_view(host: int, nbytes: int) -> np.ndarray:
        return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(host))

    # streams: queued work runs at synchronisation, in order
    def new_stream(self) -> int:
        self._streams += 1
        handle = 0x5000 + self._streams
        self.queues[handle] = []
        return handle

    def destroy_stream(self, handle: int) -> None:
        self.synchronize(handle)
        del self.queues[handle]

    def enqueue(self, handle: int, work) -> None:
        self.queues[handle].append(work)

    def synchronize(self, handle: int, until=None) -> None:
        queue = self.queues[handle]
        while queue:
            work = queue.pop(0)
            work()
            if until is not None and until():
                return

    def memcpy_h2d(self, device: int, host: int, nbytes: int, stream: int) -> None:
        self.log.append(("copy_h2d", nbytes, self.is_pinned(host, nbytes)))
        self.enqueue(stream, lambda: self.device_view(device, nbytes).__setitem__(
            slice(None), self.host_view(host, nbytes)))

    def memcpy_d2h(self, host: int, device: int, nbytes: int, stream: int) -> None:
        self.log.append(("copy_d2h", nbytes, self.is_pinned(host, nbytes)))
        self.enqueue(stream, lambda: self.host_view(host, nbytes).__setitem__(
            slice(None), self.device_view(device, nbytes)))

    # what the tests read
    def count(self, operation: str) -> int:
        return sum(1 for entry in self.log if entry[0] == operation)

    def live(self) -> int:
        return len(self.device) + len(self.pinned)


class _Event:
    def __init__(self):
        self.done = False


# ---------------------------------------------------------------------------------------------
# cuda-python (cuda.bindings.runtime; cuda.cudart before 12.6)


def make_cudart(gpu: FakeGpu) -> types.ModuleType:
    rt = types.ModuleType("cuda.bindings.runtime")

    class cudaError_t(enum.IntEnum):
        cudaSuccess = 0
        cudaErrorInvalidValue = 1
        cudaErrorMemoryAllocation = 2
        cudaErrorNoDevice = 100
        cudaErrorInvalidResourceHandle = 400

    # cudaGetErrorString's descriptions (CUDA runtime API, cudaError enum)
    descriptions = {0: b"no error", 1: b"invalid argument", 2: b"out of memory",
                    100: b"no CUDA-capable device is detected",
                    400: b"invalid resource handle"}

    class cudaDeviceAttr(enum.IntEnum):
        cudaDevAttrIntegrated = 18
        cudaDevAttrCanMapHostMemory = 19

    class cudaMemcpyKind(enum.IntEnum):
        cudaMemcpyHostToHost = 0
        cudaMemcpyHostToDevice = 1
        cudaMemcpyDeviceToHost = 2
        cudaMemcpyDeviceToDevice = 3

    class cudaStream_t:
        def __init__(self, handle):
            self._handle = handle

        def __int__(self):
            return self._handle

    class cudaEvent_t(_Event):
        pass

    ok = cudaError_t.cudaSuccess
    rt.cudaError_t, rt.cudaDeviceAttr = cudaError_t, cudaDeviceAttr
    rt.cudaMemcpyKind = cudaMemcpyKind
    rt.cudaStream_t, rt.cudaEvent_t = cudaStream_t, cudaEvent_t
    rt.cudaHostAllocDefault, rt.cudaHostAllocPortable = 0, 1
    rt.cudaHostAllocMapped, rt.cudaHostAllocWriteCombined = 2, 4

    # The bindings are Cython with typed arguments: a wrong type raises TypeError.
    def typed(value, kind, name):
        if not isinstance(value, kind):
            raise TypeError(f"Argument '{name}' has incorrect type (expected {kind.__name__}, "
                            f"got {type(value).__name__})")

    def cudaGetErrorString(error):
        typed(error, cudaError_t, "error")
        return ok, descriptions[int(error)]
    rt.cudaGetErrorString = cudaGetErrorString
    rt.cudaGetDevice = lambda: (ok, 0) if gpu.present else (cudaError_t.cudaErrorNoDevice, None)

    def cudaDeviceGetAttribute(attr, device):
        typed(attr, cudaDeviceAttr, "attr")
        typed(device, int, "device")
        if attr == cudaDeviceAttr.cudaDevAttrIntegrated:
            return ok, int(gpu.integrated)
        return ok, int(gpu.can_map)
    rt.cudaDeviceGetAttribute = cudaDeviceGetAttribute

    rt.cudaStreamCreate = lambda: (ok, cudaStream_t(gpu.new_stream()))

    def cudaStreamSynchronize(stream):
        gpu.synchronize(int(stream))
        return (ok,)
    rt.cudaStreamSynchronize = cudaStreamSynchronize

    def cudaStreamDestroy(stream):
        gpu.destroy_stream(int(stream))
        return (ok,)
    rt.cudaStreamDestroy = cudaStreamDestroy

    def cudaHostAlloc(size, flags):
        storage = np.zeros(size, np.uint8)
        return ok, gpu.host_alloc(storage, mapped=bool(flags & rt.cudaHostAllocMapped))
    rt.cudaHostAlloc = cudaHostAlloc

    def cudaHostGetDevicePointer(pHost, flags):
        typed(flags, int, "flags")
        # "flags: Flags for extensions (must be 0 for now)" (CUDA runtime API)
        if flags != 0 or pHost not in gpu.mapped:
            return cudaError_t.cudaErrorInvalidValue, None
        return ok, gpu.mapped[pHost]
    rt.cudaHostGetDevicePointer = cudaHostGetDevicePointer

    def cudaFreeHost(ptr):
        if ptr not in gpu.pinned:
            return (cudaError_t.cudaErrorInvalidValue,)
        gpu.host_free(ptr)
        return (ok,)
    rt.cudaFreeHost = cudaFreeHost

    def cudaMalloc(size):
        if gpu.out_of_memory(size):
            return cudaError_t.cudaErrorMemoryAllocation, None
        return ok, gpu.malloc(size)
    rt.cudaMalloc = cudaMalloc

    def cudaFree(devPtr):
        if devPtr not in gpu.device or devPtr in gpu.mapped.values():
            return (cudaError_t.cudaErrorInvalidValue,)
        gpu.free(devPtr)
        return (ok,)
    rt.cudaFree = cudaFree

    def cudaMemcpyAsync(dst, src, count, kind, stream):
        if kind == cudaMemcpyKind.cudaMemcpyHostToDevice:
            gpu.memcpy_h2d(int(dst), int(src), count, int(stream))
        elif kind == cudaMemcpyKind.cudaMemcpyDeviceToHost:
            gpu.memcpy_d2h(int(dst), int(src), count, int(stream))
        else:
            return (cudaError_t.cudaErrorInvalidValue,)
        return (ok,)
    rt.cudaMemcpyAsync = cudaMemcpyAsync

    def cudaEventCreate():
        gpu.log.append(("event_create",))
        event = cudaEvent_t()
        gpu.events.add(event)
        return ok, event
    rt.cudaEventCreate = cudaEventCreate

    def cudaEventRecord(event, stream):
        event.done = False
        event.stream = int(stream)
        gpu.enqueue(int(stream), lambda: setattr(event, "done", True))
        return (ok,)
    rt.cudaEventRecord = cudaEventRecord

    def cudaEventSynchronize(event):
        if not event.done:
            gpu.synchronize(event.stream, until=lambda: event.done)
        return (ok,)
    rt.cudaEventSynchronize = cudaEventSynchronize

    def cudaEventDestroy(event):
        if event not in gpu.events:
            return (cudaError_t.cudaErrorInvalidResourceHandle,)
        gpu.events.remove(event)
        gpu.log.append(("event_destroy",))
        return (ok,)
    rt.cudaEventDestroy = cudaEventDestroy
    return rt


# ---------------------------------------------------------------------------------------------
# pycuda (pycuda.driver, pycuda.autoprimaryctx)


def make_pycuda(gpu: FakeGpu) -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    package = types.ModuleType("pycuda")
    package.__path__ = []
    driver = types.ModuleType("pycuda.driver")
    autoprimaryctx = types.ModuleType("pycuda.autoprimaryctx")
    package.driver, package.autoprimaryctx = driver, autoprimaryctx

    class Error(Exception):           # pycuda._driver.Error and the classes under it
        pass

    class LogicError(Error):
        pass

    class CudaRuntimeError(Error):    # pycuda._driver.RuntimeError
        pass

    driver.Error, driver.LogicError, driver.RuntimeError = Error, LogicError, CudaRuntimeError
    driver.device_attribute = types.SimpleNamespace(INTEGRATED="INTEGRATED",
                                                    CAN_MAP_HOST_MEMORY="CAN_MAP_HOST_MEMORY")
    driver.host_alloc_flags = types.SimpleNamespace(PORTABLE=1, DEVICEMAP=2, WRITECOMBINED=4)

    class Device:
        def get_attribute(self, attribute):
            # Boost.Python refuses what is not a device_attribute (ArgumentError: a TypeError)
            if attribute not in ("INTEGRATED", "CAN_MAP_HOST_MEMORY"):
                raise TypeError(f"Python argument types did not match C++ signature: "
                                f"get_attribute({type(attribute).__name__})")
            return int(gpu.integrated if attribute == "INTEGRATED" else gpu.can_map)

    class Context:
        @staticmethod
        def get_device():
            return Device()

    driver.Device, driver.Context = Device, Context

    class HostAllocation:
        """What pagelocked_empty's array holds in `.base`."""

        def __init__(self, shape, dtype, mapped):
            self._storage = np.zeros(shape, dtype)
            self.__array_interface__ = dict(self._storage.__array_interface__)
            self._host = gpu.host_alloc(self._storage, mapped)
            self._mapped = mapped

        def get_device_pointer(self):
            if not self._mapped:
                raise LogicError("cuMemHostGetDevicePointer failed: invalid value")
            return gpu.mapped[self._host]

        def free(self):
            gpu.host_free(self._host)

    def pagelocked_empty(shape, dtype, order="C", mem_flags=0):
        return np.asarray(HostAllocation(shape, dtype, bool(mem_flags & 2)))
    driver.HostAllocation, driver.pagelocked_empty = HostAllocation, pagelocked_empty

    class CudaMemoryError(Error):     # pycuda._driver.MemoryError
        pass

    driver.MemoryError = CudaMemoryError

    class DeviceAllocation:
        def __init__(self, nbytes):
            if gpu.out_of_memory(nbytes):
                raise CudaMemoryError("cuMemAlloc failed: out of memory")
            self._address = gpu.malloc(nbytes)

        def __int__(self):
            return self._address

        def free(self):
            gpu.free(self._address)

    driver.DeviceAllocation = DeviceAllocation
    driver.mem_alloc = DeviceAllocation

    class Stream:
        def __init__(self, flags=0):
            self.handle = gpu.new_stream()

        def synchronize(self):
            gpu.synchronize(self.handle)

    class Event:
        def __init__(self, flags=0):
            gpu.log.append(("event_create",))
            self.done, self.stream = False, None

        def record(self, stream=None):
            self.done, self.stream = False, stream.handle
            gpu.enqueue(stream.handle, lambda: setattr(self, "done", True))
            return self

        def synchronize(self):
            if not self.done:
                gpu.synchronize(self.stream, until=lambda: self.done)
            return self

    driver.Stream, driver.Event = Stream, Event

    def memcpy_htod_async(dest, src, stream=None):
        gpu.memcpy_h2d(int(dest), src.ctypes.data, src.nbytes, stream.handle)

    def memcpy_dtoh_async(dest, src, stream=None):
        gpu.memcpy_d2h(dest.ctypes.data, int(src), dest.nbytes, stream.handle)

    driver.memcpy_htod_async, driver.memcpy_dtoh_async = memcpy_htod_async, memcpy_dtoh_async
    return package, driver, autoprimaryctx


# ---------------------------------------------------------------------------------------------
# TensorRT


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    BOOL = 4
    UINT8 = 5


_NPTYPE = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8,
           DataType.INT32: np.int32, DataType.BOOL: np.bool_, DataType.UINT8: np.uint8}
_FROM_ONNX = {TensorProto.FLOAT: DataType.FLOAT, TensorProto.FLOAT16: DataType.HALF,
              TensorProto.INT8: DataType.INT8, TensorProto.INT32: DataType.INT32,
              TensorProto.BOOL: DataType.BOOL, TensorProto.UINT8: DataType.UINT8}


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


def needs(value, kind, name):
    """pybind11's signatures: Logger(min_severity: ILogger.Severity), Runtime(logger: ILogger),
    Builder(logger: ILogger), OnnxParser(network, logger: ILogger): None or another type is a
    TypeError ("incompatible function arguments")."""
    if not isinstance(value, kind):
        raise TypeError(f"{name}(): incompatible function arguments ({value!r})")


def make_tensorrt(gpu: FakeGpu, version: str) -> types.ModuleType:
    import onnxruntime as ort

    trt = types.ModuleType("tensorrt")
    trt.__version__ = version
    trt.DataType, trt.TensorIOMode = DataType, TensorIOMode
    trt.nptype = lambda dtype: _NPTYPE[dtype]
    bindings_api = int(version.split(".")[0]) < 10

    class Severity(enum.IntEnum):     # ILogger.Severity
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

    class Logger:
        WARNING = Severity.WARNING

        def __init__(self, min_severity=Severity.WARNING):
            needs(min_severity, Severity, "Logger")
            self.min_severity = min_severity

    class ICudaEngine:
        def __init__(self, model: onnx.ModelProto):
            self._session = ort.InferenceSession(model.SerializeToString(),
                                                 providers=["CPUExecutionProvider"])
            graph = model.graph
            self._io = [(v, TensorIOMode.INPUT) for v in graph.input] + \
                       [(v, TensorIOMode.OUTPUT) for v in graph.output]
            self._by_name = {v.name: (v, mode) for v, mode in self._io}
            self._profile = read_profile(model)

        num_optimization_profiles = 1

        def get_tensor_profile_shape(self, name, profile_index):
            """[min, opt, max] of an input in the profile (TensorRT 8.5 and 10.x)."""
            if profile_index != 0 or self.get_tensor_mode(name) != TensorIOMode.INPUT:
                raise ValueError(f"no profile shape for {name!r} in profile {profile_index}")
            return list(self._profile[name])

        def _accepts(self, name, shape) -> bool:
            declared = self.get_tensor_shape(name)
            low, _, high = self._profile[name]
            return len(shape) == len(declared) and all(
                d in (-1, s) and lo <= s <= hi
                for d, s, lo, hi in zip(declared, shape, low, high))

        @property
        def num_io_tensors(self):
            return len(self._io)

        def get_tensor_name(self, index):
            return self._io[index][0].name

        def get_tensor_mode(self, name):
            return self._by_name[name][1]

        def get_tensor_dtype(self, name):
            return _FROM_ONNX[self._by_name[name][0].type.tensor_type.elem_type]

        def get_tensor_shape(self, name):
            dims = self._by_name[name][0].type.tensor_type.shape.dim
            return tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)

        def create_execution_context(self):
            return IExecutionContext(self)

    class IExecutionContext:
        def __init__(self, engine):
            self.engine = engine
            self._shapes, self._addresses, self._output_shapes = {}, {}, {}

        def set_input_shape(self, name, shape):
            shape = tuple(int(s) for s in shape)
            if not self.engine._accepts(name, shape):
                # TensorRT logs the refusal and keeps the shape set before (if any).
                gpu.log.append(("trt_error", f"{name}: {shape} outside the profile "
                                             f"{self.engine._profile[name]}"))
                return False
            self._shapes[name] = shape
            return True

        def _inputs(self):
            return [v.name for v, mode in self.engine._io if mode == TensorIOMode.INPUT]

        def get_tensor_shape(self, name):
            if self.engine.get_tensor_mode(name) == TensorIOMode.INPUT:
                return self._shapes.get(name, self.engine.get_tensor_shape(name))
            key = tuple(self._shapes.get(n) for n in self._inputs())
            if None in key:
                return self.engine.get_tensor_shape(name)   # -1 until every input shape is set
            if key not in self._output_shapes:
                feeds = {n: np.zeros(s, _NPTYPE[self.engine.get_tensor_dtype(n)])
                         for n, s in zip(self._inputs(), key)}
                names = [o.name for o in self.engine._session.get_outputs()]
                outs = self.engine._session.run(names, feeds)
                self._output_shapes[key] = {n: o.shape for n, o in zip(names, outs)}
            return tuple(self._output_shapes[key][name])

        def set_tensor_address(self, name, memory):
            if int(memory) % 256:
                return False       # TensorRT: "the pointer must have 256-byte alignment"
            self._addresses[name] = int(memory)
            return True

        def _enqueue(self, addresses, stream_handle, api):
            names = [v.name for v, _ in self.engine._io]
            if set(addresses) != set(names) or set(self._shapes) != set(self._inputs()):
                return False
            if gpu.fail_execute:
                gpu.fail_execute = False
                gpu.log.append(("trt_error", f"{api} failed to enqueue"))
                return False
            shapes = {n: self.get_tensor_shape(n) for n in names}
            gpu.log.append(("launch", api))

            def compute():
                feeds = {}
                for n in self._inputs():
                    dtype = np.dtype(_NPTYPE[self.engine.get_tensor_dtype(n)])
                    nbytes = int(np.prod(shapes[n])) * dtype.itemsize
                    feeds[n] = gpu.device_view(addresses[n], nbytes).view(dtype).reshape(
                        shapes[n]).copy()
                outputs = [o.name for o in self.engine._session.get_outputs()]
                for n, value in zip(outputs, self.engine._session.run(outputs, feeds)):
                    raw = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
                    gpu.device_view(addresses[n], raw.nbytes)[:] = raw

            gpu.enqueue(int(stream_handle), compute)
            return True

        def execute_async_v3(self, stream_handle):
            return self._enqueue(dict(self._addresses), stream_handle, "execute_async_v3")

    class IExecutionContext8(IExecutionContext):
        """TensorRT 8.5: the binding-index API next to the name-based one."""

        def _name(self, index):
            return self.engine.get_tensor_name(index)

        def set_binding_shape(self, binding, shape):
            return self.set_input_shape(self._name(binding), shape)

        def get_binding_shape(self, binding):
            return self.get_tensor_shape(self._name(binding))

        def execute_async_v2(self, bindings, stream_handle, input_consumed=None):
            names = [self._name(i) for i in range(len(bindings))]
            return self._enqueue(dict(zip(names, map(int, bindings))), stream_handle,
                                 "execute_async_v2")

    class ICudaEngine8(ICudaEngine):
        @property
        def num_bindings(self):
            return self.num_io_tensors

        def get_binding_name(self, index):
            return self.get_tensor_name(index)

        def binding_is_input(self, index):
            return self._io[index][1] == TensorIOMode.INPUT

        def get_binding_dtype(self, index):
            return self.get_tensor_dtype(self.get_tensor_name(index))

        def get_binding_shape(self, index):
            return self.get_tensor_shape(self.get_tensor_name(index))

        def get_profile_shape(self, profile_index, binding):
            """[min, opt, max] of an input binding (index or name) in the profile (8.5)."""
            name = binding if isinstance(binding, str) else self.get_tensor_name(binding)
            return self.get_tensor_profile_shape(name, profile_index)

        def create_execution_context(self):
            return IExecutionContext8(self)

    class Runtime:
        def __init__(self, logger):
            needs(logger, Logger, "Runtime")
            self.logger = logger

        def deserialize_cuda_engine(self, serialized_engine):
            try:
                model = onnx.load_from_string(bytes(serialized_engine))
                onnx.checker.check_model(model)
            except Exception:
                return None   # TensorRT logs the error and returns None
            built_by = read_build(model).get("tensorrt", version)
            if built_by != version:
                # "The engine plan file is not compatible with this version of TensorRT":
                # a plan runs only on the TensorRT that built it.
                gpu.log.append(("trt_error", f"engine built by TensorRT {built_by}"))
                return None
            return (ICudaEngine8 if bindings_api else ICudaEngine)(model)

    trt.Logger, trt.Runtime = Logger, Runtime
    add_builder(trt, gpu, version)
    return trt


def add_builder(trt: types.ModuleType, gpu: FakeGpu, version: str) -> None:
    """The builder side of TensorRT's Python API, as trt_build.build_engine uses it: Builder,
    create_network(flags), OnnxParser.parse_from_file, IBuilderConfig (set_memory_pool_limit,
    set_flag, add_optimization_profile, create_timing_cache / set_timing_cache),
    IOptimizationProfile.set_shape and build_serialized_network, which returns the "plan": the
    parsed ONNX with its profile and how it was built (PROFILE_KEY, BUILD_KEY), so the Runtime
    above runs exactly what was built and holds it to its profile.

    Strict where the real one is (TensorRT Python API 8.5, 10.x, 11.0, Builder and
    NetworkDefinitionCreationFlag pages; onnx-tensorrt's ModelImporter):
    - NetworkDefinitionCreationFlag: 8.5 has EXPLICIT_BATCH and EXPLICIT_PRECISION; 10.x
      EXPLICIT_BATCH (ignored, "networks are always explicit batch") and STRONGLY_TYPED; 11
      STRONGLY_TYPED only (ignored: every network is strongly typed). BuilderFlag.FP16 exists
      before 11 only.
    - 8.5's ONNX parser refuses an implicit-batch network: "This version of the ONNX parser only
      supports TensorRT INetworkDefinitions with an explicit batch dimension".
    - A network with dynamic inputs and no profile values for one of them does not build
      ("Network has dynamic or shape inputs, but no optimization profile has been defined",
      "optimization profile is missing values for ..."): build_serialized_network logs the
      error and returns None. So does a profile whose shapes are not min <= opt <= max or
      contradict a static dimension; `gpu.fail_build` injects any other build failure.
    - Precision: a strongly typed network computes in the types of its ONNX (FP16 where the
      ONNX carries float16 tensors); otherwise FP16 only with BuilderFlag.FP16, else FP32.
    - The timing cache holds the timings of the layers built before on this TensorRT; a build
      times only the layers it lacks (logged as ("timed", n)). A cache from another TensorRT
      is refused by set_timing_cache unless ignore_mismatch is set, and then dropped.
    """
    major = int(version.split(".")[0])
    creation = ({"EXPLICIT_BATCH": 0, "EXPLICIT_PRECISION": 1} if major < 10 else
                {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1} if major == 10 else
                {"STRONGLY_TYPED": 1})
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", creation)
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", {"FP16": 0, "INT8": 1, "REFIT": 4}
                                   if major < 11 else {"REFIT": 4})
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", {"WORKSPACE": 0})
    flag_bit = {name: 1 << value for name, value in creation.items()}

    class ITensor:
        def __init__(self, value):
            self.name = value.name
            self.shape = tuple(d.dim_value if d.HasField("dim_value") else -1
                               for d in value.type.tensor_type.shape.dim)

    class INetworkDefinition:
        def __init__(self, flags):
            known = sum(flag_bit.values())
            if flags & ~known:
                raise ValueError(f"unknown NetworkDefinitionCreationFlag bits {flags:#x}")
            self.explicit_batch = major >= 10 or bool(flags & flag_bit["EXPLICIT_BATCH"])
            self.strongly_typed = major >= 11 or bool(flags & flag_bit.get("STRONGLY_TYPED", 0))
            self.model = None

        @property
        def num_inputs(self):
            return len(self.model.graph.input) if self.model is not None else 0

        def get_input(self, index):
            return ITensor(self.model.graph.input[index])

    class _ParserError:
        def __init__(self, text):
            self._text = text

        def desc(self):
            return self._text

    class OnnxParser:
        def __init__(self, network, logger):
            needs(logger, trt.Logger, "OnnxParser")
            self.network, self._errors = network, []

        @property
        def num_errors(self):
            return len(self._errors)

        def get_error(self, index):
            return self._errors[index]

        def parse_from_file(self, path):
            if not self.network.explicit_batch:
                self._errors.append(_ParserError(
                    "Assertion failed: !_importer_ctx.network()->hasImplicitBatchDimension() && "
                    "\"This version of the ONNX parser only supports TensorRT "
                    "INetworkDefinitions with an explicit batch dimension.\""))
                return False
            try:
                model = onnx.load(str(path))
                onnx.checker.check_model(model)
            except Exception as exc:
                self._errors.append(_ParserError(f"ModelImporter: {type(exc).__name__}"))
                return False
            self.network.model = model
            return True

    class IOptimizationProfile:
        def __init__(self):
            self.shapes, self.valid = {}, True

        def set_shape(self, input, min, opt, max):
            shapes = tuple(tuple(int(d) for d in s) for s in (min, opt, max))
            if not (len(shapes[0]) == len(shapes[1]) == len(shapes[2]) and all(
                    a <= b <= c for a, b, c in zip(*shapes))):
                gpu.log.append(("trt_error", f"{input}: profile not min <= opt <= max"))
                self.valid = False
            self.shapes[input] = shapes

    class ITimingCache:
        def __init__(self, layers, made_by):
            self.layers, self.made_by = set(layers), made_by

        def serialize(self):
            return json.dumps({"tensorrt": self.made_by,
                               "layers": sorted(self.layers)}).encode()

    class IBuilderConfig:
        def __init__(self):
            self.flags, self.pools, self.profiles, self.cache = set(), {}, [], None

        def set_memory_pool_limit(self, pool, pool_size):
            self.pools[trt.MemoryPoolType(pool)] = int(pool_size)

        def set_flag(self, flag):
            self.flags.add(trt.BuilderFlag(flag))

        def add_optimization_profile(self, profile):
            if not profile.valid:
                return -1
            self.profiles.append(profile)
            return len(self.profiles) - 1

        def create_timing_cache(self, serialized_timing_cache):
            data = bytes(serialized_timing_cache)
            if not data:
                return ITimingCache((), version)
            record = json.loads(data)
            return ITimingCache(record["layers"], record["tensorrt"])

        def set_timing_cache(self, cache, ignore_mismatch):
            if cache.made_by != version:
                if not ignore_mismatch:
                    gpu.log.append(("trt_error", f"timing cache of TensorRT {cache.made_by}"))
                    return False
                cache.layers, cache.made_by = set(), version   # dropped, rebuilt from here
            self.cache = cache
            return True

    class Builder:
        def __init__(self, logger):
            needs(logger, trt.Logger, "Builder")
            self.logger = logger

        def create_network(self, flags=0):
            return INetworkDefinition(flags)

        def create_builder_config(self):
            return IBuilderConfig()

        def create_optimization_profile(self):
            return IOptimizationProfile()

        def build_serialized_network(self, network, config):
            refusal = _refusal(network, config)
            if refusal is None and gpu.fail_build:
                gpu.fail_build, refusal = False, "injected build failure"
            if refusal is not None:
                gpu.log.append(("trt_error", refusal))
                return None
            model = onnx.ModelProto()
            model.CopyFrom(network.model)
            profile = config.profiles[0].shapes if config.profiles else {}
            write_profile(model, {name: profile[name] for name in
                                  (v.name for v in model.graph.input) if name in profile})
            if network.strongly_typed:
                precision = "fp16" if _carries_float16(model) else "fp32"
            else:
                precision = "fp16" if getattr(trt.BuilderFlag, "FP16", None) in config.flags \
                    else "fp32"
            layers = {node.name or f"{node.op_type}:{node.output[0]}" for node in model.graph.node}
            timed = layers - config.cache.layers if config.cache is not None else layers
            if config.cache is not None:
                config.cache.layers |= layers
            record = {"tensorrt": version, "precision": precision,
                      "strongly_typed": network.strongly_typed,
                      "workspace": config.pools.get(trt.MemoryPoolType.WORKSPACE)}
            write_build(model, record)
            gpu.log.append(("build", record))
            gpu.log.append(("timed", len(timed)))
            return model.SerializeToString()

    def _refusal(network, config):
        if network.model is None:
            return "the network is empty (nothing was parsed)"
        profile = config.profiles[0].shapes if config.profiles else {}
        for value in network.model.graph.input:
            declared = ITensor(value).shape
            if value.name not in profile:
                if -1 in declared:
                    return ("Network has dynamic or shape inputs, but no optimization profile "
                            "has been defined." if not profile else
                            f"{value.name}: optimization profile is missing values for this "
                            f"input")
                continue
            for shape in profile[value.name]:
                if len(shape) != len(declared) or any(d not in (-1, s)
                                                      for d, s in zip(declared, shape)):
                    return (f"{value.name}: profile shape {shape} does not match the network's "
                            f"{declared}")
        return None

    trt.Builder, trt.OnnxParser = Builder, OnnxParser


def _carries_float16(model: onnx.ModelProto) -> bool:
    tensors = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    return any(t.data_type == TensorProto.FLOAT16 for t in model.graph.initializer) or any(
        v.type.tensor_type.elem_type == TensorProto.FLOAT16 for v in tensors)


# ---------------------------------------------------------------------------------------------
# Fixtures

PROFILE_KEY = "standin_trt_profile"   # metadata of the ONNX that stands for an engine file
BUILD_KEY = "standin_trt_build"       # ... and how the builder stand-in built it
DEFAULT_DYNAMIC_RANGE = (1, 64, 1024)  # min / opt / max of a dynamic dimension, unless given


def write_profile(model: onnx.ModelProto, profile: dict) -> onnx.ModelProto:
    """Record the optimisation profile the stand-in engine was "built" with: input name ->
    (min, opt, max) shapes, as IOptimizationProfile.set_shape takes them."""
    entry = next((p for p in model.metadata_props if p.key == PROFILE_KEY), None)
    if entry is None:
        entry = model.metadata_props.add()
        entry.key = PROFILE_KEY
    entry.value = json.dumps({name: [list(map(int, s)) for s in shapes]
                              for name, shapes in profile.items()})
    return model


def write_build(model: onnx.ModelProto, record: dict) -> None:
    entry = model.metadata_props.add()
    entry.key, entry.value = BUILD_KEY, json.dumps(record)


def read_build(model: onnx.ModelProto) -> dict:
    """What the builder stand-in recorded (TensorRT version, precision, ...); {} for an
    engine file a test wrote by hand, which any TensorRT stand-in loads."""
    return json.loads({p.key: p.value for p in model.metadata_props}.get(BUILD_KEY, "{}"))


def read_profile(model: onnx.ModelProto) -> dict:
    """Each input's (min, opt, max): as recorded, else static dimensions fixed and dynamic
    ones over DEFAULT_DYNAMIC_RANGE (a builder needs a profile for every dynamic input)."""
    recorded = {p.key: p.value for p in model.metadata_props}.get(PROFILE_KEY)
    profile = {name: tuple(tuple(s) for s in shapes)
               for name, shapes in json.loads(recorded or "{}").items()}
    for value in model.graph.input:
        if value.name not in profile:
            dims = [d.dim_value if d.HasField("dim_value") else None
                    for d in value.type.tensor_type.shape.dim]
            profile[value.name] = tuple(tuple(DEFAULT_DYNAMIC_RANGE[i] if d is None else d
                                              for d in dims) for i in range(3))
    return profile


CUDA_FLAVOURS = ("pycuda", "cuda-python")
TRT_VERSIONS = ("8.5.2.2", "10.3.0")


class _NoGpuContext(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import pycuda.autoprimaryctx` on a machine without a GPU: its cuda.init() raises
    pycuda's RuntimeError "cuInit failed: no CUDA-capable device is detected"."""

    def __init__(self, error):
        self.error = error

    def find_spec(self, name, path, target=None):
        if name == "pycuda.autoprimaryctx":
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise self.error("cuInit failed: no CUDA-capable device is detected")


def install(monkeypatch, flavour: str, integrated: bool, trt_version: str, **gpu) -> FakeGpu:
    """Put the stand-ins where `import tensorrt`, `import pycuda.driver` and
    `from cuda.bindings import runtime` (or `from cuda import cudart`) will find them.
    `gpu`: FakeGpu's present / can_map / device_memory."""
    gpu = FakeGpu(integrated, **gpu)
    monkeypatch.setitem(sys.modules, "tensorrt", make_tensorrt(gpu, trt_version))
    if flavour == "pycuda":
        package, driver, autoprimaryctx = make_pycuda(gpu)
        monkeypatch.setitem(sys.modules, "pycuda", package)
        monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
        if gpu.present:
            monkeypatch.setitem(sys.modules, "pycuda.autoprimaryctx", autoprimaryctx)
        else:
            monkeypatch.delitem(sys.modules, "pycuda.autoprimaryctx", raising=False)
            monkeypatch.setattr(sys, "meta_path", [_NoGpuContext(driver.RuntimeError),
                                                   *sys.meta_path])
        return gpu
    monkeypatch.setitem(sys.modules, "pycuda", None)   # `import pycuda` raises ImportError
    monkeypatch.setitem(sys.modules, "pycuda.driver", None)
    runtime = make_cudart(gpu)
    cuda = types.ModuleType("cuda")
    cuda.__path__ = []
    if flavour == "cuda-python":
        bindings = types.ModuleType("cuda.bindings")
        bindings.__path__ = []
        bindings.runtime = runtime
        cuda.bindings = bindings
        monkeypatch.setitem(sys.modules, "cuda.bindings", bindings)
        monkeypatch.setitem(sys.modules, "cuda.bindings.runtime", runtime)
    else:   # "cuda-python<12.6": only the old module path exists
        cuda.cudart = runtime
        monkeypatch.setitem(sys.modules, "cuda.bindings", None)
        monkeypatch.setitem(sys.modules, "cuda.cudart", runtime)
    monkeypatch.setitem(sys.modules, "cuda", cuda)
    return gpu


@pytest.fixture(params=[(f, m, v) for f in CUDA_FLAVOURS for m in ("mapped", "pinned")
                        for v in TRT_VERSIONS],
                ids=lambda p: "-".join(p))
def gpu(request, monkeypatch):
    """Every runner path: pycuda / cuda-python x mapped (integrated GPU) / pinned (discrete)
    x TensorRT 8.5 (bindings, execute_async_v2) / 10 (tensor addresses, execute_async_v3)."""
    flavour, memory, version = request.param
    stand_in = install(monkeypatch, flavour, memory == "mapped", version)
    stand_in.flavour, stand_in.trt_version = flavour, version
    return stand_in


@pytest.fixture
def install_stand_ins(monkeypatch):
    """install() bound to this test's monkeypatch, for tests that pick one path."""
    return lambda flavour="cuda-python", integrated=False, version="10.3.0", **gpu: install(
        monkeypatch, flavour, integrated, version, **gpu)


def viewer_like_onnx() -> onnx.ModelProto:
    """raw (int32 counts, per frame) - dark (float32, resident) times gain (float16, resident):
    an 8-bit image and a float16 one, on dynamic H x W. Shaped like the viewer graph's
    interface (sub-frames per frame, calibration planes resident, uint8 out); its int32 and
    float16 inputs, which the viewer graph does not have, exercise the runner's dtype casts."""
    hw = ["H", "W"]
    inputs = [helper.make_tensor_value_info("raw", TensorProto.INT32, [1, 3, *hw]),
              helper.make_tensor_value_info("dark", TensorProto.FLOAT, [1, 3, *hw]),
              helper.make_tensor_value_info("gain", TensorProto.FLOAT16, [1, 3, 1, 1])]
    outputs = [helper.make_tensor_value_info("rgb8", TensorProto.UINT8, [1, 3, *hw]),
               helper.make_tensor_value_info("half", TensorProto.FLOAT16, [1, 3, *hw])]
    consts = [helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
              helper.make_tensor("hi", TensorProto.FLOAT, [], [255.0]),
              helper.make_tensor("k", TensorProto.FLOAT, [], [0.5])]
    nodes = [helper.make_node("Cast", ["raw"], ["rawf"], to=TensorProto.FLOAT),
             helper.make_node("Cast", ["gain"], ["gainf"], to=TensorProto.FLOAT),
             helper.make_node("Sub", ["rawf", "dark"], ["d"]),
             helper.make_node("Mul", ["d", "gainf"], ["x"]),
             helper.make_node("Clip", ["x", "lo", "hi"], ["c"]),
             helper.make_node("Cast", ["c"], ["rgb8"], to=TensorProto.UINT8),
             helper.make_node("Mul", ["x", "k"], ["xk"]),
             helper.make_node("Cast", ["xk"], ["half"], to=TensorProto.FLOAT16)]
    graph = helper.make_graph(nodes, "viewer_like", inputs, outputs, initializer=consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def viewer_like_reference(raw, dark, gain):
    x = (raw.astype(np.float32) - dark) * gain.astype(np.float32)
    return {"rgb8": np.clip(x, 0, 255).astype(np.uint8), "half": (x * 0.5).astype(np.float16)}


def recurrent_onnx() -> onnx.ModelProto:
    """`x` per frame and a recurrent `state`: y = x + state, state_next = state / 2 + x. The
    shape of the viewer graph's temporal filter (a state carried between frames, on the
    device), small enough to check against numpy frame by frame."""
    hw = [1, "H", "W"]
    value = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, hw)  # noqa: E731
    nodes = [helper.make_node("Add", ["x", "state"], ["y"]),
             helper.make_node("Mul", ["state", "half"], ["decayed"]),
             helper.make_node("Add", ["decayed", "x"], ["state_next"])]
    graph = helper.make_graph(nodes, "recurrent", [value("x"), value("state")],
                              [value("y"), value("state_next")],
                              initializer=[helper.make_tensor("half", TensorProto.FLOAT, [],
                                                              [0.5])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def recurrent_reference(xs, state):
    """y per frame of `recurrent_onnx` from `state`."""
    ys = []
    for x in xs:
        ys.append(x + state)
        state = state / 2 + x
    return ys


def recurrent_pair_onnx(state_shape, state_next: bool) -> onnx.ModelProto:
    """y = x + state on x of 1 x H x W; `state_next` (when asked for) = x, so the state it gives
    back has x's shape whatever shape the state fed in had. Without `state_next` the graph
    takes a state but gives none back (half a recurrent pair)."""
    value = lambda name, shape: helper.make_tensor_value_info(  # noqa: E731
        name, TensorProto.FLOAT, shape)
    nodes = [helper.make_node("Add", ["x", "state"], ["y"])]
    outputs = [value("y", [1, "H", "W"])]
    if state_next:
        nodes.append(helper.make_node("Identity", ["x"], ["state_next"]))
        outputs.append(value("state_next", [1, "H", "W"]))
    graph = helper.make_graph(nodes, "pair", [value("x", [1, "H", "W"]),
                                              value("state", state_shape)], outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def single_input_onnx(elem_type: int = TensorProto.FLOAT) -> onnx.ModelProto:
    """nir -> tanh(nir): a network's interface (one float32 NCHW input, one output; float16
    for the FP16 ONNX convert --fp16 writes beside it)."""
    graph = helper.make_graph(
        [helper.make_node("Tanh", ["nir"], ["rgb"])], "net",
        [helper.make_tensor_value_info("nir", elem_type, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("rgb", elem_type, ["N", 3, "H", "W"])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.fixture
def engine_file(tmp_path):
    """Write an ONNX model where an engine file would be: the stand-in 'deserialises' it.
    `profile` (input name -> (min, opt, max)) is the optimisation profile it was built with."""
    def write(model: onnx.ModelProto, name: str = "model.engine", profile: dict | None = None):
        if profile is not None:
            model = write_profile(model, profile)
        path = tmp_path / name
        path.write_bytes(model.SerializeToString())
        return path
    return write


@pytest.fixture
def models():
    """The ONNX graphs the stand-in engines run, and the numpy reference of the viewer-like one
    (test modules cannot import conftest under --import-mode=importlib)."""
    return types.SimpleNamespace(viewer_like=viewer_like_onnx, reference=viewer_like_reference,
                                 single_input=single_input_onnx, recurrent=recurrent_onnx,
                                 recurrent_reference=recurrent_reference,
                                 recurrent_pair=recurrent_pair_onnx)
