"""The real hardware's backends, one registration each: the URI form a backend takes (its scheme
and usage), what it is, and the factory that opens it (`(uri, role options) -> role`).

Importing this module fills the role tables; device.viewer.config imports it, so any program
that reads a config knows these schemes. The simulated rig's backends (`sim://`, `file://`) are
registered the same way by the simulated rig's own package, a layer above this one, which a
program imports when it offers the simulated rig (the `device` command line, the tests, the
bench scripts). See docs/viewer-architecture.md for how to add one.
"""
from __future__ import annotations

from device.engines.engine import ENGINES, open_onnx_engine, open_trt_engine
from device.viewer import displays
from device.viewer.cameras import CAMERAS, open_opencv_camera
from device.viewer.displays import DISPLAYS
from device.viewer.http_display import check_http_uri, open_http_display
from device.viewer.leds import LEDS, open_gpio_leds
from device.viewer.v4l2_camera import open_v4l2raw_camera

CAMERAS.register("v4l2:///dev/videoN", "a V4L2 camera, through OpenCV", open_opencv_camera)
CAMERAS.register("csi://N", "CSI sensor N through Argus's nvarguscamerasrc, needs GStreamer",
                 open_opencv_camera)
CAMERAS.register("gst://PIPELINE", "a whole GStreamer pipeline, an appsink added if it has none",
                 open_opencv_camera)
CAMERAS.register("v4l2raw:///dev/videoN?format=Y10",
                 "a raw sensor through the V4L2 ioctls: 10/12/16-bit mono or one-plane Bayer, "
                 "exposure and trigger_mode set", open_v4l2raw_camera)

LEDS.register("gpio://jetson?pins=NM:PIN,...&trigger=PIN",
              "Jetson.GPIO (gpio://rpi: RPi.GPIO), board pin numbers", open_gpio_leds)

ENGINES.register("onnx://MODEL.onnx", "the card's viewer graph in onnxruntime", open_onnx_engine)
ENGINES.register("trt://MODEL.fp16.engine",
                 "TensorRT, built from the card when stale; falls back to onnx", open_trt_engine)

DISPLAYS.register("drm://DRIVER?connector=ID&width=W&height=H",
                  "HDMI without a desktop, through GStreamer's kmssink", displays.open_drm_display)
DISPLAYS.register("fb:///dev/fbN", "a Linux framebuffer", displays.open_framebuffer_display)
DISPLAYS.register("gst://PIPELINE", "a GStreamer pipeline fed by an appsrc",
                  displays.open_gstreamer_display)
DISPLAYS.register("window://", "a desktop window; q or closing it stops",
                  displays.open_window_display)
DISPLAYS.register("file://OUT.mp4", "a video file (file://DIR/: numbered PNGs)",
                  displays.open_file_display)
DISPLAYS.register("null://", "nothing shown (benchmarks, the service tests)",
                  displays.open_null_display)
DISPLAYS.register("http://127.0.0.1:PORT?token=...",
                  "an MJPEG stream and status page for a browser (token: beyond loopback)",
                  open_http_display, check=check_http_uri)


def usage() -> str:
    """Every role's schemes, one line each (`device run --help`): what is registered now."""
    return "\n".join(table.usage() for table in (CAMERAS, LEDS, ENGINES, DISPLAYS))
