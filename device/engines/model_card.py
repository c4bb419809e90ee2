"""The model card `ckpt.json`: what the viewer must know to feed an ONNX model and trust it.

`convert` writes it beside `ckpt.onnx`; the viewer reads it with `load_model_card`, which
validates every field and checks the sha256 of each ONNX file it names, so a model that was
swapped or truncated after conversion is refused with one sentence instead of producing
wrong colours. Version 2 adds the viewer graph (`ckpt.viewer.onnx`, the viewer's one per-pixel
path); version 3 its temporal filter and exposure feeds (`noise`, `history`, `state_warp`, the
recurrent `state`); an older card is refused with the command that rebuilds it.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.common.files import atomic_output
from device.common.errors import UserError
from device.engines.viewer_io import OUTPUT_DTYPES

FORMAT = "nightcolor-model-card"
# 3: the viewer graph has the temporal filter; 2: named the viewer graph without it
# (convert/viewer_graph.py); 1 named the network only.
VERSION = 3
OLDER_VERSIONS = (1, 2)
UPGRADE_COMMAND = "python -m convert.viewer"


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks (ONNX files of big U-Nets run to hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Affine:
    """y = x * scale + offset, the value mapping at one edge of the network."""

    scale: float
    offset: float


@dataclass(frozen=True)
class ModelCard:
    """A validated `ckpt.json`; paths are absolute, resolved beside the card."""

    path: Path
    onnx: Path
    onnx_sha256: str
    fp16_onnx: Path | None
    fp16_onnx_sha256: str | None
    input_name: str
    wavelengths_nm: tuple[int, ...]
    from_reflectance: Affine
    output_name: str
    to_srgb: Affine
    spatial_multiple: int
    truth_mode: str
    model: dict
    made_by: dict
    viewer_onnx: Path | None = None          # the viewer graph: raw sub-frames -> 8-bit sRGB
    viewer_onnx_sha256: str | None = None
    viewer_fp16_onnx: Path | None = None     # the same around the FP16 network
    viewer_fp16_onnx_sha256: str | None = None
    viewer_output_dtype: str = "uint8"
    # The viewer graph pads frames to the spatial multiple itself (any camera size); graphs
    # built before it did lack the entry and crash on sizes the multiple does not divide.
    viewer_pads: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def in_channels(self) -> int:
        return len(self.wavelengths_nm)

    @property
    def viewer_graph(self) -> Path:
        """The viewer graph (FP32); only a card read `network_only` may lack it."""
        if self.viewer_onnx is None:
            raise UserError(f"{self.path}: names no viewer graph; add it with "
                            f"`{UPGRADE_COMMAND} {self.path}`.")
        return self.viewer_onnx


def model_card_dict(*, onnx_name: str, onnx_sha256: str, fp16_onnx_name: str | None,
                    fp16_onnx_sha256: str | None, config: dict, made_by: dict,
                    verification: dict | None = None, viewer: dict | None = None) -> dict:
    """The card's JSON for the named ONNX files (beside the card), from a checkpoint config
    that follows the train.checkpoint contract. `viewer`: the viewer graph's entry
    ({"onnx", "onnx_sha256", ["fp16_onnx", "fp16_onnx_sha256"], "output_dtype"})."""
    norm = config["normalisation"]
    card: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                            "onnx": onnx_name, "onnx_sha256": onnx_sha256}
    if fp16_onnx_name is not None:
        card["fp16_onnx"] = fp16_onnx_name
        card["fp16_onnx_sha256"] = fp16_onnx_sha256
    card.update({
        "input": {"name": "nir", "wavelengths_nm": [int(w) for w in config["inputs"]],
                  "layout": "NCHW", "from_reflectance": dict(norm["input"])},
        "output": {"name": "rgb", "layout": "NCHW", "to_srgb": dict(norm["output"])},
        "spatial_multiple": int(config["spatial_multiple"]),
        "truth_mode": config["truth_mode"],
        "model": config["model"],
        "made_by": made_by,
    })
    if viewer is not None:
        card["viewer"] = viewer
    if verification is not None:
        card["verification"] = verification
    return card


def write_model_card(path: str | Path, card: dict) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n")


def load_model_card(path: str | Path, *, check_sha256: bool = True,
                    network_only: bool = False) -> ModelCard:
    """Read and validate a model card; UserError (one sentence naming the file) on any fault.
    `network_only`: a version 1 card is read too and the viewer entry is not required (for
    `python -m convert.viewer`, which adds it)."""
    path = Path(path)
    raw = _read_card(path, network_only)
    reader = _Fields(path, raw)
    inp, out = reader.table("input"), reader.table("output")
    wavelengths = _check_network_fields(path, raw, inp, out)
    onnx = reader.sibling("onnx")
    fp16 = reader.sibling("fp16_onnx") if "fp16_onnx" in raw else None
    card = ModelCard(
        path=path.resolve(),
        onnx=onnx, onnx_sha256=reader.text("onnx_sha256"),
        fp16_onnx=fp16, fp16_onnx_sha256=reader.text("fp16_onnx_sha256") if fp16 else None,
        input_name=_name(path, inp, "input"), wavelengths_nm=wavelengths,
        from_reflectance=_affine(path, inp, "input.from_reflectance"),
        output_name=_name(path, out, "output"), to_srgb=_affine(path, out, "output.to_srgb"),
        spatial_multiple=raw["spatial_multiple"], truth_mode=raw["truth_mode"],
        model=reader.table("model"), made_by=reader.table("made_by"),
        **({} if network_only else _viewer_fields(path, reader)),
        extra={k: v for k, v in raw.items() if k == "verification"},
    )
    if check_sha256:
        check_file_hashes(card)
    return card


def check_file_hashes(card: ModelCard) -> None:
    """Every ONNX file the card names has the sha256 recorded for it, or one sentence says
    which changed after conversion."""
    for onnx_file, expected in ((card.onnx, card.onnx_sha256),
                                (card.fp16_onnx, card.fp16_onnx_sha256),
                                (card.viewer_onnx, card.viewer_onnx_sha256),
                                (card.viewer_fp16_onnx, card.viewer_fp16_onnx_sha256)):
        if onnx_file is not None and file_sha256(onnx_file) != expected:
            raise UserError(f"{onnx_file}: sha256 does not match the one recorded in "
                            f"{card.path} (the file changed after conversion); run convert "
                            f"again.")


def _read_card(path: Path, network_only: bool) -> dict[str, Any]:
    """The card's JSON, once it is a nightcolor card of a version this build reads."""
    if not path.is_file():
        raise UserError(f"{path}: model card not found.")
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable JSON model card ({exc}).") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UserError(f"{path}: not a nightcolor model card (format is not {FORMAT!r}).")
    if raw.get("version") in OLDER_VERSIONS and not network_only:
        raise UserError(_older_version_refusal(path, raw))
    if raw.get("version") not in ((*OLDER_VERSIONS, VERSION) if network_only else (VERSION,)):
        raise UserError(f"{path}: model card version {raw.get('version')!r} is not supported "
                        f"(this build reads version {VERSION}).")
    return raw


def _check_network_fields(path: Path, raw: dict[str, Any], inp: dict[str, Any],
                          out: dict[str, Any]) -> tuple[int, ...]:
    """The network's inputs, layouts, spatial multiple and truth mode; its wavelengths."""
    wavelengths = inp.get("wavelengths_nm")
    if (not isinstance(wavelengths, list) or not wavelengths
            or not all(isinstance(w, int) and w > 0 for w in wavelengths)):
        raise UserError(f"{path}: input.wavelengths_nm must be a non-empty list of positive "
                        f"integers (nm).")
    for edge, name in ((inp, "input"), (out, "output")):
        if edge.get("layout") != "NCHW":
            raise UserError(f"{path}: {name}.layout must be \"NCHW\".")
    spatial_multiple = raw.get("spatial_multiple")
    if not isinstance(spatial_multiple, int) or spatial_multiple < 1:
        raise UserError(f"{path}: spatial_multiple must be a positive integer.")
    if raw.get("truth_mode") not in ("human", "paper"):
        raise UserError(f"{path}: truth_mode must be \"human\" or \"paper\".")
    return tuple(wavelengths)


def _older_version_refusal(path: Path, raw: dict) -> str:
    """Version 1 cards predate the viewer graph, version 2 its temporal filter. Where the
    network ONNX they name is still beside them the graph can be built around it without the
    checkpoint; say how."""
    version = raw.get("version")
    what = "the viewer graph" if version == 1 else "the viewer graph's temporal filter"
    network = raw.get("onnx")
    if isinstance(network, str) and Path(network).name == network \
            and (path.parent / network).is_file():
        return (f"{path}: model card version {version} predates {what}; rebuild it with "
                f"`{UPGRADE_COMMAND} {path}` (builds it around {network}, no checkpoint needed).")
    return (f"{path}: model card version {version} predates {what} and its network ONNX is "
            f"missing; convert the checkpoint again (`python -m convert --fp16 ckpt.pt`).")


def _viewer_fields(path: Path, reader: "_Fields") -> dict[str, Any]:
    viewer = reader.table("viewer")
    sub = _Fields(path, viewer, prefix="viewer.")
    output_dtype = viewer.get("output_dtype", "uint8")
    if output_dtype not in OUTPUT_DTYPES:
        raise UserError(f"{path}: viewer.output_dtype must be "
                        f"{' or '.join(map(json.dumps, OUTPUT_DTYPES))}.")
    fp16 = "fp16_onnx" in viewer
    pads = viewer.get("pads", False)
    if not isinstance(pads, bool):
        raise UserError(f"{path}: viewer.pads must be true or false.")
    return {"viewer_onnx": sub.sibling("onnx"), "viewer_onnx_sha256": sub.text("onnx_sha256"),
            "viewer_fp16_onnx": sub.sibling("fp16_onnx") if fp16 else None,
            "viewer_fp16_onnx_sha256": sub.text("fp16_onnx_sha256") if fp16 else None,
            "viewer_output_dtype": output_dtype, "viewer_pads": pads}


class _Fields:
    """Typed access to the card's top-level keys, each failure one sentence."""

    def __init__(self, path: Path, raw: dict[str, Any], prefix: str = ""):
        self.path, self.raw, self.prefix = path, raw, prefix

    def table(self, key: str) -> dict[str, Any]:
        value = self.raw.get(key)
        if not isinstance(value, dict):
            raise UserError(f"{self.path}: field {self.prefix + key!r} is missing or not an "
                            f"object.")
        return value

    def text(self, key: str) -> str:
        value = self.raw.get(key)
        if not isinstance(value, str) or not value:
            raise UserError(f"{self.path}: field {self.prefix + key!r} is missing or not a "
                            f"string.")
        return value

    def sibling(self, key: str) -> Path:
        """A file named by the card; only a bare name beside the card is allowed, so a card
        cannot point the viewer at an arbitrary file elsewhere on disk."""
        name = self.text(key)
        if Path(name).name != name:
            raise UserError(f"{self.path}: field {self.prefix + key!r} must name a file beside "
                            f"the card, not {name!r}.")
        target = self.path.parent / name
        if not target.is_file():
            raise UserError(f"{self.path}: {self.prefix + key} file {target} is missing.")
        return target.resolve()


def _name(path: Path, edge: dict, which: str) -> str:
    name = edge.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{path}: {which}.name must be a non-empty string.")
    return name


def _affine(path: Path, edge: dict, which: str) -> Affine:
    value = edge.get(which.split(".")[1])
    if not isinstance(value, dict) or not all(
            isinstance(value.get(k), (int, float)) and math.isfinite(value[k])
            for k in ("scale", "offset")):
        raise UserError(f"{path}: {which} must be {{\"scale\": number, \"offset\": number}}.")
    return Affine(float(value["scale"]), float(value["offset"]))
