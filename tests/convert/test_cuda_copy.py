"""The CUDA buffers the engine runner uses, on a real GPU: host -> device -> host round trip
through the runner's own memory kinds (pinned + device memory, or mapped memory where the GPU
is integrated), on its one stream.

Runs wherever cuda-python (or pycuda) and a GPU are present, even without TensorRT, so the
part of the runner that moves data is checked on any CUDA machine. Every other path is covered
by the stand-ins in tests/device/engines."""
from __future__ import annotations

import numpy as np
import pytest

from device.engines.cuda_buffers import cuda_memory


def test_round_trip_through_gpu_memory():
    try:
        cuda = cuda_memory()
    except ImportError:
        pytest.skip("neither pycuda nor cuda-python is installed (on a Jetson: install.sh --with-pycuda, or cuda-python)")
    except RuntimeError as exc:
        pytest.skip(f"no usable GPU here ({exc})")
    data = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 80)).astype(np.float32)
    up = cuda.alloc_host(data.nbytes, mapped=False)
    down = cuda.alloc_host(data.nbytes, mapped=False)
    device = cuda.alloc_device(data.nbytes)
    try:
        up.array.view(np.float32)[:] = data.ravel()
        cuda.copy_to_device(device, up.array)
        cuda.copy_to_host(down.array, device)
        cuda.wait(cuda.record())
        assert np.array_equal(down.array.view(np.float32).reshape(data.shape), data)
        if cuda.integrated:     # mapped memory: the same bytes, seen from the device pointer
            mapped = cuda.alloc_host(data.nbytes, mapped=True)
            assert mapped.device_ptr is not None
            cuda.free_host(mapped)
    finally:
        cuda.free_device(device)
        cuda.free_host(up)
        cuda.free_host(down)
        cuda.close()
