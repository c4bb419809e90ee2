"""`convert` end to end: checkpoint -> verified ONNX (+ FP16) + the viewer graphs around them
(convert/viewer.py) + model card -> TensorRT engine.

Every ONNX file and the card are written to temporary files and renamed into place only after
all checks passed, card last: a failure at any step leaves no partial output, and a card on
disk always describes ONNX files that exist and passed their checks.
"""
from __future__ import annotations

import contextlib
import os
import platform
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import onnx

from convert import export, verify, viewer
from device.common.errors import UserError
from device.common.files import atomic_output
from device.engines import model_card, trt_build

CHECKPOINT_SUFFIXES = (".pt", ".pth")


@dataclass
class Options:
    fp16: bool = False
    out_dir: Path | None = None          # default: beside the checkpoint
    opset: int = 17
    profile: dict = field(default_factory=dict)   # {"min"|"opt"|"max": NCHW tuple} overrides
    workspace_mib: int = 1024
    timing_cache: Path | None = None
    data_dir: Path | None = None         # capture set for real-input parity
    viewer_output_dtype: str = "uint8"   # "float32" for TensorRT 8.5 (no uint8 outputs)


@dataclass
class Outputs:
    onnx: Path
    card: Path
    fp16_onnx: Path | None = None
    viewer_onnx: Path | None = None
    viewer_fp16_onnx: Path | None = None
    engine: Path | None = None
    numbers: dict = field(default_factory=dict)


def check_paths(ckpt: Path, out_dir: Path, targets: list[Path]) -> None:
    """Refuse bad paths before any slow work (and before anything is renamed into place, so
    a target that cannot be replaced never leaves a half-updated set of outputs)."""
    if ckpt.suffix not in CHECKPOINT_SUFFIXES:
        raise UserError(f"{ckpt}: expected a .pt checkpoint written by `train fit`, not a "
                        f"'{ckpt.suffix or 'extensionless'}' file.")
    if not ckpt.is_file():
        raise UserError(f"{ckpt}: no such checkpoint file.")
    if not out_dir.is_dir():
        raise UserError(f"{out_dir}: output folder does not exist.")
    if not os.access(out_dir, os.W_OK):
        raise UserError(f"{out_dir}: output folder is not writable.")
    for target in targets:
        if target.exists() and not target.is_file():
            raise UserError(f"{target}: exists and is not a file, so it cannot be replaced.")


def convert_checkpoint(ckpt: str | Path, options: Options,
                       log: Callable[[str], None] = print) -> Outputs:
    ckpt = Path(ckpt)
    out_dir = Path(options.out_dir) if options.out_dir is not None else ckpt.parent
    viewer_fp32, viewer_fp16 = viewer.viewer_paths(out_dir, ckpt.stem)
    outputs = Outputs(onnx=out_dir / f"{ckpt.stem}.onnx", card=out_dir / f"{ckpt.stem}.json",
                      fp16_onnx=out_dir / f"{ckpt.stem}.fp16.onnx" if options.fp16 else None,
                      viewer_onnx=viewer_fp32,
                      viewer_fp16_onnx=viewer_fp16 if options.fp16 else None)
    check_paths(ckpt, out_dir, [p for p in (outputs.onnx, outputs.card, outputs.fp16_onnx,
                                             outputs.viewer_onnx, outputs.viewer_fp16_onnx,
                                             engine_path(outputs.onnx)) if p])
    if not export.MIN_OPSET <= options.opset <= export.MAX_OPSET:
        raise UserError(f"--opset {options.opset}: must be between {export.MIN_OPSET} and "
                        f"{export.MAX_OPSET} (TensorRT 8.5, on JetPack 5, parses up to 17).")

    job = _Conversion(ckpt, options, outputs, log)
    try:
        job.write_onnx_and_card()
    except OSError as exc:   # disk full, folder removed meanwhile...
        raise UserError(f"{exc.filename or out_dir}: cannot write ({exc.strerror}).") from None
    written = (outputs.onnx, outputs.fp16_onnx, outputs.viewer_onnx, outputs.viewer_fp16_onnx,
               outputs.card)
    log(f"wrote {', '.join(str(p) for p in written if p)}")
    if options.fp16:
        outputs.engine = job.build_engine()
    return outputs


def engine_path(onnx_path: Path) -> Path:
    return onnx_path.with_name(onnx_path.stem + ".fp16.engine")


class _Conversion:
    """One checkpoint's conversion: the loaded network, what its config says about its edges,
    and the inputs every check runs on."""

    def __init__(self, ckpt: Path, options: Options, outputs: Outputs,
                 log: Callable[[str], None]):
        from train.checkpoint import load_checkpoint

        self.ckpt, self.options, self.outputs, self.log = ckpt, options, outputs, log
        log(f"loading {ckpt} (tensors and plain JSON only)")
        with warnings.catch_warnings():
            # torch's safe unpickler warns about pickles not written by torch.save before it
            # refuses them; the refusal (one sentence) is what the user needs to see.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            self.model, self.config = load_checkpoint(ckpt)
        if self.config["model"].get("noise_input"):
            raise UserError(f"{ckpt}: the model takes a noise level (noise_input), which the "
                            "viewer graph's contract has no input for (docs/light-levels.md).")
        self.channels, multiple, from_reflectance, self.to_srgb = _conversion_fields(
            ckpt, self.config)
        self.profile = _profile(self.channels, multiple, options.profile)
        self.samples = verify.random_samples(self.channels, multiple)
        self.mappings = viewer.Mappings(tuple(self.config["inputs"]), from_reflectance,
                                        self.to_srgb, multiple)
        self.viewer_samples = viewer.default_samples(self.mappings.wavelengths_nm)
        if options.data_dir is not None:
            self.samples += verify.capture_samples(options.data_dir, self.config["inputs"],
                                                   from_reflectance, multiple)
            self.viewer_samples += viewer.capture_samples(
                options.data_dir, self.mappings.wavelengths_nm, multiple)

    def write_onnx_and_card(self) -> None:
        options, outputs, log = self.options, self.outputs, self.log
        numbers = outputs.numbers
        with contextlib.ExitStack() as stack:
            # Entered card first so that it is renamed into place last.
            card_tmp = stack.enter_context(atomic_output(outputs.card))
            onnx_tmp = stack.enter_context(atomic_output(outputs.onnx))

            log(f"exporting ONNX (opset {options.opset}, input 'nir' N x {self.channels} x H x W)")
            fp32_model = export.export_onnx(self.model, self.channels, options.opset)
            onnx.save(fp32_model, onnx_tmp)
            numbers["onnx_bytes"] = onnx_tmp.stat().st_size
            log(f"checking FP32 parity with PyTorch on {len(self.samples)} inputs")
            numbers["fp32_max_abs_error"] = verify.fp32_max_abs_error(self.model, onnx_tmp,
                                                                      self.samples)
            log(f"FP32 ONNX vs PyTorch: max abs error {numbers['fp32_max_abs_error']:.2e} "
                f"(limit {verify.FP32_MAX_ABS:g})")

            fp16_sha, fp16_tmp = None, None
            if options.fp16:
                fp16_tmp = stack.enter_context(atomic_output(outputs.fp16_onnx))
                log("converting to FP16 (float16 inside, float32 nir/rgb)")
                onnx.save(export.to_fp16(fp32_model), fp16_tmp)
                numbers["fp16_onnx_bytes"] = fp16_tmp.stat().st_size
                session = verify.onnx_session(fp16_tmp)
                numbers["fp16_psnr_db"] = verify.fp16_psnr(
                    onnx_tmp, lambda x: verify.run_onnx(session, x), self.samples, self.to_srgb,
                    "FP16 ONNX")
                log(f"FP16 ONNX vs FP32 ONNX: PSNR {numbers['fp16_psnr_db']:.1f} dB "
                    f"(limit {verify.FP16_MIN_PSNR_DB:g} dB)")
                fp16_sha = model_card.file_sha256(fp16_tmp)

            viewer_entry, viewer_numbers = viewer.write_viewer_graphs(
                stack, outputs.onnx.parent, self.ckpt.stem, onnx_tmp, fp16_tmp, self.mappings,
                self.viewer_samples, options.viewer_output_dtype, log)
            numbers.update(viewer_numbers)
            card = model_card.model_card_dict(
                onnx_name=outputs.onnx.name, onnx_sha256=model_card.file_sha256(onnx_tmp),
                fp16_onnx_name=outputs.fp16_onnx.name if options.fp16 else None,
                fp16_onnx_sha256=fp16_sha, config=self.config,
                made_by=_made_by(self.ckpt, options.opset),
                verification={"inputs": [s.label for s in self.samples],
                              "viewer_inputs": [s.label for s in self.viewer_samples],
                              **numbers},
                viewer=viewer_entry)
            model_card.write_model_card(card_tmp, card)

    def build_engine(self) -> Path | None:
        """Build the viewer's TensorRT engine from the viewer graph where TensorRT is installed
        (else say where) and hold it to the FP32 viewer graph by PSNR, like the FP16 one."""
        outputs, profile = self.outputs, self.profile
        version = trt_build.installed_tensorrt_version()
        if version is None:
            self.log(trt_build.TRT_ABSENT)
            return None
        engine = engine_path(outputs.onnx)
        source = trt_build.engine_source(outputs.viewer_onnx, outputs.viewer_fp16_onnx, version)
        trt_build.build_engine(source, engine, profile=profile,
                               workspace_mib=self.options.workspace_mib,
                               timing_cache=self.options.timing_cache, log=self.log)
        # The engine takes only frame sizes inside its profile: its smallest, and the real
        # captures where they fit.
        samples = viewer.random_samples(self.mappings.wavelengths_nm, size=profile.min[2:]) + [
            s for s in self.viewer_samples if s.label.startswith("capture")
            and profile.accepts((1, self.channels, *next(iter(s.raws.values())).shape))]
        try:
            # The viewer's runner (one for both), closed afterwards: its buffers and stream.
            with trt_build.EngineRunner(engine) as runner:
                outputs.numbers["engine_psnr_db"] = viewer.fp16_viewer_psnr(
                    viewer.session_runner(outputs.viewer_onnx), viewer.engine_runner(runner),
                    samples, self.mappings.wavelengths_nm, f"TensorRT engine {engine.name}")
        except BaseException:
            # An engine that failed its check must not be picked up by the viewer.
            for path in (engine, trt_build.sidecar_path(engine)):
                path.unlink(missing_ok=True)
            raise
        self.log(f"TensorRT engine vs FP32 viewer graph: PSNR "
                 f"{outputs.numbers['engine_psnr_db']:.1f} dB; wrote {engine}")
        return engine


def _conversion_fields(ckpt: Path, config: dict):
    """(channels, spatial multiple, input and output mappings) from the checkpoint's config,
    which the model card must carry; UserError naming the checkpoint when one is missing."""
    try:
        inputs, multiple = config["inputs"], config["spatial_multiple"]
        norm = config["normalisation"]
        mappings = [model_card.Affine(float(norm[edge]["scale"]), float(norm[edge]["offset"]))
                    for edge in ("input", "output")]
        ok = (config["truth_mode"] in ("human", "paper")
              and isinstance(inputs, list) and inputs and all(isinstance(w, int) for w in inputs)
              and isinstance(multiple, int) and multiple >= 1)
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError(f"{ckpt}: checkpoint config lacks a valid 'inputs', 'spatial_multiple', "
                        f"'truth_mode' or 'normalisation' entry, which the model card needs.")
    if config["model"].get("in_channels", len(inputs)) != len(inputs):
        raise UserError(f"{ckpt}: config lists {len(inputs)} input wavelengths but the model "
                        f"takes {config['model']['in_channels']} channels.")
    return len(inputs), multiple, *mappings


def _profile(channels: int, multiple: int, overrides: dict) -> trt_build.Profile:
    default = trt_build.Profile.default(channels, multiple)
    profile = trt_build.Profile(**{k: overrides.get(k, getattr(default, k))
                                   for k in ("min", "opt", "max")})
    profile.check(channels)
    return profile


def _made_by(ckpt: Path, opset: int) -> dict:
    versions = {}
    for dist in ("nightcolor", "torch", "onnx", "onnxruntime", "onnxslim", "onnxconverter-common"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {"tool": "convert", "checkpoint": ckpt.name, "opset": opset,
            "exporter": "torch.onnx (TorchScript)", "python": platform.python_version(),
            "numpy": np.__version__, **versions}
