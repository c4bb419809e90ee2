"""install.sh staged into a temporary root (no systemd, no root needed) and verify.sh on its unit."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SYSTEMD = REPO / "systemd"
VENV = Path(sys.prefix)                      # the venv running these tests: it has bin/device


def install(root: Path, *args: str, script: Path = SYSTEMD / "install.sh"):
    return subprocess.run([str(script), "--root", str(root), "--venv", str(VENV), *args],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_install_lays_down_user_config_model_and_unit_then_uninstalls(tmp_path, tiny_model_onnx):
    root = tmp_path / "root"
    root.mkdir()
    done = install(root, "--checkpoint", str(tiny_model_onnx.with_suffix(".pt")))
    assert done.returncode == 0, done.stderr + done.stdout

    unit = (root / "etc/systemd/system/nightcolor.service").read_text()
    assert f"ExecStart={VENV}/bin/device run --config /etc/nightcolor/nightcolor.toml" in unit
    assert "/opt/nightcolor" not in unit
    config = root / "etc/nightcolor/nightcolor.toml"
    assert config.read_text() == (SYSTEMD / "nightcolor.toml").read_text()
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
    done = install(root)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("install.sh: error: ")
    assert "pass --checkpoint ckpt.pt" in lines[0]
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
