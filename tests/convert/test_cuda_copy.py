"""The CUDA memory helpers the engine runner uses: host -> device -> host round trip.

Runs wherever cuda-python (or pycuda) and a GPU are present, even without TensorRT, so the
part of the runner that moves data is checked on any CUDA machine."""
from __future__ import annotations

import numpy as np
import pytest

from device.engines.trt_build import cuda_memory


def test_round_trip_through_gpu_memory():
    try:
        cuda = cuda_memory()
    except ImportError:
        pytest.skip("neither pycuda nor cuda-python is installed (JetPack images have pycuda)")
    except RuntimeError as exc:
        pytest.skip(f"no usable GPU here ({exc})")
    host = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 80)).astype(np.float32)
    back = np.zeros_like(host)
    ptr = cuda.alloc(host.nbytes)
    try:
        cuda.to_device(ptr, host)
        cuda.to_host(back, ptr)
    finally:
        cuda.free(ptr)
    assert np.array_equal(back, host)
