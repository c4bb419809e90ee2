"""`device sim inks`, `device sim plot` and `device sim materials`, run as a user runs them."""
import json
import subprocess
import sys

import cv2
import pytest


def device(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "device", "sim", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_inks_json_gives_the_papers_numbers():
    result = device("inks", "--json", "--at", "718,777,807")
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert set(table) == {"cyan", "magenta", "yellow", "black", "paper"}
    assert set(table["cyan"]) == {"718", "777", "807"}
    assert table["cyan"]["718"] == pytest.approx(0.1, abs=0.02)
    assert table["cyan"]["777"] == pytest.approx(0.5, abs=0.02)
    assert table["magenta"]["718"] == pytest.approx(0.7, abs=0.02)
    assert table["yellow"]["777"] == pytest.approx(0.9, abs=0.02)
    assert table["black"]["807"] < 0.1 and table["paper"]["807"] == 1.0


def test_inks_table_by_default():
    result = device("inks")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "718 nm" in lines[1] and "807 nm" in lines[1]
    name, first = lines[2].split()[:2]
    assert name == "cyan" and float(first) == pytest.approx(0.1, abs=0.02)


@pytest.mark.parametrize("bad", ["7x8", "718,,777", "300", "1200", ""])
def test_bad_at_is_one_sentence_and_exit_2(bad):
    result = device("inks", "--at", bad)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().startswith("device: error: --at:")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_plot_writes_a_picture(tmp_path):
    out = tmp_path / "inks.png"
    result = device("plot", "--out", str(out))
    assert result.returncode == 0, result.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 300 and image.shape[1] > 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inks.png"]   # no temp file left


def test_plot_refuses_an_unknown_format_and_a_missing_folder(tmp_path):
    result = device("plot", "--out", str(tmp_path / "inks.bmp"))
    assert result.returncode == 2 and "--out" in result.stderr and "Traceback" not in result.stderr
    result = device("plot", "--out", str(tmp_path / "nowhere" / "inks.png"))
    assert result.returncode == 2 and "does not exist" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_materials_prints_every_check_and_every_familys_readings():
    from device.sim.materials import FAMILIES

    result = device("materials", "--at", "718,850")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    checks = [line for line in lines if line.rstrip().endswith(("ok", "FAILED"))]
    assert len(checks) == 11 and all(line.rstrip().endswith("ok") for line in checks)
    rows = {line.split()[0]: line for line in lines[lines.index("") + 3:]}
    assert set(rows) == set(FAMILIES) and "850 nm" in lines[lines.index("") + 2]
