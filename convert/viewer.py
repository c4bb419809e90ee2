"""Write and check the viewer graphs of a model: `ckpt.viewer.onnx` around the FP32 network and
`ckpt.viewer.fp16.onnx` around the FP16 one, each checked before it is kept:
- FP32 viewer graph vs the classic per-pixel path (numpy normalisation, cv2.warpAffine, the FP32
  network in onnxruntime, numpy sRGB): within one 8-bit code on >= 99.9 % of pixels;
- FP16 viewer graph vs the FP32 one: >= 40 dB PSNR, the network's own FP16 bound.
Inputs: random raw frames (a smooth scene under a vignetted white, a dark pedestal, noise,
sub-pixel motion with rotation), calibrated and uncalibrated, and with `--data` real raw
captures of a capture set with its own dark and white references.

    python -m convert.viewer ckpt.json     # add the viewer graphs to a version 1 card

needs only the network ONNX beside the card (no checkpoint, no torch): the way the shipped
model (device/assets) is regenerated.
"""
from __future__ import annotations

import argparse
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnx

from convert import viewer_graph
from convert.bounds import FP16_MIN_PSNR_DB, onnx_session, worst_sample
from device.common.command_line import run_cli
from device.common.errors import UserError
from device.common.files import atomic_output
from device.engines import model_card, viewer_io
from device.engines.parity import srgb_psnr_db as srgb_psnr_db
from device.engines.model_card import Affine
from device.viewer.classic import classic_srgb
from device.viewer.preprocess import Calibration, CalibrationPlanes, Normaliser, brightest_paper

MIN_WITHIN_ONE_CODE = 0.999
SAMPLE_SIZE = (64, 80)          # H, W: differ, so a swapped axis shows
ODD_SAMPLE_SIZE = (57, 75)      # odd: the viewer graph must pad to the network's multiple
REAL_SCENES = 3


@dataclass(frozen=True)
class Mappings:
    """What the classic path and the viewer graph read from a card (before the card exists)."""
    wavelengths_nm: tuple[int, ...]
    from_reflectance: Affine
    to_srgb: Affine
    spatial_multiple: int


@dataclass(frozen=True)
class ViewerSample:
    label: str
    raws: dict[int, np.ndarray]            # nm -> H x W float32 raw
    calibration: Calibration | None
    onto_newest: dict[int, np.ndarray]     # nm -> 2x3 warp of that plane onto the newest


def viewer_paths(out_dir: Path, stem: str) -> tuple[Path, Path]:
    return out_dir / f"{stem}.viewer.onnx", out_dir / f"{stem}.viewer.fp16.onnx"


def random_samples(wavelengths, seed: int = 0,
                   size: tuple[int, int] = SAMPLE_SIZE) -> list[ViewerSample]:
    """A textured print under each LED, calibrated and uncalibrated, the older sub-frames
    moved by a sub-pixel shift and a small rotation; `size` (H, W) at least 8 a side."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    vignette = 1.0 - 0.3 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    dark = (64 + rng.normal(0, 1.0, (h, w))).astype(np.float32)
    whites, raws = {}, {}
    for i, nm in enumerate(wavelengths):
        white = dark + 900 * (1 - 0.2 * i) * vignette * (1 + 0.03 * rng.standard_normal((h, w)))
        scene = cv2.resize(rng.random((h // 8, w // 8)).astype(np.float32), (w, h),
                           interpolation=cv2.INTER_CUBIC).clip(0.02, 1.0)
        whites[nm] = white.astype(np.float32)
        raws[nm] = (dark + (white - dark) * scene + rng.normal(0, 2.0, (h, w))).astype(np.float32)
    onto = {nm: _rigid(0.004 * (len(wavelengths) - 1 - i), 1.7 - i, -0.9 + 0.4 * i)
            for i, nm in enumerate(wavelengths)}
    onto[wavelengths[-1]] = np.eye(2, 3, dtype=np.float32)
    calibration = Calibration(dark, whites)
    return [ViewerSample(f"random {h}x{w} calibrated", raws, calibration, onto),
            ViewerSample(f"random {h}x{w} uncalibrated", raws, None, onto)]


def default_samples(wavelengths) -> list[ViewerSample]:
    """What every viewer graph is checked on without a capture set: random frames of
    SAMPLE_SIZE and of ODD_SAMPLE_SIZE, which no spatial multiple above 1 divides, so the
    graph's pad and crop are held to the classic path's."""
    return random_samples(wavelengths) + random_samples(wavelengths, seed=1,
                                                        size=ODD_SAMPLE_SIZE)


def capture_samples(data_dir: Path, wavelengths, multiple: int) -> list[ViewerSample]:
    """Real raw captures of a capture set with its dark and white references, cropped to the
    network's multiple, the older sub-frames moved by a known sub-pixel shift."""
    from device.captures import CaptureSet

    captures = CaptureSet.open(data_dir)
    missing = [nm for nm in wavelengths if nm not in captures.wavelengths]
    if missing:
        raise UserError(f"{data_dir}: capture set has no {', '.join(f'{nm} nm' for nm in missing)} "
                        f"captures, which the model takes as input.")
    h, w = (d // multiple * multiple for d in captures.size)
    refs = captures.references()
    crop = (slice(0, h), slice(0, w))
    calibration = Calibration(refs["dark"][crop], {nm: refs["white"][nm][crop]
                                                   for nm in wavelengths})
    onto = {nm: _rigid(0.0, 0.6 * (len(wavelengths) - 1 - i), -0.3 * (len(wavelengths) - 1 - i))
            for i, nm in enumerate(wavelengths)}
    split = captures.split
    scenes = (split.get("test", []) + split.get("val", []) + split.get("train", []))
    return [ViewerSample(f"capture {scene}",
                         {nm: captures.load_raw(scene, nm)[crop].astype(np.float32)
                          for nm in wavelengths}, calibration, onto)
            for scene in scenes[:REAL_SCENES]]


def _rigid(angle: float, dx: float, dy: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.float32([[c, -s, dx], [s, c, dy]])


def feeds_for(sample: ViewerSample, wavelengths) -> dict[str, np.ndarray]:
    """The viewer graph's inputs for a sample, as the viewer's Colorizer builds them."""
    shape = next(iter(sample.raws.values())).shape
    planes = CalibrationPlanes(sample.calibration, wavelengths, shape, 1.0)
    scale = [1.0 if planes.calibrated else 1.0 / brightest_paper(sample.raws[nm])
             for nm in wavelengths]
    feeds = {viewer_io.raw_name(nm): sample.raws[nm] for nm in wavelengths}
    feeds.update({viewer_io.DARK: planes.dark, viewer_io.GAIN: planes.gain,
                  viewer_io.SCALE: np.float32(scale).reshape(-1, 1, 1),
                  viewer_io.WARP: np.stack([cv2.invertAffineTransform(sample.onto_newest[nm])
                                            for nm in wavelengths]).astype(np.float32)})
    return feeds


def classic_reference(sample: ViewerSample, network_infer, mappings: Mappings) -> np.ndarray:
    return classic_srgb(network_infer, sample.raws, Normaliser(sample.calibration), None,
                        sample.onto_newest, mappings)


def within_one_code(viewer_infer: Callable[[dict], np.ndarray], network_infer,
                    samples: list[ViewerSample], mappings: Mappings, what: str) -> float:
    """Lowest fraction of pixel channels within one code of the classic path over the samples;
    UserError under MIN_WITHIN_ONE_CODE."""
    def score(sample: ViewerSample) -> float:
        got = viewer_infer(feeds_for(sample, mappings.wavelengths_nm)).astype(np.int16)
        expected = classic_reference(sample, network_infer, mappings).astype(np.int16)
        if got.shape != expected.shape:
            raise UserError(f"{what} gives {got.shape} on {sample.label}, not {expected.shape}.")
        return float(np.mean(np.abs(got - expected) <= 1))

    worst, worst_label = worst_sample(samples, score)
    if worst < MIN_WITHIN_ONE_CODE:
        raise UserError(f"{what} is within one code of the classic path on only "
                        f"{100 * worst:.2f} % of pixels (on {worst_label}), under the "
                        f"{100 * MIN_WITHIN_ONE_CODE:g} % required.")
    return worst


def fp16_viewer_psnr(fp32_infer, fp16_infer, samples: list[ViewerSample], wavelengths,
                     what: str) -> float:
    """Lowest PSNR of the FP16 viewer graph's sRGB against the FP32 one's; UserError under
    FP16_MIN_PSNR_DB."""
    def score(sample: ViewerSample) -> float:
        feeds = feeds_for(sample, wavelengths)
        return srgb_psnr_db(fp32_infer(feeds), fp16_infer(feeds))

    worst, worst_label = worst_sample(samples, score)
    if not worst >= FP16_MIN_PSNR_DB:
        raise UserError(f"{what} reaches only {worst:.1f} dB PSNR against the FP32 viewer graph "
                        f"(on {worst_label}), under the {FP16_MIN_PSNR_DB:g} dB required.")
    return worst


def session_runner(path: Path):
    session = onnx_session(path)
    return lambda feeds: session.run([viewer_io.OUTPUT], feeds)[0]


def engine_runner(runner) -> Callable[[dict], np.ndarray]:
    """Feeds -> sRGB through a TensorRT `EngineRunner`, calibration planes set resident as the
    viewer sets them."""
    def run(feeds: dict) -> np.ndarray:
        for name in viewer_io.RESIDENT:
            runner.set_resident(name, feeds[name])
        frame = {k: v for k, v in feeds.items() if k not in viewer_io.RESIDENT}
        return runner.run(frame)[viewer_io.OUTPUT]
    return run


def _network_runner(path: Path):
    session = onnx_session(path)
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def write_viewer_graphs(stack: contextlib.ExitStack, out_dir: Path, stem: str,
                        network_tmp: Path, fp16_network_tmp: Path | None, mappings: Mappings,
                        samples: list[ViewerSample], output_dtype: str,
                        log: Callable[[str], None]) -> tuple[dict, dict]:
    """Build, check and write (atomically, renamed when `stack` closes) the viewer graphs
    around the network ONNX files just written; return (the card's "viewer" entry, numbers)."""
    fp32_path, fp16_path = viewer_paths(out_dir, stem)
    numbers: dict = {}
    build = lambda network: viewer_graph.build_viewer_graph(   # noqa: E731
        onnx.load(network), mappings.wavelengths_nm, mappings.from_reflectance,
        mappings.to_srgb, output_dtype, spatial_multiple=mappings.spatial_multiple)
    log(f"building the viewer graph (raw sub-frames -> {output_dtype} sRGB) around "
        f"the network")
    fp32_tmp = stack.enter_context(atomic_output(fp32_path))
    onnx.save(build(network_tmp), fp32_tmp)
    fp32_run = session_runner(fp32_tmp)
    numbers["viewer_within_one_code"] = within_one_code(
        fp32_run, _network_runner(network_tmp), samples, mappings, "FP32 viewer graph")
    log(f"FP32 viewer graph vs the classic path: {100 * numbers['viewer_within_one_code']:.3f} "
        f"% of pixels within one code (limit {100 * MIN_WITHIN_ONE_CODE:g} %)")
    entry = {"onnx": fp32_path.name, "onnx_sha256": model_card.file_sha256(fp32_tmp),
             "output_dtype": output_dtype, "inputs": list(viewer_io.input_names(
                 mappings.wavelengths_nm)), "output": viewer_io.OUTPUT,
             "pads": True}      # any frame size: the viewer's config check reads it
    if fp16_network_tmp is not None:
        fp16_tmp = stack.enter_context(atomic_output(fp16_path))
        onnx.save(build(fp16_network_tmp), fp16_tmp)
        numbers["viewer_fp16_psnr_db"] = fp16_viewer_psnr(
            fp32_run, session_runner(fp16_tmp), samples, mappings.wavelengths_nm,
            "FP16 viewer graph")
        log(f"FP16 viewer graph vs FP32: PSNR {numbers['viewer_fp16_psnr_db']:.1f} dB "
            f"(limit {FP16_MIN_PSNR_DB:g} dB)")
        entry.update(fp16_onnx=fp16_path.name, fp16_onnx_sha256=model_card.file_sha256(fp16_tmp))
    return entry, numbers


def upgrade_card(card_path: Path, fp16: bool, data_dir: Path | None = None,
                 output_dtype: str = "uint8", log: Callable[[str], None] = print) -> dict:
    """Add the viewer graphs to a card (version 1, or 2 to rebuild them) from the network ONNX
    beside it; with `fp16` also the FP16 network where the card lacks it. Rewrites the card as
    the current version; nothing is written unless every check passes."""
    card_path = Path(card_path)
    # Format, version (1 or current), every field and sha256; `raw` is then the same valid card.
    card = model_card.load_model_card(card_path, network_only=True)
    raw = json.loads(card_path.read_text())
    raw["version"] = model_card.VERSION
    raw.pop("viewer", None)
    mappings = Mappings(card.wavelengths_nm, card.from_reflectance, card.to_srgb,
                        card.spatial_multiple)
    samples = default_samples(card.wavelengths_nm)
    if data_dir is not None:
        samples += capture_samples(data_dir, card.wavelengths_nm, card.spatial_multiple)
    out_dir, stem = card_path.parent, card_path.stem
    with contextlib.ExitStack() as stack:
        card_tmp = stack.enter_context(atomic_output(card_path))
        fp16_network = card.fp16_onnx
        if fp16 and fp16_network is None:
            from convert.export import to_fp16

            fp16_network = out_dir / f"{stem}.fp16.onnx"
            fp16_tmp = stack.enter_context(atomic_output(fp16_network))
            log(f"converting {card.onnx.name} to FP16")
            onnx.save(to_fp16(onnx.load(card.onnx)), fp16_tmp)
            raw["fp16_onnx"], raw["fp16_onnx_sha256"] = fp16_network.name, \
                model_card.file_sha256(fp16_tmp)
            fp16_network = fp16_tmp
        entry, numbers = write_viewer_graphs(stack, out_dir, stem, card.onnx, fp16_network,
                                             mappings, samples, output_dtype, log)
        raw["viewer"] = entry
        raw.setdefault("verification", {}).update(numbers)
        model_card.write_model_card(card_tmp, raw)
    log(f"wrote {entry['onnx']}{', ' + entry['fp16_onnx'] if 'fp16_onnx' in entry else ''} "
        f"and {card_path} (version {model_card.VERSION})")
    return raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m convert.viewer", description=__doc__.splitlines()[0],
        epilog="Builds CARD's viewer graphs around the network ONNX beside it (no checkpoint "
               "or torch needed) and rewrites CARD as version "
               f"{model_card.VERSION}.")
    parser.add_argument("card", type=Path, metavar="ckpt.json", help="the model card")
    parser.add_argument("--fp16", action="store_true",
                        help="also the FP16 viewer graph (and the FP16 network if missing)")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="capture set whose raw scenes join the parity checks")
    parser.add_argument("--output-dtype", choices=viewer_io.OUTPUT_DTYPES, default="uint8",
                        help="uint8 (default), or float32 codes for TensorRT 8.5 (JetPack 5)")
    args = parser.parse_args(argv)

    def work() -> int:
        upgrade_card(args.card, args.fp16, args.data, args.output_dtype)
        return 0

    return run_cli("convert.viewer", work)


if __name__ == "__main__":
    raise SystemExit(main())
