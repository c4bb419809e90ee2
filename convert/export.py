"""PyTorch network -> FP32 ONNX (`nir` -> `rgb`, dynamic N/H/W, BatchNorm folded), and the
FP16 ONNX derived from it (float16 inside, float32 at the edges). torch is imported by
`export_onnx` only: `to_fp16` runs without it (`python -m convert.viewer --fp16`)."""
from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING

import onnx

if TYPE_CHECKING:
    from torch import nn

INPUT_NAME, OUTPUT_NAME = "nir", "rgb"
MIN_OPSET = 17   # the contract's floor
MAX_OPSET = 20   # the newest the TorchScript exporter writes
DYNAMIC_AXES = {0: "N", 2: "H", 3: "W"}


def trace_size(spatial_multiple: int) -> int:
    """A small square side the network accepts, for tracing and random parity inputs."""
    return spatial_multiple * max(1, -(-64 // spatial_multiple))


def export_onnx(model: nn.Module, in_channels: int, opset: int) -> onnx.ModelProto:
    """Export, check and simplify; return the FP32 model (the caller writes it atomically).

    Exporter choice: torch 2.13 offers the torch.export-based exporter (dynamo=True, the
    default) and the TorchScript one (dynamo=False, deprecated but present). Both fold BN and
    give the same nodes for these convolutional networks, but dynamo only emits opset 18 and
    down-converts to 17 through a version converter that warns it is unsupported, names the
    output's dims by expression ("2*((H//2))") instead of N/H/W, and takes ~8 s against ~0.1 s.
    TensorRT 8.5 (JetPack 5) parses at most opset 17, so the TorchScript exporter, which
    writes opset 17 natively, is the one used.
    """
    import torch

    from train.models.fold import fold_batchnorm

    # BatchNorm folded into its conv in PyTorch (running statistics, eval mode); `simplify`
    # checks none is left. Parity is measured against the unfolded model, so it covers this.
    model = fold_batchnorm(model)
    side = trace_size(getattr(model, "spatial_multiple", 1))
    example = torch.zeros(1, in_channels, side, side)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter announces its deprecation (and that of its helpers) on
        # every call; the choice is deliberate (see above), so the notices are not shown.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (example,), buffer, dynamo=False, opset_version=opset,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: DYNAMIC_AXES, OUTPUT_NAME: DYNAMIC_AXES},
            do_constant_folding=True,
        )
    exported = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(exported, full_check=True)
    return simplify(exported)


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxslim: constant folding and dead-node removal, then the same checks again."""
    import onnxslim

    slim = onnxslim.slim(model)
    onnx.checker.check_model(slim, full_check=True)
    left = sorted({n.op_type for n in slim.graph.node} & {"BatchNormalization"})
    if left:
        raise RuntimeError(f"export left {left} in the graph: BatchNorm was not folded")
    return slim


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Float16 weights and compute, float32 `nir`/`rgb` (a Cast at each edge), via
    onnxconverter-common's float16 pass.

    Its default block list keeps Resize (the edge model's nearest up-sampling) in FP32 between
    two Casts: letting it through would also turn Resize's `scales` input to float16, which
    the ONNX spec forbids (the checker rejects it).
    """
    from onnxconverter_common import float16

    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    # The pass leaves stale float32 value_info on the tensors it re-casts around blocked ops
    # (the checker then sees float32 meet float16 at the next Concat); shapes and types of
    # intermediate tensors are re-inferred by every consumer, so dropping them loses nothing.
    del stripped.graph.value_info[:]
    with warnings.catch_warnings():
        # One warning per weight too small for float16; their combined effect is what the
        # PSNR check against the FP32 model measures.
        warnings.filterwarnings("ignore", message=".*will be truncated to.*")
        half = float16.convert_float_to_float16(stripped, keep_io_types=True)
    onnx.checker.check_model(half, full_check=True)
    return half


def count_ops(model: onnx.ModelProto) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
