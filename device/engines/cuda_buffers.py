"""Host and device buffers, one stream and its events: the few CUDA calls the TensorRT runner
needs, behind one small interface with two implementations, pycuda (JetPack images ship it)
and NVIDIA's cuda-python runtime bindings. Both are imported lazily, when a runner opens.

Which host memory, and why:
- integrated GPU (Jetson: `cudaDevAttrIntegrated` = 1): CPU and GPU share one DRAM, so a
  host buffer allocated *mapped* (`cudaHostAlloc(..., cudaHostAllocMapped)`, then
  `cudaHostGetDevicePointer`) is read and written by TensorRT's kernels in place: no copy at
  all (the pattern of jetson-utils' `cudaAllocMapped` in cudaMappedMemory.h). On Xavier and
  Orin such pinned memory is I/O coherent, so the CPU keeps its caches (CUDA for Tegra
  application note, "I/O Coherency" and "Memory Selection").
- discrete GPU: page-locked (*pinned*) host buffers (`cudaHostAlloc`, flags 0) staged to and
  from `cudaMalloc`ed device buffers with `cudaMemcpyAsync` on the runner's stream. Pinned
  memory is what lets those copies be asynchronous; from pageable memory the driver first
  copies into a pinned bounce buffer of its own (CUDA runtime API, cudaHostAlloc /
  cudaMemcpyAsync).

API references: CUDA runtime API (cudaHostAlloc, cudaHostGetDevicePointer, cudaMemcpyAsync,
cudaStreamCreate, cudaEventRecord, cudaDeviceGetAttribute); cuda-python returns every result
as a tuple whose first item is the cudaError_t; pycuda.driver: pagelocked_empty(mem_flags=
host_alloc_flags.DEVICEMAP), HostAllocation.get_device_pointer, mem_alloc, memcpy_htod_async,
memcpy_dtoh_async, Stream, Event.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class HostBuffer:
    """Page-locked host memory as a flat uint8 array; `device_ptr` is set when it is mapped
    into the GPU's address space (integrated GPUs), else None."""

    array: np.ndarray
    device_ptr: int | None
    handle: Any              # the CUDA library's own allocation, kept alive (and freed) here

    @property
    def nbytes(self) -> int:
        return self.array.nbytes


@dataclass
class DeviceBuffer:
    ptr: int
    nbytes: int
    handle: Any


def cuda_memory():
    """The CUDA helpers: pycuda where it imports (install.sh --with-pycuda), else cuda-python.
    ImportError when neither is installed; RuntimeError when there is no usable GPU."""
    try:
        import pycuda.driver  # noqa: F401
    except ImportError:
        return CudaPython()
    return CudaPycuda()


class CudaPycuda:
    """pycuda on the primary context, the one TensorRT also uses."""

    name = "pycuda"

    def __init__(self):
        import pycuda.driver as driver
        try:
            import pycuda.autoprimaryctx  # noqa: F401  (creates and pushes the primary context)
        except Exception as exc:  # pycuda's own error classes; no GPU or no driver
            raise RuntimeError(f"pycuda cannot open the GPU ({exc})") from exc

        self._driver = driver
        device = driver.Context.get_device()
        self.integrated = bool(device.get_attribute(driver.device_attribute.INTEGRATED)) and \
            bool(device.get_attribute(driver.device_attribute.CAN_MAP_HOST_MEMORY))
        self._stream = driver.Stream()
        self.stream_handle = int(self._stream.handle)

    def alloc_host(self, nbytes: int, mapped: bool) -> HostBuffer:
        flags = self._driver.host_alloc_flags.DEVICEMAP if mapped else 0
        array = self._driver.pagelocked_empty(nbytes, np.uint8, mem_flags=flags)
        device_ptr = int(array.base.get_device_pointer()) if mapped else None
        return HostBuffer(array, device_ptr, array.base)

    def free_host(self, buffer: HostBuffer) -> None:
        buffer.handle.free()

    def alloc_device(self, nbytes: int) -> DeviceBuffer:
        allocation = self._driver.mem_alloc(nbytes)
        return DeviceBuffer(int(allocation), nbytes, allocation)

    def free_device(self, buffer: DeviceBuffer) -> None:
        buffer.handle.free()

    def copy_to_device(self, device: DeviceBuffer, host: np.ndarray) -> None:
        self._driver.memcpy_htod_async(device.ptr, host, self._stream)

    def copy_to_host(self, host: np.ndarray, device: DeviceBuffer) -> None:
        self._driver.memcpy_dtoh_async(host, device.ptr, self._stream)

    def new_event(self):
        return self._driver.Event()

    def record(self, event) -> None:
        event.record(self._stream)

    def wait(self, event) -> None:
        event.synchronize()

    def free_event(self, event) -> None:
        pass   # pycuda destroys an Event when it is garbage collected

    def synchronize(self) -> None:
        self._stream.synchronize()

    def close(self) -> None:
        self._stream.synchronize()
        self._stream = None


class CudaPython:
    """NVIDIA's cuda-python runtime bindings (module path `cuda.bindings.runtime` since 12.6,
    `cuda.cudart` before)."""

    name = "cuda-python"

    def __init__(self):
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart   # cuda-python before 12.6
        self._rt = cudart
        device = self._check(cudart.cudaGetDevice())
        attr = cudart.cudaDeviceAttr
        self.integrated = bool(self._check(cudart.cudaDeviceGetAttribute(
            attr.cudaDevAttrIntegrated, device))) and bool(self._check(
                cudart.cudaDeviceGetAttribute(attr.cudaDevAttrCanMapHostMemory, device)))
        self._stream = self._check(cudart.cudaStreamCreate())
        self.stream_handle = int(self._stream)

    def _check(self, result):
        err, *values = result
        if err != self._rt.cudaError_t.cudaSuccess:
            # cudaGetErrorString's description comes as bytes (b"out of memory")
            raise RuntimeError(f"CUDA call failed: "
                               f"{self._rt.cudaGetErrorString(err)[1].decode()}")
        return values[0] if values else None

    def alloc_host(self, nbytes: int, mapped: bool) -> HostBuffer:
        rt = self._rt
        flags = rt.cudaHostAllocMapped if mapped else rt.cudaHostAllocDefault
        ptr = int(self._check(rt.cudaHostAlloc(nbytes, flags)))
        array = np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(ptr))
        device_ptr = int(self._check(rt.cudaHostGetDevicePointer(ptr, 0))) if mapped else None
        return HostBuffer(array, device_ptr, ptr)

    def free_host(self, buffer: HostBuffer) -> None:
        self._check(self._rt.cudaFreeHost(buffer.handle))

    def alloc_device(self, nbytes: int) -> DeviceBuffer:
        ptr = int(self._check(self._rt.cudaMalloc(nbytes)))
        return DeviceBuffer(ptr, nbytes, ptr)

    def free_device(self, buffer: DeviceBuffer) -> None:
        self._check(self._rt.cudaFree(buffer.ptr))

    def copy_to_device(self, device: DeviceBuffer, host: np.ndarray) -> None:
        self._check(self._rt.cudaMemcpyAsync(
            device.ptr, host.ctypes.data, host.nbytes,
            self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self._stream))

    def copy_to_host(self, host: np.ndarray, device: DeviceBuffer) -> None:
        self._check(self._rt.cudaMemcpyAsync(
            host.ctypes.data, device.ptr, host.nbytes,
            self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self._stream))

    def new_event(self):
        return self._check(self._rt.cudaEventCreate())

    def record(self, event) -> None:
        self._check(self._rt.cudaEventRecord(event, self._stream))

    def wait(self, event) -> None:
        self._check(self._rt.cudaEventSynchronize(event))

    def free_event(self, event) -> None:
        self._check(self._rt.cudaEventDestroy(event))

    def synchronize(self) -> None:
        self._check(self._rt.cudaStreamSynchronize(self._stream))

    def close(self) -> None:
        if self._stream is not None:
            self.synchronize()
            self._check(self._rt.cudaStreamDestroy(self._stream))
            self._stream = None
