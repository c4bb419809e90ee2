"""install.sh staged into a temporary root (no systemd, no root needed) and verify.sh on its unit.

These run install.sh against the venv running the tests (PyPI's OpenCV, no GStreamer); the
Jetson path (a fresh venv on the system OpenCV, no torch) is test_jetpack_install.py.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SYSTEMD = REPO / "systemd"
VENV = Path(sys.prefix)                      # the venv running these tests: it has bin/device
EXAMPLE = (SYSTEMD / "nightcolor.toml").read_text()
# The example's HDMI output is drm://, which needs GStreamer; this venv's OpenCV may not have it.
HEADLESS = EXAMPLE.replace('uri = "drm://nvidia-drm"', 'uri = "null://"')


def opencv_has_gstreamer() -> bool:
    import cv2
    return re.search(r"GStreamer:\s*YES", cv2.getBuildInformation()) is not None


def seed_config(root: Path, text: str = HEADLESS) -> Path:
    """An edited config already on the device: install.sh keeps it."""
    config = root / "etc/nightcolor/nightcolor.toml"
    config.parent.mkdir(parents=True)
    config.write_text(text)
    return config


def install(root: Path, *args: str, script: Path = SYSTEMD / "install.sh"):
    return subprocess.run([str(script), "--root", str(root), "--venv", str(VENV), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_install_lays_down_user_config_model_and_unit_then_uninstalls(tmp_path, tiny_model_onnx):
    root = tmp_path / "root"
    root.mkdir()
    config = seed_config(root)
    # --checkpoint: the old spelling of --model, with a checkpoint (torch is in this venv).
    done = install(root, "--checkpoint", str(tiny_model_onnx.with_suffix(".pt")))
    assert done.returncode == 0, done.stderr + done.stdout

    unit = (root / "etc/systemd/system/nightcolor.service").read_text()
    assert f"ExecStart={VENV}/bin/device run --config /etc/nightcolor/nightcolor.toml" in unit
    assert "/opt/nightcolor" not in unit
    assert config.read_text() == HEADLESS
    assert (root / "etc/udev/rules.d/60-nightcolor-gpio.rules").is_file()
    models = root / "var/lib/nightcolor"
    for name in ("ckpt.pt", "ckpt.onnx", "ckpt.json", "ckpt.fp16.onnx"):  # venv's convert --fp16
        assert (models / name).is_file(), sorted(p.name for p in models.iterdir())
    if shutil.which("systemd-sysusers"):
        passwd = (root / "etc/passwd").read_text()
        assert any(line.startswith("nightcolor:") and line.endswith(":/usr/sbin/nologin")
                   for line in passwd.splitlines())
        groups = {line.split(":")[0]: line.split(":")[3].split(",")
                  for line in (root / "etc/group").read_text().splitlines()}
        assert "nightcolor" in groups["gpio"] and "nightcolor" in groups["video"]

    # Again, with the config edited on the device: it is kept, and the model is not redone.
    config.write_text(config.read_text().replace("fps = 60.0", "fps = 30.0"))
    onnx_mtime = (models / "ckpt.onnx").stat().st_mtime_ns
    again = install(root)
    assert again.returncode == 0, again.stderr
    assert "keeping /etc/nightcolor/nightcolor.toml" in again.stdout
    assert "model up to date" in again.stdout
    assert "fps = 30.0" in config.read_text()
    assert (models / "ckpt.onnx").stat().st_mtime_ns == onnx_mtime

    gone = install(root, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not (root / "etc/systemd/system/nightcolor.service").exists()
    assert config.is_file() and (models / "ckpt.onnx").is_file()       # kept without --purge
    (root / "opt/nightcolor/venv").mkdir(parents=True)          # the default prefix's venv
    (root / "usr/lib").mkdir(parents=True)
    purged = install(root, "--uninstall", "--purge")
    assert purged.returncode == 0, purged.stderr
    assert not config.exists() and not models.exists()
    assert not (root / "opt/nightcolor").exists()
    kept = install(root, "--uninstall", "--purge", "--prefix", "/usr")  # not a prefix of ours
    assert kept.returncode == 0, kept.stderr
    assert (root / "usr/lib").is_dir()


def test_install_without_a_model_refuses_in_one_sentence_and_writes_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    seed_config(root)
    done = install(root)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install.sh: error: ")
    assert "pass --model with the folder `convert --fp16` wrote" in lines[0]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == [
        "etc", "etc/nightcolor", "etc/nightcolor/nightcolor.toml"]


def test_install_copies_a_converted_folder_under_the_configured_name(tmp_path):
    """What a Jetson does without torch: the folder convert wrote (here the shipped edge model,
    edge.json and the files it lists) lands as the config's ckpt.json + ckpt.*, the card
    rewritten."""
    from device.engines.model_card import load_model_card
    from device.service import model_files

    root = tmp_path / "root"
    root.mkdir()
    seed_config(root)
    done = install(root, "--model", str(REPO / "device/assets"))
    assert done.returncode == 0, done.stderr
    models = root / "var/lib/nightcolor"
    listed = model_files.listed_files(REPO / "device/assets/edge.json")   # viewer graph too
    assert sorted(p.name for p in models.iterdir()) == sorted(
        ["ckpt.json", *("ckpt" + name[len("edge"):] for name in listed.values())])
    card = load_model_card(models / "ckpt.json")          # sha256 checked against the copy
    assert card.onnx == (models / "ckpt.onnx").resolve()
    assert "engine: TensorRT is not installed" in done.stdout
    # Its card alone names the same model.
    again = install(root, "--model", str(REPO / "device/assets/edge.json"))
    assert again.returncode == 0, again.stderr


def test_install_refuses_a_model_folder_whose_file_changed(tmp_path):
    source = tmp_path / "model"
    shutil.copytree(REPO / "device/assets", source)
    with open(source / "edge.onnx", "ab") as f:
        f.write(b"\0")
    root = tmp_path / "root"
    root.mkdir()
    seed_config(root)
    done = install(root, "--model", str(source))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "sha256 does not match" in lines[0], done.stderr
    assert not (root / "var").exists()


@pytest.mark.skipif(opencv_has_gstreamer(), reason="this OpenCV has GStreamer: nothing to refuse")
def test_install_refuses_a_gstreamer_display_without_gstreamer_in_one_sentence(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    done = install(root, "--model", str(REPO / "device/assets"))   # the example: drm://
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install.sh: error: "), done.stderr
    assert "display.uri 'drm://nvidia-drm' needs OpenCV with GStreamer" in lines[0]
    assert "python3-opencv" in lines[0]
    assert list(root.iterdir()) == []


def test_install_refuses_unknown_options(tmp_path):
    done = install(tmp_path, "--prefixx", "/opt")
    assert done.returncode == 2
    assert done.stderr.strip() == "install.sh: error: unknown option '--prefixx' (see --help)."


needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="systemd-analyze absent (apt-get install systemd)")


@needs_systemd_analyze
def test_the_unit_passes_systemd_analyze_verify():
    done = subprocess.run([str(SYSTEMD / "verify.sh"), str(VENV)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "passes systemd-analyze verify" in done.stdout


@needs_systemd_analyze
def test_verify_fails_on_a_misspelt_key(tmp_path):
    # systemd-analyze itself exits 0 on this (a warning); verify.sh must not.
    copy = tmp_path / "systemd"
    shutil.copytree(SYSTEMD, copy)
    unit = copy / "nightcolor.service"
    unit.write_text(unit.read_text().replace("WatchdogSec=", "WatchdgSec="))
    done = subprocess.run([str(copy / "verify.sh"), str(VENV)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1
    assert "Unknown key" in done.stderr and "WatchdgSec" in done.stderr
