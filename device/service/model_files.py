"""The files a converted model is made of, read from its card, and their copy onto the device.

`convert --fp16 ckpt.pt` (on the workstation) writes a folder: the model card `ckpt.json` and
the files it lists. A file entry is any `NAME` whose `NAME_sha256` sits beside it, at any depth
of the card (`onnx`, `fp16_onnx`, and `viewer.onnx`, `viewer.fp16_onnx` for the viewer graph;
whatever else convert adds later is found the same way), so
`install.sh --model FOLDER|CARD` copies exactly what the card lists, each file checked against
its sha256, without naming any of them. Files take the stem of the configured card
(`best.fp16.onnx` -> `ckpt.fp16.onnx` when the config names ckpt.json) and the card, rewritten
to those names, is written last: a viewer never sees a card whose files are not all there.

    python -m device.service.model_files check SRC          # prints the card SRC stands for
    python -m device.service.model_files install SRC --to /var/lib/nightcolor/ckpt.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from device.common.command_line import run_cli
from device.common.errors import UserError
from device.common.files import atomic_output
from device.engines.model_card import FORMAT, file_sha256, load_model_card, write_model_card


def _is_card(path: Path) -> bool:
    try:
        return json.loads(path.read_text()).get("format") == FORMAT
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False


def find_card(source: str | Path) -> Path:
    """The model card `source` names: the card itself, or the one card in a folder."""
    source = Path(source)
    if source.is_dir():
        cards = sorted(p for p in source.glob("*.json") if _is_card(p))
        if len(cards) != 1:
            found = ", ".join(p.name for p in cards) or "none"
            raise UserError(f"--model {source}: a converted model folder holds exactly one model "
                            f"card (the .json convert writes), found {found}.")
        return cards[0]
    if source.suffix == ".json" and source.is_file():
        if not _is_card(source):
            raise UserError(f"--model {source}: not a nightcolor model card.")
        return source
    raise UserError(f"--model {source}: expected a checkpoint (.pt), a folder written by "
                    "`convert --fp16`, or its model card (.json).")


def _file_entries(node: dict, where: tuple[str, ...] = ()):
    """(path of keys, file name, sha256) for each file entry in a card or a block of it."""
    for key, value in node.items():
        if isinstance(value, dict):
            yield from _file_entries(value, (*where, key))
        elif isinstance(value, str) and isinstance(node.get(f"{key}_sha256"), str):
            yield (*where, key), value, node[f"{key}_sha256"]


def listed_files(card_path: Path) -> dict[str, str]:
    """{entry ("onnx", "viewer.fp16_onnx", ...): file name} for every file the card lists."""
    raw = json.loads(card_path.read_text())
    return {".".join(keys): name for keys, name, _ in _file_entries(raw)}


def check(source: str | Path) -> Path:
    """Validate the converted model `source` names (card fields and every listed file's sha256);
    return its card."""
    card_path = find_card(source)
    load_model_card(card_path)                # every field, and the ONNX files it knows
    for keys, name, sha256 in _file_entries(json.loads(card_path.read_text())):
        path = card_path.parent / name
        if not path.is_file():
            raise UserError(f"{card_path}: lists {'.'.join(keys)} {name}, which is not beside it.")
        if file_sha256(path) != sha256:
            raise UserError(f"{path}: sha256 does not match the one recorded in {card_path} "
                            "(the file changed after conversion); run convert again.")
    return card_path


def _renamed(name: str, old_stem: str, new_stem: str) -> str:
    return new_stem + name[len(old_stem):] if name.startswith(old_stem + ".") else name


def install(source: str | Path, dest_card: Path) -> list[Path]:
    """Copy the checked model `source` beside `dest_card` under its stem; the card goes last."""
    card_path = check(source)
    old_stem, new_stem = card_path.name.split(".")[0], dest_card.name.split(".")[0]
    raw = json.loads(card_path.read_text())
    dest_card.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for keys, name, _ in list(_file_entries(raw)):
        block = raw
        for key in keys[:-1]:
            block = block[key]
        block[keys[-1]] = _renamed(name, old_stem, new_stem)
        target = dest_card.parent / block[keys[-1]]
        with atomic_output(target) as tmp:
            shutil.copyfile(card_path.parent / name, tmp)
        written.append(target)
    write_model_card(dest_card, raw)
    return [*written, dest_card]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device.service.model_files",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print the card of a converted model").add_argument("source")
    p = sub.add_parser("install", help="copy a converted model beside a card path")
    p.add_argument("source")
    p.add_argument("--to", type=Path, required=True, help="the model card path to install as")
    args = parser.parse_args(argv)

    def work() -> None:
        if args.command == "check":
            print(check(args.source))
        else:
            for path in install(args.source, args.to):
                print(path)
    return run_cli("model_files", work)


if __name__ == "__main__":
    sys.exit(main())
