"""`engine.uri = "sim://MODEL?perturb=CODES"`: the model's viewer graph in onnxruntime with its
8-bit output perturbed, a stand-in for a TensorRT engine that builds and runs but computes
something else (a precision or parser fault), so that `device selftest` (or anyone) can see what
such an engine looks like. `perturb` is the rms of seeded Gaussian noise added to every output
code (default 8: about 30 dB PSNR against the reference, where `convert` wants 40); MODEL is any
file the card describes, as for `onnx://`."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from device.common.errors import UserError
from device.common.uri import Uri
from device.engines import viewer_io
from device.engines.engine import Array, Engine, EngineOptions, OnnxEngine, viewer_onnx

DEFAULT_PERTURB_CODES = 8.0


class PerturbedEngine:
    """Another engine whose `srgb` output gets `codes` rms of noise (seeded, clipped to 0-255)."""

    def __init__(self, inner: Engine, codes: float, seed: int = 0):
        self.inner = inner
        self.codes = codes
        self.rng = np.random.default_rng(seed)
        self.name = f"{inner.name}, output perturbed by {codes:g} codes rms (sim://)"
        self.input_names = inner.input_names
        self.output_names = inner.output_names

    def set_resident(self, name: str, array: Array) -> None:
        self.inner.set_resident(name, array)

    def run(self, feeds: Mapping[str, Array]) -> dict[str, Array]:
        outputs = dict(self.inner.run(feeds))
        rgb = outputs[viewer_io.OUTPUT]
        noise = self.rng.normal(0.0, self.codes, rgb.shape)
        noisy = np.clip(np.rint(rgb.astype(np.float64) + noise), 0, 255)
        # The same dtype: uint8, or float32 holding codes (a graph built for TensorRT 8.5).
        outputs[viewer_io.OUTPUT] = (noisy.astype(np.uint8) if rgb.dtype == np.uint8
                                     else noisy.astype(np.float32))
        return outputs


def check_sim_engine_uri(uri: Uri) -> None:
    perturbation(uri)


def perturbation(uri: Uri) -> float:
    unknown = sorted(set(uri.params) - {"perturb"})
    text = uri.params.get("perturb", str(DEFAULT_PERTURB_CODES))
    try:
        codes = float(text)
    except ValueError:
        codes = float("nan")
    if unknown or not 0 <= codes <= 255:
        raise UserError(f"engine.uri '{uri.text}': expected sim://MODEL?perturb=CODES with "
                        f"CODES from 0 to 255 (rms noise on the output).")
    return codes


def open_sim_engine(uri: Uri, options: EngineOptions) -> PerturbedEngine:
    inner = OnnxEngine(viewer_onnx(options.card, options.resolve(uri.target)))
    return PerturbedEngine(inner, perturbation(uri))
