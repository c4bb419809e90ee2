"""Build a TensorRT engine from the model's ONNX the way the installed TensorRT wants, and tell
when an engine on disk is stale.

Engines are tied to the GPU and the TensorRT version that built them, so they are built on the
Jetson itself; each one gets a sidecar `<engine>.json` recording what made it, and
`engine_is_stale` compares that record with the TensorRT installed now and the ONNX the card
names, so the viewer rebuilds an old engine instead of crashing on it.

Precision, by TensorRT version:
- 10.12 and later (JetPack 7 ships 11, which removed `BuilderFlag.FP16`): a strongly typed
  network from the FP16 ONNX, whose own tensor types carry the precision.
- before 10.12 (JetPack 5: 8.5, JetPack 6: 10.3): the FP32 ONNX with `BuilderFlag.FP16`,
  which lets the builder pick FP16 kernels.

TensorRT is imported inside the functions that need it; the engine runner (trt_runner.py)
imports pycuda or cuda-python when it opens.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from device.common.errors import UserError
from device.common.files import atomic_output
from device.engines import viewer_io
from device.engines.model_card import ModelCard, file_sha256
# One runner for convert's parity check and the viewer; importable from here for both.
from device.engines.trt_runner import EngineRunner  # noqa: F401

SIDECAR_FORMAT = "nightcolor-engine"
STRONGLY_TYPED_SINCE = (10, 12)
TRT_ABSENT = ("TensorRT is not installed here; the engine is built on the Jetson from this "
              "folder's ONNX, by `systemd/install.sh --model FOLDER` or at the viewer's first "
              "start (JetPack ships TensorRT).")

Shape = tuple[int, int, int, int]


@dataclass(frozen=True)
class Profile:
    """One optimisation profile for the NCHW input: TensorRT tunes kernels for `opt` and
    accepts any shape between `min` and `max`."""

    min: Shape
    opt: Shape
    max: Shape
    input_name: str = "nir"

    @classmethod
    def default(cls, channels: int, spatial_multiple: int = 1) -> "Profile":
        """opt: one 1280x720 frame (the viewer's mode); max: the paper's whole 2048x2048 print;
        sides rounded up to the network's multiple, so the same profile also fits an engine of
        the network alone. (The viewer graph pads any frame size itself.)"""
        def shape(h: int, w: int) -> Shape:
            return (1, channels, _round_up(h, spatial_multiple), _round_up(w, spatial_multiple))
        return cls(shape(256, 256), shape(720, 1280), shape(2048, 2048))

    def check(self, channels: int) -> None:
        """UserError unless min <= opt <= max everywhere and C matches the model. H and W are
        raw frame sizes, any size: engines are built from the viewer graph, which pads a frame
        to the network's spatial multiple itself (a 1920x1080 camera is 1920x1088 inside)."""
        for label, shape in (("min", self.min), ("opt", self.opt), ("max", self.max)):
            if shape[1] != channels:
                raise UserError(f"--{label}-shape {_fmt(shape)}: the model takes {channels} input "
                                f"channels, not {shape[1]}.")
        if not all(a <= b <= c for a, b, c in zip(self.min, self.opt, self.max)):
            raise UserError(f"shapes must satisfy min <= opt <= max in every dimension; got "
                            f"min {_fmt(self.min)}, opt {_fmt(self.opt)}, max {_fmt(self.max)}.")

    def accepts(self, shape: tuple[int, ...]) -> bool:
        return len(shape) == 4 and all(a <= d <= b for a, d, b in zip(self.min, shape, self.max))

    def to_dict(self) -> dict:
        return {"input": self.input_name, "min": list(self.min), "opt": list(self.opt),
                "max": list(self.max)}

    @classmethod
    def from_dict(cls, d: dict) -> "Profile":
        lo, opt, hi = (_shape(d[k]) for k in ("min", "opt", "max"))
        return cls(lo, opt, hi, input_name=d.get("input", "nir"))


def _shape(values: list[int]) -> Shape:
    n, c, h, w = (int(v) for v in values)
    return n, c, h, w


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _fmt(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def installed_tensorrt_version() -> str | None:
    """The importable TensorRT's version, or None where it is absent."""
    try:
        import tensorrt
    except ImportError:
        return None
    return tensorrt.__version__


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def is_strongly_typed(trt_version: str) -> bool:
    """True where this TensorRT builds FP16 from the ONNX's own types (10.12+, 11)."""
    return _version_tuple(trt_version) >= STRONGLY_TYPED_SINCE


def engine_source(fp32_onnx: Path, fp16_onnx: Path | None, trt_version: str) -> Path:
    """The ONNX file a TensorRT of this version builds the FP16 engine from."""
    if is_strongly_typed(trt_version):
        if fp16_onnx is None:
            raise UserError(f"TensorRT {trt_version} builds FP16 engines only from an FP16 ONNX; "
                            f"run convert with --fp16.")
        return fp16_onnx
    return fp32_onnx


def card_engine_source(card: ModelCard, trt_version: str) -> Path:
    """The ONNX the viewer's engine is built from: the card's viewer graph (raw sub-frames in,
    8-bit sRGB out), FP16 or FP32 as `engine_source` picks."""
    return engine_source(card.viewer_graph, card.viewer_fp16_onnx, trt_version)


def profile_shapes(input_names, profile: Profile) -> dict[str, tuple[tuple[int, ...], ...]]:
    """{input: (min, opt, max)} for the graph being built. The profile is spelled as the
    network's N x C x H x W (trtexec's `nir:1x3x720x1280`); the viewer graph's inputs are that
    frame size's planes (viewer_io.input_shapes)."""
    if profile.input_name in input_names:
        return {profile.input_name: (profile.min, profile.opt, profile.max)}
    per_shape = [viewer_io.input_shapes(*shape[1:]) for shape in
                 (profile.min, profile.opt, profile.max)]
    def key(name: str) -> str:
        return viewer_io.RAW_PREFIX if name.startswith(viewer_io.RAW_PREFIX) else name
    return {name: tuple(shapes[key(name)] for shapes in per_shape) for name in input_names}


def sidecar_path(engine_path: str | Path) -> Path:
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def build_engine(onnx_path: str | Path, engine_path: str | Path, *, profile: Profile,
                 workspace_mib: int = 1024, timing_cache: str | Path | None = None,
                 log: Callable[[str], None] = print) -> dict:
    """Parse `onnx_path`, build an FP16 engine, write it and its sidecar atomically; return
    the sidecar record. UserError (one sentence) when the ONNX does not parse or build."""
    import tensorrt as trt

    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    strongly_typed = is_strongly_typed(trt.__version__)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_network_flags(trt, strongly_typed))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(parser.get_error(i).desc() for i in range(parser.num_errors))
        raise UserError(f"{onnx_path}: TensorRT {trt.__version__} cannot parse it: {errors}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_mib << 20)
    if not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    trt_profile = builder.create_optimization_profile()
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    for name, (low, opt, high) in profile_shapes(inputs, profile).items():
        trt_profile.set_shape(name, low, opt, high)
    config.add_optimization_profile(trt_profile)
    cache = _load_timing_cache(config, timing_cache)

    mode = "strongly typed from the FP16 ONNX" if strongly_typed else "BuilderFlag.FP16"
    log(f"building TensorRT {trt.__version__} engine ({mode}), profile opt "
        f"{_fmt(profile.opt)}; this takes minutes on a Jetson...")
    started = time.monotonic()
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError(f"{onnx_path}: TensorRT {trt.__version__} failed to build an engine "
                        f"(see its messages above); try a larger --workspace or smaller "
                        f"--max-shape.")
    log(f"engine built in {time.monotonic() - started:.0f} s")

    with atomic_output(engine_path) as tmp:
        tmp.write_bytes(memoryview(serialized))
    if timing_cache is not None:
        with atomic_output(timing_cache) as tmp:
            tmp.write_bytes(memoryview(cache.serialize()))
    return write_sidecar(engine_path, onnx_path, tensorrt_version=trt.__version__,
                         strongly_typed=strongly_typed, profile=profile,
                         workspace_mib=workspace_mib)


def write_sidecar(engine_path: str | Path, onnx_path: str | Path, *, tensorrt_version: str,
                  strongly_typed: bool, profile: Profile, workspace_mib: int) -> dict:
    """Record beside the engine what made it (read back by `engine_is_stale`)."""
    engine_path, onnx_path = Path(engine_path), Path(onnx_path)
    record = {
        "format": SIDECAR_FORMAT, "version": 1,
        "tensorrt": tensorrt_version,
        "precision": "fp16-strongly-typed" if strongly_typed else "fp16-builder-flag",
        "onnx": onnx_path.name, "onnx_sha256": file_sha256(onnx_path),
        "engine_sha256": file_sha256(engine_path),
        "profile": profile.to_dict(), "workspace_mib": workspace_mib,
    }
    with atomic_output(sidecar_path(engine_path)) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return record


def _network_flags(trt, strongly_typed: bool) -> int:
    if strongly_typed:
        # Ignored (always on) in TensorRT 11, still accepted there for compatibility.
        return 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    if _version_tuple(trt.__version__) < (10,):
        # TensorRT 8.x still has implicit-batch networks; ONNX needs explicit batch.
        return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    return 0


def _load_timing_cache(config, timing_cache: str | Path | None):
    """Attach a timing cache (read from `timing_cache` where it exists) so a rebuild reuses the
    kernel timings of the last one: minutes saved on a Jetson."""
    data = b""
    if timing_cache is not None and Path(timing_cache).is_file():
        data = Path(timing_cache).read_bytes()
    cache = config.create_timing_cache(data)
    # ignore_mismatch: a cache from another device or TensorRT is dropped, not an error.
    config.set_timing_cache(cache, ignore_mismatch=True)
    return cache


def engine_is_stale(engine_path: str | Path, onnx_path: str | Path,
                    trt_version: str | None = None) -> tuple[bool, str]:
    """(True, why) when the engine must be rebuilt from `onnx_path`: it is missing, has no
    readable sidecar, was built by another TensorRT (default: the installed one) or from
    another ONNX, or was changed after it was built."""
    engine_path, onnx_path = Path(engine_path), Path(onnx_path)
    if trt_version is None:
        trt_version = installed_tensorrt_version()
        if trt_version is None:
            return True, "TensorRT is not installed, so no engine can run here"
    if not engine_path.is_file():
        return True, f"{engine_path} does not exist"
    sidecar = sidecar_path(engine_path)
    try:
        record = json.loads(sidecar.read_text())
        if not isinstance(record, dict) or record.get("format") != SIDECAR_FORMAT:
            raise ValueError("not an engine sidecar")
    except (OSError, ValueError) as exc:
        return True, f"{sidecar} is missing or unreadable ({exc})"
    if record.get("tensorrt") != trt_version:
        return True, (f"{engine_path.name} was built by TensorRT {record.get('tensorrt')}, "
                      f"this is TensorRT {trt_version}")
    if not onnx_path.is_file():
        return True, f"{onnx_path} does not exist"
    if record.get("onnx_sha256") != file_sha256(onnx_path):
        return True, f"{engine_path.name} was built from another ONNX than {onnx_path}"
    if record.get("engine_sha256") != file_sha256(engine_path):
        return True, f"{engine_path.name} changed after it was built"
    return False, "up to date"


def ensure_engine(card: ModelCard, engine_path: str | Path, *,
                  timing_cache: str | Path | None = None,
                  log: Callable[[str], None] = print) -> Path:
    """The viewer's entry: rebuild `engine_path` from the card's viewer graph when it is stale
    (same profile as before where the old sidecar says, else the default) and return it."""
    import tensorrt as trt

    engine_path = Path(engine_path)
    source = card_engine_source(card, trt.__version__)
    stale, reason = engine_is_stale(engine_path, source, trt.__version__)
    if not stale:
        return engine_path
    log(f"rebuilding {engine_path.name}: {reason}")
    profile = Profile.default(card.in_channels, card.spatial_multiple)
    # The last build's profile where its sidecar is readable and the profile still fits.
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, UserError):
        old = Profile.from_dict(json.loads(sidecar_path(engine_path).read_text())["profile"])
        old.check(card.in_channels)
        profile = old
    build_engine(source, engine_path, profile=profile, timing_cache=timing_cache, log=log)
    return engine_path
