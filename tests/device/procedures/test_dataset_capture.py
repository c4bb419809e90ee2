"""The real-rig dataset protocol, run through the simulated camera and LEDs."""
import subprocess
import sys

import numpy as np

from device.captures import CaptureSet

CONFIG = """
[camera]
uri = "sim://"
width = 64
height = 48
exposure_ms = 3.0

[leds]
uri = "sim://"

[strobe]
wavelengths = [447, 529, 604, 718, 777, 807]
margin_ms = 10.0

[sim]
scene = "chart"
motion_px = 0.0
motion_deg = 0.0
"""


def test_capture_config_writes_a_valid_set_lit_led_by_led(tmp_path):
    (tmp_path / "rig.toml").write_text(CONFIG)
    result = subprocess.run([sys.executable, "-m", "device", "capture", "--config",
                             str(tmp_path / "rig.toml"), "--out", str(tmp_path / "set"),
                             "--count", "3"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    cs = CaptureSet.open(tmp_path / "set")
    assert cs.wavelengths == (447, 529, 604, 718, 777, 807) and len(cs.scenes) == 3
    assert cs.truth_mode == "paper" and cs.size == (48, 64)
    refs = cs.references()
    # Silicon's quantum efficiency falls through the NIR: whites dim with wavelength, so each
    # reference was really taken under its own LED.
    levels = [float((refs["white"][nm] - refs["dark"]).mean()) for nm in (718, 777, 807)]
    assert levels[0] > levels[1] > levels[2] > 20
    nir = cs.load_nir(cs.scenes[0])
    assert nir.shape == (48, 64, 3) and 0.0 < np.median(nir) < 1.2
    assert cs.load_truth(cs.scenes[0]).std() > 0.05     # a colourful chart, not blank paper


def test_capture_config_without_visible_leds_is_refused(tmp_path):
    (tmp_path / "rig.toml").write_text(CONFIG.replace("447, 529, 604, ", ""))
    result = subprocess.run([sys.executable, "-m", "device", "capture", "--config",
                             str(tmp_path / "rig.toml"), "--out", str(tmp_path / "set"),
                             "--count", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs LEDs at 447, 529 and 604 nm" in result.stderr
    assert not (tmp_path / "set").exists()
