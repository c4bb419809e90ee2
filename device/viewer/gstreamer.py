"""Is the GStreamer path there? The OpenCV build and the GStreamer elements a URI needs.

`csi://` and `gst://` cameras and `gst://` and `drm://` displays go through OpenCV's GStreamer
backend. PyPI's opencv-python(-headless) wheels are built without it (`GStreamer: NO` in
`cv2.getBuildInformation()`); JetPack's OpenCV and Debian's python3-opencv have it. A venv that
lets a PyPI OpenCV shadow the system one cannot open those URIs, and OpenCV alone only says
"cannot open": these checks say what to install instead, in one sentence, both at install
(`install.sh` through `device.service.model_plan`) and when the viewer opens the URI.
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess

from device.common.errors import UserError
from device.common.uri import Uri

# The schemes that need OpenCV's GStreamer backend, per role.
GSTREAMER_SCHEMES = {"camera.uri": ("csi", "gst"), "display.uri": ("gst", "drm")}
INSTALL_OPENCV = ("install the system OpenCV, which has GStreamer (JetPack's nvidia-opencv, or "
                  "Debian/Ubuntu's python3-opencv), and remove PyPI's from this environment "
                  "(pip uninstall opencv-python opencv-python-headless)")


@functools.lru_cache(maxsize=1)
def opencv_gstreamer() -> tuple[bool, str]:
    """(built with GStreamer?, where this cv2 lives) for the OpenCV this interpreter imports."""
    import cv2

    match = re.search(r"^\s*GStreamer:\s*(\S+)", cv2.getBuildInformation(), re.MULTILINE)
    return bool(match and match.group(1) == "YES"), str(getattr(cv2, "__file__", "cv2"))


def gstreamer_refusal(role: str, uri: Uri) -> str | None:
    """The sentence refusing `uri` for `role` when this OpenCV lacks GStreamer, else None."""
    if uri.scheme not in GSTREAMER_SCHEMES.get(role, ()):
        return None
    has_it, where = opencv_gstreamer()
    if has_it:
        return None
    return (f"{role} '{uri.text}' needs OpenCV with GStreamer, but the OpenCV imported here "
            f"({where}) was built without it; {INSTALL_OPENCV}")


def require_gstreamer(role: str, uri: Uri) -> None:
    refusal = gstreamer_refusal(role, uri)
    if refusal:
        raise UserError(refusal + ".")


def missing_elements(names: tuple[str, ...]) -> list[str]:
    """The GStreamer elements among `names` that this system's registry does not have.
    Unknown (empty) when gst-inspect-1.0 is absent: OpenCV's own error then has the last word."""
    inspect = shutil.which("gst-inspect-1.0")
    if inspect is None:
        return []
    return [name for name in names
            if subprocess.run([inspect, "--exists", name], capture_output=True,
                              timeout=60).returncode != 0]
