"""gst:// cameras, drm:// displays and the one-sentence refusal where OpenCV lacks GStreamer.

The pipelines themselves run through real GStreamer in tests/device/service/test_jetpack_install.py
(Debian's OpenCV has GStreamer); these check what needs no GStreamer at all.
"""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import pytest

from device.common.errors import UserError
from device.viewer import gstreamer
from device.viewer.cameras import APPSINK, gst_capture_pipeline
from device.viewer.config import load_config
from device.viewer.displays import DISPLAYS, drm_pipeline
from device.viewer.rig import open_display

HAS_GSTREAMER = re.search(r"GStreamer:\s*YES", cv2.getBuildInformation()) is not None


def test_gst_camera_pipeline_gets_an_appsink_unless_it_ends_in_one():
    assert gst_capture_pipeline("videotestsrc ! videoconvert") == \
        f"videotestsrc ! videoconvert ! {APPSINK}"
    whole = "videotestsrc ! appsink max-buffers=2"
    assert gst_capture_pipeline(whole) == whole


def test_drm_uri_defaults_to_nvidia_drm_and_refuses_bad_parameters():
    assert drm_pipeline(DISPLAYS.parse("drm://")) == (
        "appsrc ! videoconvert ! video/x-raw,format=BGRx ! kmssink driver-name=nvidia-drm sync=false")
    assert "driver-name=tegra" in drm_pipeline(DISPLAYS.parse("drm://tegra"))
    for uri, words in (("drm://?conector=1", "unknown parameter(s) conector"),
                       ("drm://?connector=HDMI", "connector must be a whole number"),
                       ("drm://?width=640", "give width and height together")):
        with pytest.raises(UserError, match=re.escape(words)):
            drm_pipeline(DISPLAYS.parse(uri))


def test_config_keeps_gst_and_drm_uris_whole_and_refuses_a_bad_one(tmp_path):
    """A pipeline's own `!`, `,` and `=` and a drm query survive the config as written, reach
    the pipeline builders intact, and a misspelt scheme or drm parameter is refused when the
    config is loaded, naming the key."""
    camera = "gst://videotestsrc ! video/x-raw,format=GRAY8,width=64"
    display = "drm://nvidia-drm?connector=63"
    path = tmp_path / "c.toml"
    path.write_text(f'[camera]\nuri = "{camera}"\n[display]\nuri = "{display}"\n')
    config = load_config(path, check_model=False)
    assert (config.camera.uri, config.display.uri) == (camera, display)
    # The camera builds its pipeline from the parsed URI's target (cameras.OpenCvCamera).
    from device.viewer.cameras import CAMERAS

    target = CAMERAS.parse(config.camera.uri).target
    assert gst_capture_pipeline(target) == \
        f"videotestsrc ! video/x-raw,format=GRAY8,width=64 ! {APPSINK}"
    assert drm_pipeline(DISPLAYS.parse(config.display.uri)).endswith(
        "kmssink driver-name=nvidia-drm connector-id=63 sync=false")
    for key, uri, words in (("camera", "gts://videotestsrc", "camera.uri"),
                            ("display", "dmr://nvidia-drm", "display.uri")):
        path.write_text(f'[{key}]\nuri = "{uri}"\n')
        with pytest.raises(UserError, match=re.escape(words)):
            load_config(path, check_model=False)


@pytest.mark.skipif(HAS_GSTREAMER, reason="this OpenCV has GStreamer: nothing to refuse")
@pytest.mark.parametrize("uri", ["gst://appsrc ! fakesink", "drm://nvidia-drm"])
def test_viewer_refuses_a_gstreamer_display_in_one_sentence(tmp_path, uri):
    path = tmp_path / "c.toml"
    path.write_text(f'[display]\nuri = "{uri}"\n')
    with pytest.raises(UserError) as refused:
        open_display(load_config(path, check_model=False))
    text = str(refused.value)
    assert text.count(". ") == 0 and text.endswith(".")
    assert f"display.uri '{uri}' needs OpenCV with GStreamer" in text
    assert cv2.__file__ in text and "python3-opencv" in text


def test_refusal_only_for_the_schemes_that_need_gstreamer(monkeypatch):
    from device.viewer.cameras import CAMERAS

    monkeypatch.setattr(gstreamer, "opencv_gstreamer", lambda: (False, "/x/cv2.so"))
    assert gstreamer.gstreamer_refusal("camera.uri", CAMERAS.parse("v4l2:///dev/video0")) is None
    assert gstreamer.gstreamer_refusal("display.uri", DISPLAYS.parse("fb:///dev/fb0")) is None
    assert "(/x/cv2.so)" in gstreamer.gstreamer_refusal("camera.uri", CAMERAS.parse("csi://0"))
    monkeypatch.setattr(gstreamer, "opencv_gstreamer", lambda: (True, "/usr/lib/cv2.so"))
    assert gstreamer.gstreamer_refusal("camera.uri", CAMERAS.parse("csi://0")) is None


def test_the_example_config_shows_hdmi_through_drm():
    example = Path(__file__).resolve().parents[3] / "systemd" / "nightcolor.toml"
    assert load_config(example, check_model=False).display.uri == "drm://nvidia-drm"


@pytest.mark.skipif(HAS_GSTREAMER, reason="this OpenCV has GStreamer: nothing to refuse")
@pytest.mark.parametrize("uri", ["csi://0", "gst://videotestsrc"])
def test_viewer_refuses_a_gstreamer_camera_in_one_sentence(uri):
    from device.viewer.cameras import CAMERAS, OpenCvCamera
    from device.viewer.config import CameraConfig

    with pytest.raises(UserError, match=re.escape(f"camera.uri '{uri}' needs OpenCV with "
                                                  "GStreamer")):
        OpenCvCamera(CAMERAS.parse(uri), CameraConfig(uri=uri))
