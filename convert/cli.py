"""`convert [--fp16] ckpt.pt`: the command line over `convert.pipeline`.

Flags shared with trtexec take trtexec's spelling too (`--minShapes=nir:1x3x256x256`,
`--timingCacheFile=FILE`), so a command tried with trtexec carries over.
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from device.common.command_line import run_cli
from device.engines.viewer_io import OUTPUT_DTYPES

_SHAPE = re.compile(r"^(?:(?P<name>[A-Za-z_][\w.]*):)?(?P<dims>\d+(?:x\d+){3})$")

EPILOG = """\
Shape spec ::= [name":"]NxCxHxW   e.g. nir:1x3x720x1280 (the only input is 'nir').
Without shape flags the profile is min 1xCx256x256, opt 1xCx720x1280, max 1xCx2048x2048,
with H and W rounded up to the network's spatial multiple. H and W are camera frame sizes and
need not be multiples (nir:1x3x1080x1920 is fine): the viewer graph pads each frame itself.

Writes beside the checkpoint (or in --out): ckpt.onnx, ckpt.viewer.onnx (the viewer graph: raw
sub-frames in, 8-bit sRGB out), ckpt.json (the model card), and with --fp16 ckpt.fp16.onnx,
ckpt.viewer.fp16.onnx and, where TensorRT is installed (a Jetson), ckpt.fp16.engine.
Engines are tied to the GPU and TensorRT version: build them on the Jetson by running the same
command there.
"""


def parse_shape(spec: str) -> tuple[int, int, int, int]:
    """`nir:1x3x256x256` or `1x3x256x256` -> (1, 3, 256, 256); argparse shows ValueErrors."""
    match = _SHAPE.match(spec.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{spec!r} is not a shape spec like nir:1x3x720x1280 (NxCxHxW)")
    if match["name"] not in (None, "nir"):
        raise argparse.ArgumentTypeError(f"{spec!r} names input {match['name']!r}; the model's "
                                         f"only input is 'nir'")
    dims = tuple(int(d) for d in match["dims"].split("x"))
    if 0 in dims:
        raise argparse.ArgumentTypeError(f"{spec!r} has a zero dimension")
    return dims  # type: ignore[return-value]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convert", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Checkpoint -> ONNX (FP32, and FP16 with --fp16) + model card -> TensorRT\n"
                    "FP16 engine, each step checked against the one before.")
    parser.add_argument("checkpoint", type=Path, metavar="ckpt.pt",
                        help="checkpoint written by `train fit`")
    model = parser.add_argument_group("model options")
    build = parser.add_argument_group("build options (TensorRT; trtexec spellings accepted)")
    checks = parser.add_argument_group("verification options")
    model.add_argument("--fp16", action="store_true",
                        help="Also write ckpt.fp16.onnx (float16 inside, float32 nir/rgb) and, "
                             "where TensorRT is installed, build ckpt.fp16.engine "
                             "(default = disabled)")
    model.add_argument("--out", type=Path, metavar="DIR",
                        help="Folder for the outputs (default = the checkpoint's folder)")
    model.add_argument("--opset", type=int, default=17, metavar="N",
                        help="ONNX opset to export (17-20, default = 17: TensorRT 8.5 "
                             "parses up to 17)")
    for kind, help_ in (("min", "min"), ("opt", "opt"), ("max", "max")):
        build.add_argument(f"--{kind}-shape", f"--{kind}Shapes", dest=f"{kind}_shape",
                            type=parse_shape, metavar="spec",
                            help=f"Build with dynamic shapes using a profile with the {help_} "
                                 f"shapes provided")
    build.add_argument("--workspace", type=_positive, default=1024, metavar="N",
                        help="Set workspace size in MiB (default = 1024)")
    build.add_argument("--timing-cache", "--timingCacheFile", dest="timing_cache", type=Path,
                        metavar="<file>", help="Save/load the serialized global timing cache")
    model.add_argument("--viewer-output", choices=OUTPUT_DTYPES, default="uint8",
                        help="The viewer graph's sRGB output type: uint8 (default), or float32 "
                             "codes for TensorRT 8.5 (JetPack 5), which has no uint8 outputs")
    checks.add_argument("--data", type=Path, metavar="DIR",
                        help="Capture set whose scenes join the random inputs of the parity "
                             "checks (real inputs)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from convert.pipeline import Options, convert_checkpoint

    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)

    options = Options(
        fp16=args.fp16, out_dir=args.out, opset=args.opset,
        profile={k: getattr(args, f"{k}_shape") for k in ("min", "opt", "max")
                 if getattr(args, f"{k}_shape") is not None},
        workspace_mib=args.workspace, timing_cache=args.timing_cache, data_dir=args.data,
        viewer_output_dtype=args.viewer_output)
    def work() -> int:
        convert_checkpoint(args.checkpoint, options, log)
        return 0

    return run_cli("convert", work)
