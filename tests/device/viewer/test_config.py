"""Config refusals: one sentence naming the file and the key, exit 2, no traceback."""
import json
import subprocess
import sys

import pytest

from device.common.errors import UserError
from device.viewer.config import load_config

GOOD = """
[camera]
uri = "sim://"
width = 128
height = 96

[leds]
uri = "gpio://jetson?pins=718:31,777:33,807:35&trigger=37"

[engine]
uri = "onnx://{model}"
"""


def write(tmp_path, text, model):
    path = tmp_path / "nightcolor.toml"
    path.write_text(text.format(model=model))
    return path


def test_good_config_parses_pins_and_checks_the_model(tmp_path, model_onnx):
    config = load_config(write(tmp_path, GOOD, model_onnx))
    assert config.leds.pins == {718: 31, 777: 33, 807: 35}
    assert config.leds.trigger_pin == 37
    assert config.model_card_path() == model_onnx.with_suffix(".json")


def test_shipped_example_config_is_valid():
    from pathlib import Path
    example = Path(__file__).resolve().parents[3] / "systemd" / "nightcolor.toml"
    config = load_config(example, check_model=False)
    assert config.strobe.wavelengths == (718, 777, 807)
    assert set(config.leds.pins) == {718, 777, 807}
    # automatic exposure and the temporal filter are the example's (and the code's) default
    assert config.exposure.mode == "auto" and config.temporal.filter


@pytest.mark.parametrize("edit, expected", [
    (lambda t: t.replace("width = 128", "width = 128\nexpsure_ms = 3"),
     "unknown key 'camera.expsure_ms'"),
    (lambda t: t + "\n[lens]\nfocus = 1\n", "unknown section [lens]"),
    (lambda t: t.replace("807:35", "807:33"), "uses pin 33 twice (777 nm and 807 nm)"),
    (lambda t: t.replace("trigger=37", "trigger=31"), "uses pin 31 twice"),
    (lambda t: t.replace("[engine]", "[strobe]\nwavelengths = [718, 777, 850]\n\n[engine]")
        .replace("807:35", "850:35"),
     "includes 850 nm but the model"),
    (lambda t: t.replace("width = 128", "width = \"wide\""), "'camera.width' must be an integer"),
    (lambda t: t.replace('uri = "sim://"', 'uri = "usb://0"'), "unknown scheme 'usb'"),
    (lambda t: t.replace("[engine]", "[strobe]\nsync = \"vsync\"\n\n[engine]"),
     "'strobe.sync' must be \"trigger\" or \"frame\""),
    (lambda t: t + "\n[camera\n", "not valid TOML"),
    (lambda t: t + "\n[exposure]\nmode = \"manual\"\n",
     "'exposure.mode' must be \"auto\" or \"fixed\""),
    (lambda t: t + "\n[exposure]\nmax_duty = 1.5\n",
     "'exposure.max_duty' must be above 0 and at most 1"),
    (lambda t: t + "\n[temporal]\nstrength = 1.0\n",
     "'temporal.strength' must be at least 0 and below 1"),
    (lambda t: t + "\n[sim]\nmotion = \"spin\"\n", "'sim.motion' must be"),
])
def test_each_mistake_is_one_sentence_naming_file_and_key(tmp_path, model_onnx, edit, expected):
    path = write(tmp_path, edit(GOOD), model_onnx)
    with pytest.raises(UserError) as info:
        load_config(path)
    message = str(info.value)
    assert expected in message
    assert message.startswith(str(path)) and message.endswith(".")
    assert message.count(f"{path}:") == 1          # exactly one mistake reported, once


def test_any_camera_size_with_a_padding_viewer_graph(tmp_path, model_onnx):
    """The shipped card's viewer graph pads (1920x1080 works); a card whose graph predates
    padding is still refused a width its network's multiple does not divide."""
    text = GOOD.replace("width = 128", "width = 120")
    assert load_config(write(tmp_path, text, model_onnx)).camera.width == 120
    old = tmp_path / "old"
    old.mkdir()
    for f in model_onnx.parent.glob(f"{model_onnx.stem}*"):
        (old / f.name).write_bytes(f.read_bytes())
    card = json.loads((old / f"{model_onnx.stem}.json").read_text())
    del card["viewer"]["pads"]
    (old / f"{model_onnx.stem}.json").write_text(json.dumps(card))
    with pytest.raises(UserError, match="'camera.width' 120 is not a multiple of 16"):
        load_config(write(tmp_path, text, old / model_onnx.name))


def test_all_mistakes_reported_together(tmp_path, model_onnx):
    text = GOOD.replace("width = 128", "width = 128\nzoom = 2").replace("807:35", "807:33")
    with pytest.raises(UserError) as info:
        load_config(write(tmp_path, text, model_onnx))
    assert "unknown key 'camera.zoom'" in str(info.value)
    assert "uses pin 33 twice" in str(info.value)


def test_cli_refuses_with_one_line_and_exit_2(tmp_path, model_onnx):
    path = write(tmp_path, GOOD.replace("807:35", "807:33"), model_onnx)
    result = subprocess.run([sys.executable, "-m", "device", "run", "--config", str(path),
                             "--frames", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("device: error: ") and "Traceback" not in result.stderr
    assert "uses pin 33 twice" in result.stderr


@pytest.mark.parametrize("camera", ["sim://", "sim://?stall_after=5"])
def test_the_sim_camera_needs_no_trigger_pin_but_a_real_one_does(tmp_path, model_onnx, camera):
    text = GOOD.replace("&trigger=37", "") + '\n[strobe]\nsync = "trigger"\n'
    config = load_config(write(tmp_path, text.replace('"sim://"', f'"{camera}"'), model_onnx))
    assert config.leds.trigger_pin is None
    real = text.replace('uri = "sim://"', 'uri = "v4l2:///dev/video0"')
    with pytest.raises(UserError, match="names no trigger=PIN"):
        load_config(write(tmp_path, real, model_onnx))
