"""The display role's backends: `display.uri` scheme -> factory(uri, config)."""
from device.common.backends import Backends

DISPLAYS = Backends("display.uri", {
    "fb": "device.viewer.displays:open_framebuffer_display",
    "gst": "device.viewer.displays:open_gstreamer_display",
    "window": "device.viewer.displays:open_window_display",
    "file": "device.viewer.displays:open_file_display",
    "null": "device.viewer.displays:open_null_display",
})
