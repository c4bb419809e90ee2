"""The Jetson install path, run for real in a JetPack-like environment built from Debian packages.

JetPack gives a Debian-family /usr/bin/python3 whose dist-packages hold an OpenCV built with
GStreamer; Debian's python3-opencv is the same kind of build. Here `install.sh --root` creates
the venv exactly as on the device (the venv does not exist yet), and the tests run the installed
`device` from it: the system cv2 with GStreamer is the one imported, torch is not there, frames
flow through real GStreamer pipelines in and out of the viewer, and the csi:// pipeline parses
with the Argus element swapped for a test source.

Without those packages the tests skip with the reason; CI sets NIGHTCOLOR_REQUIRE_JETPACK=1,
which turns the skip into a failure, so they cannot silently stop running there.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import pytest

from device.viewer.cameras import CsiElements, csi_pipeline
from device.viewer.config import CameraConfig
from device.viewer.displays import DISPLAYS, drm_pipeline

pytestmark = [pytest.mark.jetpack, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[3]
SYSTEM_PYTHON = "/usr/bin/python3"
ELEMENTS = ("appsrc", "appsink", "videoconvert", "videoscale", "videotestsrc", "pngenc",
            "multifilesink", "fakesink", "kmssink")
APT = ("python3-opencv python3-venv gstreamer1.0-tools gstreamer1.0-plugins-base "
       "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad")
SIZE = (96, 128)          # (H, W): multiples of the shipped edge model's 16


def jetpack_missing() -> str | None:
    """Why this machine is not JetPack-like, or None."""
    if not Path(SYSTEM_PYTHON).is_file():
        return f"no {SYSTEM_PYTHON}"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import cv2, ensurepip; "
                            "print(cv2.getBuildInformation())"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import cv2 and ensurepip (apt-get install {APT})"
    if not re.search(r"GStreamer:\s*YES", probe.stdout):
        return f"{SYSTEM_PYTHON}'s cv2 is built without GStreamer"
    if shutil.which("gst-launch-1.0") is None or shutil.which("gst-inspect-1.0") is None:
        return f"gst-launch-1.0/gst-inspect-1.0 not found (apt-get install {APT})"
    absent = [e for e in ELEMENTS
              if subprocess.run(["gst-inspect-1.0", "--exists", e], timeout=60).returncode]
    if absent:
        return f"GStreamer elements missing: {', '.join(absent)} (apt-get install {APT})"
    return None


@pytest.fixture(scope="module")
def jetpack(tmp_path_factory):
    """The venv and staged root of `install.sh --root` with the shipped edge model's folder."""
    reason = jetpack_missing()
    if reason:
        if os.environ.get("NIGHTCOLOR_REQUIRE_JETPACK") == "1":
            pytest.fail(f"JetPack-like environment required here: {reason}")
        pytest.skip(f"not a JetPack-like environment: {reason}")
    base = tmp_path_factory.mktemp("jetpack")
    root, venv = base / "root", base / "venv"
    root.mkdir()
    done = subprocess.run([str(REPO / "systemd/install.sh"), "--root", str(root),
                           "--venv", str(venv), "--python", SYSTEM_PYTHON,
                           "--model", str(REPO / "device/assets"), "--no-start"],
                          capture_output=True, text=True, timeout=840)
    assert done.returncode == 0, done.stderr[-4000:] + done.stdout[-2000:]
    return {"root": root, "venv": venv, "base": base, "stdout": done.stdout}


def venv_python(jetpack, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(jetpack["venv"] / "bin/python"), "-c", code],
                          capture_output=True, text=True, timeout=120, cwd=jetpack["base"])


def test_installed_venv_imports_the_system_cv2_with_gstreamer_and_no_torch(jetpack):
    venv = jetpack["venv"]
    cv = venv_python(jetpack, "import cv2, re; print(cv2.__file__); "
                              "print(re.search(r'GStreamer:.*', cv2.getBuildInformation())[0])")
    assert cv.returncode == 0, cv.stderr
    where, gst = cv.stdout.splitlines()
    assert not where.startswith(str(venv)), f"cv2 comes from the venv: {where}"
    assert gst.startswith("GStreamer:") and gst.split()[1] == "YES", gst
    torch = venv_python(jetpack, "import torch")
    assert torch.returncode != 0 and "No module named 'torch'" in torch.stderr
    pip = subprocess.run([str(venv / "bin/pip"), "list", "--format=json", "--path",
                          str(next((venv / "lib").glob("python3*/site-packages")))],
                         capture_output=True, text=True, timeout=120)
    installed = {d["name"].lower() for d in json.loads(pip.stdout)}
    assert "nightcolor" in installed and "torch" not in installed
    assert not {n for n in installed if n.startswith("opencv")}, installed
    # What the unit runs, the config it reads and the model files the card lists, renamed to
    # the configured stem with the card rewritten (edge.* -> ckpt.*).
    root = jetpack["root"]
    unit = (root / "etc/systemd/system/nightcolor.service").read_text()
    assert f"ExecStart={venv}/bin/device run --config /etc/nightcolor/nightcolor.toml" in unit
    config = (root / "etc/nightcolor/nightcolor.toml").read_text()
    assert config == (REPO / "systemd/nightcolor.toml").read_text()
    card = json.loads((root / "var/lib/nightcolor/ckpt.json").read_text())
    assert card["onnx"] == "ckpt.onnx" and (root / "var/lib/nightcolor/ckpt.onnx").is_file()


def test_device_run_on_the_sim_rig_writes_20_frames_through_a_gst_display(jetpack):
    frames = jetpack["base"] / "frames"
    frames.mkdir()
    config = jetpack["base"] / "gst_display.toml"
    config.write_text(f"""
[camera]
uri = "sim://"
width = {SIZE[1]}
height = {SIZE[0]}
fps = 30.0

[engine]
uri = "onnx://{jetpack['root']}/var/lib/nightcolor/ckpt.onnx"

[display]
uri = "gst://appsrc ! videoconvert ! pngenc ! multifilesink location={frames}/%05d.png"
""")
    done = subprocess.run([str(jetpack["venv"] / "bin/device"), "run", "--rig", "sim",
                           "--config", str(config), "--frames", "20"],
                          capture_output=True, text=True, timeout=300, cwd=jetpack["base"])
    assert done.returncode == 0, done.stderr[-3000:]
    written = sorted(frames.glob("*.png"))
    assert len(written) == 20, [p.name for p in written]
    for path in (written[0], written[-1]):
        image = cv2.imread(str(path))
        assert image is not None and image.shape == (*SIZE, 3)
    assert image.std() > 5                  # a picture, not a blank frame


def test_a_gst_camera_delivers_frames_into_the_viewer(jetpack):
    frames = jetpack["base"] / "camera_frames"
    frames.mkdir()
    config = jetpack["base"] / "gst_camera.toml"
    config.write_text(f"""
[camera]
uri = "gst://videotestsrc is-live=true pattern=ball ! video/x-raw,width={SIZE[1]},height={SIZE[0]},framerate=30/1 ! videoconvert ! video/x-raw,format=GRAY8"
width = {SIZE[1]}
height = {SIZE[0]}
fps = 30.0
bit_depth = 8

[leds]
uri = "sim://"

[strobe]
sync = "frame"

[engine]
uri = "onnx://{jetpack['root']}/var/lib/nightcolor/ckpt.onnx"

[display]
uri = "file://{frames}/"
""")
    done = subprocess.run([str(jetpack["venv"] / "bin/device"), "run", "--config", str(config),
                           "--frames", "10"],
                          capture_output=True, text=True, timeout=300, cwd=jetpack["base"])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "camera lost 0x" in done.stdout, done.stdout
    assert len(list(frames.glob("*.png"))) == 10


# The csi:// pipeline with the Jetson-only parts swapped for stock GStreamer ones.
TEST_SOURCE = CsiElements(source="videotestsrc num-buffers=5", memory="", convert="videoconvert")


def test_csi_pipeline_runs_with_the_argus_element_swapped_for_a_test_source(jetpack):
    camera = CameraConfig(width=SIZE[1], height=SIZE[0], fps=30.0, exposure_ms=4.0, gain=2.0)
    argus = csi_pipeline(1, camera)
    swapped = csi_pipeline(1, camera, TEST_SOURCE)
    assert argus.startswith('nvarguscamerasrc sensor-id=1 aelock=true '
                            'exposuretimerange="4000000 4000000" gainrange="2.0 2.0" ! ')
    assert "video/x-raw(memory:NVMM)," in argus and "! nvvidconv !" in argus
    # Nothing but the three swapped parts differs: the rest is the string the device runs.
    assert argus.split(" ! ")[3:] == swapped.split(" ! ")[3:]
    # gst-launch runs it to EOS with a fakesink (an appsink nobody pulls from never ends)...
    head, sink = swapped.rsplit(" ! ", 1)
    assert sink.startswith("appsink ")
    launched = subprocess.run(["gst-launch-1.0", "-q", *head.split(), "!", "fakesink"],
                              capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stderr
    # ...and OpenCV in the installed venv reads GRAY8 frames of the configured size from it.
    read = venv_python(jetpack, "import cv2, sys; cap = cv2.VideoCapture(sys.argv[1], "
                                "cv2.CAP_GSTREAMER); ok, f = cap.read(); print(ok, f.shape)"
                       .replace("sys.argv[1]", repr(swapped)))
    assert read.stdout.split() == ["True", f"({SIZE[0]},", f"{SIZE[1]})"], read.stderr


def test_drm_display_pipeline_negotiates_and_names_kmssink(jetpack):
    uri = DISPLAYS.parse("drm://nvidia-drm?connector=63&width=320&height=240")
    pipeline = drm_pipeline(uri)
    assert pipeline.startswith("appsrc ! ") and pipeline.endswith(
        "kmssink driver-name=nvidia-drm connector-id=63 sync=false")
    # appsrc and kmssink swapped for a test source and a fake sink: the caps chain negotiates.
    body = pipeline.removeprefix("appsrc ! ").rsplit(" ! ", 1)[0]
    launched = subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=3", "!",
                               *body.split(), "!", "fakesink"],
                              capture_output=True, text=True, timeout=120)
    assert launched.returncode == 0, launched.stderr
    # OpenCV's GStreamer writer in the installed venv opens it (kmssink swapped for fakesink)
    # and takes frames: the path the viewer's drm:// display goes.
    fake = pipeline.rsplit(" ! ", 1)[0] + " ! fakesink"
    wrote = venv_python(jetpack, "import cv2, numpy as np; w = cv2.VideoWriter(" + repr(fake)
                        + ", cv2.CAP_GSTREAMER, 0, 30.0, (128, 96)); print(w.isOpened()); "
                        "[w.write(np.full((96, 128, 3), i, np.uint8)) for i in range(5)]; "
                        "w.release()")
    assert wrote.stdout.split() == ["True"], wrote.stderr
    # The real string parses (kmssink exists here); it only fails to open a DRM device.
    real = subprocess.run(["gst-launch-1.0", "videotestsrc", "num-buffers=1", "!",
                           *pipeline.removeprefix("appsrc ! ").split()],
                          capture_output=True, text=True, timeout=120)
    assert "erroneous pipeline" not in real.stdout + real.stderr


def test_a_checkpoint_is_refused_where_torch_is_absent(jetpack, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    ckpt = tmp_path / "best.pt"
    ckpt.write_bytes(b"not read")
    done = subprocess.run([str(REPO / "systemd/install.sh"), "--root", str(root),
                           "--venv", str(jetpack["venv"]), "--model", str(ckpt)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs torch" in lines[0] and "convert --fp16" in lines[0]
    assert list(root.iterdir()) == []


def test_venv_plan_keeps_the_system_opencv_and_its_numpy_abi(jetpack, tmp_path):
    """What install.sh asks pip for, seen by Debian's python3 (cv2 built against NumPy 1.x, no
    onnxruntime): no OpenCV from PyPI, onnxruntime from PyPI, NumPy held below 2."""
    constraints = tmp_path / "constraints.txt"
    plan = subprocess.run([SYSTEM_PYTHON, "-m", "device.service.venv_plan", "--repo", "/src",
                           "--constraints", str(constraints)],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert plan.returncode == 0, plan.stderr
    numpy_major = subprocess.run([SYSTEM_PYTHON, "-c", "import numpy; print(numpy.__version__)"],
                                 capture_output=True, text=True).stdout.split(".")[0]
    reqs = plan.stdout.split()
    assert reqs[0] == "/src[jetson]" and not [r for r in reqs if "opencv" in r]
    assert constraints.read_text().split() == (["numpy<2"] if numpy_major == "1" else [])
