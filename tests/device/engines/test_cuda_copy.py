"""The CUDA buffers the engine runner uses (device/engines/cuda_buffers.py), through the
runner's own calls: host -> device -> host round trips in pinned + device memory, and mapped
zero-copy memory read and written through its device pointer, on the runner's one stream,
waited on with the runner's per-slot event (new_event / record(event) / wait / free_event).

Each test runs twice over:
- against the stand-ins of pycuda and cuda-python (conftest.py), integrated and discrete, in
  the default suite: a change to the runner's CUDA interface or to a stand-in that no longer
  matches it fails here, on any machine;
- on a real GPU (marker `cuda`): wherever pycuda or cuda-python and a GPU are present, even
  without TensorRT; it skips elsewhere, or fails with NIGHTCOLOR_REQUIRE_CUDA=1 (a GPU machine
  that must run it). `.venv/bin/python -m pytest -m cuda` runs only the real-GPU tests.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from device.engines.cuda_buffers import DeviceBuffer, cuda_memory

REAL = "real GPU"


@pytest.fixture(params=[pytest.param(REAL, marks=pytest.mark.cuda),
                        *((f, m) for f in ("pycuda", "cuda-python")
                          for m in ("integrated", "discrete"))],
                ids=lambda p: p if p == REAL else "-".join(p))
def cuda(request, install_stand_ins):
    if request.param == REAL:
        try:
            memory = cuda_memory()
        except (ImportError, RuntimeError) as exc:
            reason = ("neither pycuda nor cuda-python is installed (on a Jetson: install.sh "
                      "--with-pycuda, or pip install cuda-python)" if isinstance(exc, ImportError)
                      else f"no usable GPU here ({exc})")
            if os.environ.get("NIGHTCOLOR_REQUIRE_CUDA") == "1":
                pytest.fail(f"NIGHTCOLOR_REQUIRE_CUDA=1 but {reason}")
            pytest.skip(reason)
    else:
        flavour, kind = request.param
        install_stand_ins(flavour, integrated=kind == "integrated")
        memory = cuda_memory()
        assert memory.name == flavour and memory.integrated is (kind == "integrated")
    yield memory
    memory.close()


def settle(cuda) -> None:
    """Wait for everything queued so far as the runner waits for a frame: its event."""
    event = cuda.new_event()
    cuda.record(event)
    cuda.wait(event)
    cuda.free_event(event)


def test_round_trip_through_pinned_and_device_memory(cuda):
    data = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 80)).astype(np.float32)
    up = cuda.alloc_host(data.nbytes, mapped=False)
    down = cuda.alloc_host(data.nbytes, mapped=False)
    device = cuda.alloc_device(data.nbytes)
    try:
        assert up.device_ptr is None and device.nbytes == data.nbytes
        up.array.view(np.float32)[:] = data.ravel()
        cuda.copy_to_device(device, up.array)
        cuda.copy_to_host(down.array, device)
        settle(cuda)
        assert np.array_equal(down.array.view(np.float32).reshape(data.shape), data)
        # The event is re-recorded for the next frame (the runner keeps one per slot).
        up.array[:] = 7
        cuda.copy_to_device(device, up.array)
        cuda.copy_to_host(down.array, device)
        settle(cuda)
        assert (down.array == 7).all()
    finally:
        cuda.free_device(device)
        cuda.free_host(up)
        cuda.free_host(down)


def test_mapped_memory_is_read_and_written_through_its_device_pointer(cuda):
    """Mapped host memory (what the runner gives TensorRT on an integrated GPU): the bytes the
    CPU writes are what the GPU reads at the device pointer, and what the GPU writes there is
    what the CPU then sees, with no copy of the runner's own in between. Copies through the
    pointer stand for TensorRT's kernels reading and writing it."""
    data = np.random.default_rng(1).integers(0, 256, 64 * 80 * 4, dtype=np.uint8)
    mapped = cuda.alloc_host(data.nbytes, mapped=True)
    staging = cuda.alloc_host(data.nbytes, mapped=False)
    try:
        assert mapped.device_ptr is not None
        through_pointer = DeviceBuffer(mapped.device_ptr, data.nbytes, None)
        mapped.array[:] = data                                 # CPU writes ...
        cuda.copy_to_host(staging.array, through_pointer)      # ... GPU reads the pointer
        settle(cuda)
        assert np.array_equal(staging.array, data)
        staging.array[:] = data[::-1]
        cuda.copy_to_device(through_pointer, staging.array)    # GPU writes the pointer ...
        settle(cuda)
        assert np.array_equal(mapped.array, data[::-1])        # ... CPU reads its own buffer
    finally:
        cuda.free_host(mapped)
        cuda.free_host(staging)


# -- what a user sees when the GPU says no (stand-ins only) --------------------------------------
# The viewer shows these sentences in its status line when TensorRT cannot start and it falls
# back to ONNX ("TensorRT failed (...)"); test_cuda_copy's real-GPU skip shows the first.

@pytest.mark.parametrize("flavour, words", [
    ("pycuda", "pycuda cannot open the GPU (cuInit failed: no CUDA-capable device is detected)"),
    ("cuda-python", "CUDA call failed: no CUDA-capable device is detected")])
def test_no_gpu_is_one_sentence_with_the_drivers_reason(install_stand_ins, flavour, words):
    install_stand_ins(flavour, present=False)
    with pytest.raises(RuntimeError) as caught:
        cuda_memory()
    assert str(caught.value) == words


@pytest.mark.parametrize("flavour, words", [
    ("pycuda", "cuMemAlloc failed: out of memory"),     # pycuda's own MemoryError
    ("cuda-python", "CUDA call failed: out of memory")])
def test_device_memory_running_out_is_named(install_stand_ins, flavour, words):
    install_stand_ins(flavour, device_memory=1 << 20)
    cuda = cuda_memory()
    kept = cuda.alloc_device(1 << 19)
    with pytest.raises(Exception) as caught:
        cuda.alloc_device(1 << 20)
    assert str(caught.value) == words
    cuda.free_device(kept)
    cuda.close()


@pytest.mark.parametrize("flavour", ["pycuda", "cuda-python"])
def test_an_integrated_gpu_that_cannot_map_host_memory_gets_copies(install_stand_ins, flavour):
    """Mapped zero-copy needs both attributes (cudaDevAttrIntegrated and
    cudaDevAttrCanMapHostMemory); without the second the runner stages copies as on a
    discrete GPU."""
    install_stand_ins(flavour, integrated=True, can_map=False)
    cuda = cuda_memory()
    assert cuda.integrated is False
    cuda.close()
