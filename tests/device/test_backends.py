"""The role tables against what the manual documents: every documented scheme is offered, each
opens (or is refused in one sentence) as documented on this machine, an unknown one is refused
with the usage of the known ones, a factory gets exactly its role's options, and the simulated
backends come from device.simulated alone."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

import device.simulated  # noqa: F401  registers sim:// and file://, as the `device` CLI does
from device.common.backends import BackendTable
from device.common.errors import UserError
from device.common.uri import Uri
from device.engines.engine import ENGINES, OnnxEngine
from device.simulated.presets import SHIPPED_MODEL, sim_config
from device.simulated.sim_camera import SimCamera
from device.simulated.sim_leds import SimLeds
from device.viewer.cameras import CAMERAS, CameraError
from device.viewer.displays import DISPLAYS, NullDisplay, PngFolderDisplay, WindowDisplay
from device.viewer.leds import LEDS, LedOptions
from device.viewer.rig import camera_options, display_options, led_options, open_engine

REPO = Path(__file__).resolve().parents[2]
HAS_GSTREAMER = re.search(r"GStreamer:\s*YES", cv2.getBuildInformation()) is not None
# The schemes the README's viewer section documents for each role ("Every hardware role is a
# URI"): a backend dropped, renamed or added without its usage fails here.
DOCUMENTED = {"camera.uri": {"v4l2", "v4l2raw", "csi", "gst", "file", "sim"},
              "leds.uri": {"gpio", "sim"},
              "engine.uri": {"trt", "onnx", "sim"},
              "display.uri": {"drm", "fb", "gst", "window", "file", "null", "http"}}
TABLES = {"camera.uri": CAMERAS, "leds.uri": LEDS, "engine.uri": ENGINES,
          "display.uri": DISPLAYS}


def device_run_help() -> str:
    return subprocess.run([sys.executable, "-m", "device", "run", "--help"], capture_output=True,
                          text=True, check=True, timeout=120).stdout


def test_run_help_shows_one_usage_line_per_documented_scheme():
    text = device_run_help()
    _, _, uris = text.partition("URIs, by config key and scheme:\n")
    listed: dict[str, set[str]] = {}
    role = ""
    for line in uris.splitlines():
        if line.endswith(".uri:"):
            role = line[:-1]
            listed[role] = set()
        elif line.startswith("  ") and "://" in line:
            form, summary = line.strip().split("  ", 1)
            listed[role].add(form.split("://")[0])
            assert summary.strip(), f"{form} has no usage"
    assert listed == DOCUMENTED


def config_file(tmp_path: Path, camera: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(f'[camera]\nuri = "{camera}"\n[engine]\nuri = "onnx://{SHIPPED_MODEL}"\n')
    return path


def test_an_unknown_scheme_is_refused_with_the_usage_of_each_known_one(tmp_path):
    done = subprocess.run([sys.executable, "-m", "device", "run", "--config",
                           str(config_file(tmp_path, "usb://0")), "--frames", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0 and line.endswith(".")
    assert "camera.uri 'usb://0' has unknown scheme 'usb'; expected one of " in line
    for scheme in DOCUMENTED["camera.uri"]:    # each with its form and a few words on it
        assert re.search(rf"\b{scheme}://\S* \([^)]+\)", line), scheme


def test_not_a_uri_is_refused_naming_the_role():
    with pytest.raises(UserError, match=r"^display.uri 'out.mp4' is not a URI; expected one of "
                                        r"drm://"):
        DISPLAYS.parse("out.mp4")


# -- each documented scheme, opened here --------------------------------------------------------

def test_camera_schemes_open_or_refuse_as_documented(tmp_path):
    config = sim_config(tmp_path, width=32, height=24, scene="chart")
    sim_leds = SimLeds(config.strobe.wavelengths)
    options = camera_options(config, sim_leds)
    camera = CAMERAS.open("sim://?stall_after=3", options)
    assert isinstance(camera, SimCamera) and camera.stall_after == 3
    with pytest.raises(UserError, match="capture set folder does not exist"):
        CAMERAS.open("file://no-such-set", options)          # resolved beside the config
    with pytest.raises(CameraError, match=r"cannot open camera v4l2:///dev/video99"):
        CAMERAS.open("v4l2:///dev/video99", options)
    for uri in ("csi://0", "gst://videotestsrc num-buffers=1"):
        if HAS_GSTREAMER:
            continue                           # it would open: tests/device/service/jetpack
        with pytest.raises(UserError, match=re.escape(f"camera.uri '{uri}' needs OpenCV with "
                                                      "GStreamer")):
            CAMERAS.open(uri, options)


def test_a_simulated_camera_refuses_real_leds(tmp_path):
    config = sim_config(tmp_path, width=32, height=24)
    with pytest.raises(UserError, match=r"needs the simulated LEDs"):
        CAMERAS.open("sim://", camera_options(config, NotSimulated()))


class NotSimulated:
    wavelengths, lit = (718, 777, 807), None


def test_led_schemes_open_or_refuse_as_documented(tmp_path, monkeypatch):
    config = sim_config(tmp_path)
    assert isinstance(LEDS.open("sim://", led_options(config)), SimLeds)
    monkeypatch.setitem(sys.modules, "Jetson", None)     # whatever this machine has installed
    with pytest.raises(UserError, match=r"^leds.uri gpio://jetson\?pins=718:1 needs Jetson.GPIO, "
                                        r"which is not installed"):
        LEDS.open("gpio://jetson?pins=718:1", led_options(config))


def test_engine_schemes_open_as_documented(tmp_path, monkeypatch):
    config = sim_config(tmp_path)
    from device.engines.model_card import load_model_card

    card = load_model_card(config.model_card_path())
    engine = open_engine(config, card, print)
    assert isinstance(engine, OnnxEngine) and engine.path == card.viewer_onnx
    monkeypatch.setitem(sys.modules, "tensorrt", None)   # TensorRT cannot load: ONNX instead
    said: list[str] = []
    config.engine.uri = f"trt://{tmp_path / 'edge.fp16.engine'}"
    engine = open_engine(config, card, said.append)
    assert isinstance(engine, OnnxEngine)
    assert said and said[-1].startswith("TensorRT failed") and "using ONNX" in said[-1]


def test_display_schemes_open_or_refuse_as_documented(tmp_path):
    (tmp_path / "frames").mkdir()
    options = display_options(sim_config(tmp_path))
    assert isinstance(DISPLAYS.open("null://", options), NullDisplay)
    assert isinstance(DISPLAYS.open("window://", options), WindowDisplay)   # no window yet
    assert isinstance(DISPLAYS.open("file://frames/", options), PngFolderDisplay)
    with pytest.raises(UserError, match=r"file:// takes an .mp4 file or a folder ending in /"):
        DISPLAYS.open("file://out.avi", options)
    with pytest.raises(UserError, match=r"cannot read framebuffer geometry"):
        DISPLAYS.open(f"fb:///dev/fb9?sysfs={tmp_path}", options)
    for uri in ("drm://nvidia-drm", "gst://appsrc ! fakesink"):
        if HAS_GSTREAMER:
            continue
        with pytest.raises(UserError, match=re.escape(f"display.uri '{uri}' needs OpenCV with "
                                                      "GStreamer")):
            DISPLAYS.open(uri, options)


# -- the table itself ---------------------------------------------------------------------------

def test_a_factory_gets_the_uri_parsed_once_and_exactly_its_role_options():
    table: BackendTable[object, tuple[Uri, object]] = BackendTable("test.uri")
    table.register("gst://PIPELINE", "a pipeline", lambda uri, options: (uri, options))
    options = object()
    uri, got = table.open("gst://videotestsrc ! caps,a=1?b&c", options)
    assert got is options
    # A pipeline is taken whole, '?' and '&' included: nothing re-splits it downstream.
    assert uri == Uri("gst", "videotestsrc ! caps,a=1?b&c", {},
                      "gst://videotestsrc ! caps,a=1?b&c")
    with pytest.raises(ValueError, match="registered twice"):
        table.register("gst://X", "again", lambda uri, options: (uri, options))


def test_each_role_is_given_what_the_config_says_of_it(tmp_path):
    config = sim_config(tmp_path, fps=37.0, sync="frame")
    config.leds.pins, config.leds.trigger_pin = {718: 12}, 22
    leds = SimLeds(config.strobe.wavelengths)
    display = display_options(config)
    assert display.fps == 37.0 and display.resolve("x.mp4") == tmp_path / "x.mp4"
    camera = camera_options(config, leds)
    assert (camera.camera, camera.sync, camera.leds, camera.sim) == \
        (config.camera, "frame", leds, config.sim)
    assert led_options(config) == LedOptions((718, 777, 807), {718: 12}, 22)


def test_the_simulated_schemes_are_registered_by_device_simulated_alone():
    # A fresh interpreter that imports the viewer, not device.simulated, has the real schemes
    # only; and no module of device.viewer names device.simulated, even in a string.
    probe = ("import device.viewer.config as c; print(sorted(c.CAMERAS.schemes), "
             "sorted(c.LEDS.schemes))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=REPO, timeout=120).stdout.strip()
    assert out == "['csi', 'gst', 'v4l2', 'v4l2raw'] ['gpio']"
    named = [p.name for p in (REPO / "device" / "viewer").glob("*.py")
             if "device.simulated" in p.read_text()]
    assert named == []
    assert {b.scheme for b in CAMERAS.backends() if b.simulated} == {"sim", "file"}
    assert {b.scheme for b in LEDS.backends() if b.simulated} == {"sim"}


def test_the_stop_post_failsafe_has_nothing_to_switch_off_for_a_simulated_bank(tmp_path):
    # The service layer never imports device.simulated, so there sim:// is no scheme at all; a
    # camera the failsafe does not open may say anything of the right form.
    config = tmp_path / "nightcolor.toml"
    config.write_text('[camera]\nuri = "usb://0"\n[leds]\nuri = "sim://"\n')
    probe = ("import sys; from device.service.failsafe import main; rc = main(['--config', "
             f"{str(config)!r}]); print(rc, 'device.simulated' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.stdout.split() == ["0", "False"], done.stderr
    assert done.stderr.strip() == ("failsafe: leds.uri 'sim://' is no LED hardware this program "
                                   "drives (gpio://); nothing to switch off.")
