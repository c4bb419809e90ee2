"""`python -m convert` as users run it: bad input ends in one sentence, exit 2, no traceback
and no partial output; a malicious checkpoint never runs its code."""
from __future__ import annotations

import contextlib
import importlib.util
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from convert.cli import main


def run_convert(*args) -> subprocess.CompletedProcess:
    """The command in its own process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "convert", *map(str, args)],
                          capture_output=True, text=True, timeout=240)


def call_main(capsys, *args) -> subprocess.CompletedProcess:
    """`convert.cli.main` in this process (no second torch import): same exit code and
    streams, for the many refusal cases."""
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, exactly one line on stderr in argparse's style, naming what is wrong."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("convert: error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    for word in words:
        assert word in lines[0]


def onnx_outputs(folder: Path) -> list[Path]:
    """Finished or half-written ONNX and card files (atomic temps end in .part.<suffix>)."""
    return [p for p in folder.rglob("*") if p.suffix in (".onnx", ".engine")
            or ".part" in p.name or p.name.endswith(".json")]


def test_help_reads_like_trtexec():
    result = run_convert("--help")
    assert result.returncode == 0
    for flag in ("--fp16", "--minShapes", "--optShapes", "--maxShapes", "--timingCacheFile",
                 "--workspace", "--min-shape", "nir:1x3x720x1280", "MiB"):
        assert flag in result.stdout


@pytest.mark.slow
def test_converts_with_trtexec_spelling_and_says_where_engines_are_built(make_checkpoint,
                                                                         tmp_path):
    ckpt = make_checkpoint("edge")
    result = run_convert("--fp16", "--minShapes=nir:1x3x64x64", "--optShapes=nir:1x3x256x256",
                         "--max-shape", "1x3x512x512", "--timingCacheFile", tmp_path / "t.cache",
                         ckpt)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in tmp_path.iterdir()} >= {"edge.onnx", "edge.fp16.onnx", "edge.json"}
    assert "max abs error" in result.stdout and "PSNR" in result.stdout
    if importlib.util.find_spec("tensorrt") is None:
        last = result.stdout.strip().splitlines()[-1]
        assert "engine is built on the Jetson from this folder's ONNX" in last


class WritesFile:
    """Unpickling this calls open(path, "w"): it creates the file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


class RunsShell:
    """Unpickling this runs a shell command that creates the file."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("payload", [WritesFile, RunsShell])
@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_malicious_checkpoint_is_refused_and_its_code_never_runs(tmp_path, capsys, payload,
                                                                 writer):
    marker = tmp_path / "pwned.txt"
    ckpt = tmp_path / "evil.pt"
    evil = {"format": "nightcolor-checkpoint", "version": 1, "config": "{}",
            "state_dict": {}, "extra": payload(marker)}
    if writer == "torch.save":
        torch.save(evil, ckpt)
    else:
        with open(ckpt, "wb") as f:
            pickle.dump(evil, f)
    assert not marker.exists()

    # In this process: had convert unpickled the payload, the marker would now exist.
    assert_refused(call_main(capsys, "--fp16", ckpt), "evil.pt")
    assert not marker.exists()
    assert onnx_outputs(tmp_path) == []

    # Control: an unsafe load of the same file does write it, so the check above has teeth.
    with contextlib.suppress(Exception):   # what the payload returns is no checkpoint
        torch.load(ckpt, weights_only=False)
    assert marker.exists()


def _diverged_checkpoint(make_checkpoint) -> Path:
    """A checkpoint as a diverged training run leaves it: NaN weights (it loads fine)."""
    from train.models import build_model

    model = build_model({"name": "unet", "base": 8}).eval()
    with torch.no_grad():
        model.head.weight.fill_(float("nan"))
    return make_checkpoint("unet", model=model)


@pytest.mark.parametrize("case", ["missing file", "wrong extension", "unknown model",
                                  "out is a file", "out does not exist", "target is a folder",
                                  "shape of another channel count",
                                  "opset too old", "config without normalisation",
                                  "a noise-level input", "diverged weights"])
def test_bad_input_is_one_sentence_and_leaves_no_onnx(make_checkpoint, tmp_path, capsys, case):
    if case == "missing file":
        args, words = [tmp_path / "nope.pt"], ("nope.pt", "no such checkpoint")
    elif case == "wrong extension":
        ckpt = make_checkpoint("edge").rename(tmp_path / "edge.ckpt")
        args, words = [ckpt], ("edge.ckpt", ".pt")
    elif case == "unknown model":
        config = {"model": {"name": "resnet", "in_channels": 3}, "inputs": [718, 777, 807],
                  "truth_mode": "human", "spatial_multiple": 16,
                  "normalisation": {"input": {"scale": 2.0, "offset": -1.0},
                                    "output": {"scale": 0.5, "offset": 0.5}}}
        args, words = [make_checkpoint("edge", config=config)], ("edge.pt", "unknown model")
    elif case == "out is a file":
        (tmp_path / "file").write_text("x")
        args, words = ["--out", tmp_path / "file", make_checkpoint("edge")], ("file",)
    elif case == "out does not exist":
        args, words = ["--out", tmp_path / "no" / "dir", make_checkpoint("edge")], ("no/dir",)
    elif case == "target is a folder":
        (tmp_path / "edge.fp16.onnx").mkdir()
        args, words = ["--fp16", make_checkpoint("edge")], ("edge.fp16.onnx", "not a file")
    elif case == "shape of another channel count":
        args, words = ["--maxShapes=nir:1x4x2048x2048", make_checkpoint("edge")], ("3 input",)
    elif case == "opset too old":
        args, words = ["--opset", "13", make_checkpoint("edge")], ("--opset 13",)
    elif case == "config without normalisation":
        from train.models import build_model

        model = build_model({"name": "edge", "base": 8})
        config = {"model": model.config, "inputs": [718, 777, 807], "truth_mode": "human",
                  "spatial_multiple": 16}
        args, words = [make_checkpoint("edge", config=config, model=model)], ("'normalisation'",)
    elif case == "a noise-level input":   # train fit --noise-input: not in the viewer graph
        from train.models import build_model

        model = build_model({"name": "edge", "base": 8, "noise_input": 1})
        args, words = [make_checkpoint("edge", model=model)], ("noise level", "viewer graph")
    else:  # diverged weights: refused after the export, so the temp ONNX must go too
        args, words = ["--fp16", _diverged_checkpoint(make_checkpoint)], ("NaN",)
    assert_refused(call_main(capsys, *args), *words)
    assert [p for p in onnx_outputs(tmp_path) if p.is_file()] == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_read_only_output_folder_is_refused(make_checkpoint, tmp_path, capsys):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert_refused(call_main(capsys, "--out", out, make_checkpoint("edge")), "not writable")
        assert list(out.iterdir()) == []
    finally:
        out.chmod(0o755)
