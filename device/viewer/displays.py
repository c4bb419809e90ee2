"""The display role: what every display is (`Display`) and is given (`DisplayOptions`), its
backend table (`DISPLAYS`), and the backends: `drm://DRIVER`, `fb:///dev/fbN`, `gst://PIPELINE`,
`window://`, `file://out.mp4` or `file://dir/`, `null://` (registered in
device.viewer.backends). Each takes HxWx3 uint8 RGB frames through `render(rgb, text=None)`.

Headless HDMI on a Jetson is `drm://` (the example config's default): a GStreamer kmssink
pipeline that scans frames out through the kernel's DRM/KMS driver, with no X or Wayland
session. Why DRM rather than the framebuffer, per JetPack:
- Orin (JetPack 5 and 6) drives its display through nvidia-drm (the open-source display driver,
  `opensrc-disp/nvidia-drm.ko`; Thor on JetPack 7 through `opensource-gpu-disp/nvidia-drm.ko`),
  per NVIDIA's Jetson Linux guide, "nv-load-display-modules Service" (r39.2).
- nvidia-drm on an Orin under L4T r36.4.4 advertises dumb buffers, atomic modesetting and the
  HDMI connector (drmdb.emersion.fr snapshot 25d13132eed1), which is what kmssink needs
  (gstreamer.freedesktop.org/documentation/kms: "renders video frames directly in a plane of a
  DRM device"; connector-id defaults to the first connected one).
- /dev/fb0 is gone or unusable on Orin since L4T 35.4.1 and absent on JetPack 6
  (github.com/balena-os/balena-jetson-orin/issues/352), so `fb://` is for older boards only.
- A desktop session holds the DRM master: NVIDIA's DRM samples say "must be run without
  desktop" and stop gdm first (Jetson Linux API reference, 08_video_dec_drm). So the device
  boots to multi-user.target (docs/jetson.md, "The HDMI output").
"""
from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from device.common.backends import BackendTable
from device.common.files import atomic_output
from device.common.errors import UserError
from device.common.uri import Uri
from device.viewer.gstreamer import missing_elements, require_gstreamer

log = logging.getLogger(__name__)
NO_SIGNAL_GREY = 24
Rgb8 = NDArray[np.uint8]     # H x W x 3 sRGB


class Display(Protocol):
    """The display role."""

    def render(self, rgb: Rgb8, text: str | None = None) -> None:
        """Show `rgb`, with `text` drawn over it if given."""

    def no_signal(self, size: tuple[int, int]) -> None:
        """The screen shown while the camera is lost; `size` (H, W) until a frame was shown."""

    def is_streaming(self) -> bool:
        """False once the viewer should stop (a window closed): the loop ends."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class DisplayOptions:
    """What a display backend is given besides its URI."""
    fps: float                         # frame rate a video output is written at (the camera's)
    resolve: Callable[[str], Path]     # a path in the config, relative to the config file


DISPLAYS: BackendTable[DisplayOptions, Display] = BackendTable("display.uri")


class FrameDisplay:
    """What the displays share: the text overlay, the "no signal" screen and the frame count;
    a backend writes `_show(rgb)`."""

    def __init__(self) -> None:
        self.frames = 0
        self.size: tuple[int, int] | None = None      # (H, W) of the last frame rendered

    def render(self, rgb: Rgb8, text: str | None = None) -> None:
        if text:
            rgb = overlay_text(rgb, text)
        self.size = (rgb.shape[0], rgb.shape[1])
        self._show(rgb)
        self.frames += 1

    def no_signal(self, size: tuple[int, int]) -> None:
        """The screen the wearer sees while the camera is lost: unmistakably not a picture."""
        h, w = self.size or size
        image = np.full((h, w, 3), NO_SIGNAL_GREY, np.uint8)
        self._show(overlay_text(image, "NO SIGNAL", centre=True))
        self.frames += 1

    def is_streaming(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def _show(self, rgb: Rgb8) -> None:
        raise NotImplementedError


def overlay_text(rgb: Rgb8, text: str, centre: bool = False) -> Rgb8:
    out = rgb.copy()
    h, w = out.shape[:2]
    scale = max(0.3, h / 480)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    org = ((w - tw) // 2, (h + th) // 2) if centre else (4, th + 4)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def letterbox(rgb: Rgb8, width: int, height: int) -> Rgb8:
    """Scale to fit width x height keeping the aspect ratio; black bars fill the rest."""
    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((height, width, 3), np.uint8)
    x, y = (width - nw) // 2, (height - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return out


def to_pixel_format(rgb: Rgb8, bits_per_pixel: int) -> NDArray[np.uint8]:
    """RGB888 -> the framebuffer's little-endian pixels: RGB565, BGR888 or BGRA8888."""
    if bits_per_pixel == 16:
        r, g, b = (rgb[..., i].astype(np.uint16) for i in range(3))
        return (((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)).astype("<u2").view(np.uint8) \
            .reshape(rgb.shape[0], -1)
    if bits_per_pixel == 24:
        return rgb[..., ::-1].reshape(rgb.shape[0], -1)
    if bits_per_pixel == 32:
        return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA), np.uint8).reshape(rgb.shape[0], -1)
    raise UserError(f"framebuffer has {bits_per_pixel} bits per pixel; 16, 24 or 32 are supported.")


class FramebufferDisplay(FrameDisplay):
    """Writes letterboxed frames straight into /dev/fbN, geometry read from sysfs."""

    def __init__(self, device: str | Path, sysfs_root: str | Path = "/sys/class/graphics"):
        super().__init__()
        device = Path(device)
        info = Path(sysfs_root) / device.name

        def read(name: str) -> str:
            try:
                return (info / name).read_text().strip()
            except OSError:
                raise UserError(f"{info / name}: cannot read framebuffer geometry; is {device} "
                                "a framebuffer?") from None

        self.width, self.height = (int(v) for v in read("virtual_size").split(","))
        self.bits_per_pixel = int(read("bits_per_pixel"))
        self.stride = int(read("stride"))
        try:
            self._fb = open(device, "r+b", buffering=0)
        except OSError as exc:
            raise UserError(f"{device}: cannot open framebuffer ({exc.strerror}).") from None
        log.info("framebuffer %s: %dx%d, %d bpp, stride %d", device, self.width, self.height,
                 self.bits_per_pixel, self.stride)

    def _show(self, rgb: Rgb8) -> None:
        pixels = to_pixel_format(letterbox(rgb, self.width, self.height), self.bits_per_pixel)
        buffer = np.zeros((self.height, self.stride), np.uint8)   # rows padded to the stride
        buffer[:, :pixels.shape[1]] = pixels
        self._fb.seek(0)
        self._fb.write(buffer.tobytes())

    def close(self) -> None:
        self._fb.close()


class VideoWriterDisplay(FrameDisplay):
    """cv2.VideoWriter, opened on the first frame (its size is known then)."""

    def __init__(self, target: str, fps: float, api: int, fourcc: int, uri: str):
        super().__init__()
        self._target, self._fps, self._api, self._fourcc, self._uri = target, fps, api, fourcc, uri
        self._writer: cv2.VideoWriter | None = None

    def _show(self, rgb: Rgb8) -> None:
        if self._writer is None:
            h, w = rgb.shape[:2]
            self._writer = cv2.VideoWriter(self._target, self._api, self._fourcc, self._fps, (w, h))
            if not self._writer.isOpened():
                raise UserError(f"display {self._uri}: OpenCV cannot open this video output.")
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


class Mp4Display(VideoWriterDisplay):
    """`file://out.mp4`: written beside the target and renamed over it at close, so no reader
    ever sees a half-written file (a failed run still leaves what it wrote until then)."""

    def __init__(self, path: Path, fps: float, uri: str):
        self._atomic = contextlib.ExitStack()
        tmp = self._atomic.enter_context(atomic_output(path))
        super().__init__(str(tmp), fps, cv2.CAP_ANY, cv2.VideoWriter.fourcc(*"mp4v"), uri)

    def close(self) -> None:
        super().close()
        self._atomic.close()


class PngFolderDisplay(FrameDisplay):
    """`file://dir/`: frame_000001.png, ... (each written atomically)."""

    def __init__(self, folder: Path):
        super().__init__()
        if not folder.is_dir():
            raise UserError(f"{folder}: output folder does not exist.")
        self._folder = folder

    def _show(self, rgb: Rgb8) -> None:
        with atomic_output(self._folder / f"frame_{self.frames + 1:06d}.png") as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
                raise UserError(f"{self._folder}: cannot write PNG frames there.")


class WindowDisplay(FrameDisplay):
    """A desktop window (development); closing it or pressing q stops the loop."""

    NAME = "nightcolor"

    def __init__(self) -> None:
        super().__init__()
        self._open = True

    def _show(self, rgb: Rgb8) -> None:
        try:
            cv2.imshow(self.NAME, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            key = cv2.waitKey(1)
        except cv2.error:
            raise UserError("display window:// needs an OpenCV build with GUI support "
                            "(this one is headless); use file:// or fb:// instead.") from None
        if key in (ord("q"), 27) or cv2.getWindowProperty(self.NAME, cv2.WND_PROP_VISIBLE) < 1:
            self._open = False

    def is_streaming(self) -> bool:
        return self._open

    def close(self) -> None:
        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.NAME)


class NullDisplay(FrameDisplay):
    def _show(self, rgb: Rgb8) -> None:
        pass


DRM_PARAMS = ("connector", "width", "height")


def drm_pipeline(uri: Uri) -> str:
    """The GStreamer pipeline behind `drm://[DRIVER][?connector=ID&width=W&height=H]`: OpenCV's
    BGR frames into kmssink on DRIVER (default nvidia-drm, Jetson Orin and Thor), on the first
    connected connector unless one is named, scaled to WxH with black borders if given."""
    text = uri.text
    unknown = sorted(set(uri.params) - set(DRM_PARAMS))
    if unknown:
        raise UserError(f"display.uri '{text}' has unknown parameter(s) {', '.join(unknown)}; "
                        f"expected {', '.join(DRM_PARAMS)}.")
    for key, value in uri.params.items():
        if not value.isdigit():
            raise UserError(f"display.uri '{text}': {key} must be a whole number, not '{value}'.")
    if ("width" in uri.params) != ("height" in uri.params):
        raise UserError(f"display.uri '{text}': give width and height together.")
    driver = uri.target.strip("/") or "nvidia-drm"
    # One caps filter: gst_parse_launch refuses two in a row.
    caps = "video/x-raw,format=BGRx"
    scale = ""
    if "width" in uri.params:
        scale = "videoscale add-borders=true ! "
        caps += f",width={uri.params['width']},height={uri.params['height']},pixel-aspect-ratio=1/1"
    connector = f" connector-id={uri.params['connector']}" if "connector" in uri.params else ""
    # sync=false: show each frame as soon as it is colorized, never wait on a clock.
    return (f"appsrc ! videoconvert ! {scale}{caps} ! "
            f"kmssink driver-name={driver}{connector} sync=false")


def open_framebuffer_display(uri: Uri, options: DisplayOptions) -> FramebufferDisplay:
    return FramebufferDisplay(uri.target, uri.params.get("sysfs", "/sys/class/graphics"))


def open_gstreamer_display(uri: Uri, options: DisplayOptions) -> VideoWriterDisplay:
    require_gstreamer("display.uri", uri)
    return VideoWriterDisplay(uri.target, options.fps, cv2.CAP_GSTREAMER, 0, uri.text)


def open_drm_display(uri: Uri, options: DisplayOptions) -> VideoWriterDisplay:
    require_gstreamer("display.uri", uri)
    pipeline = drm_pipeline(uri)
    if missing_elements(("kmssink",)):
        raise UserError(f"display.uri '{uri.text}' needs GStreamer's kmssink, which is not "
                        "installed; apt-get install gstreamer1.0-plugins-bad.")
    return VideoWriterDisplay(pipeline, options.fps, cv2.CAP_GSTREAMER, 0, uri.text)


def open_window_display(uri: Uri, options: DisplayOptions) -> WindowDisplay:
    return WindowDisplay()


def open_null_display(uri: Uri, options: DisplayOptions) -> NullDisplay:
    return NullDisplay()


def open_file_display(uri: Uri, options: DisplayOptions) -> FrameDisplay:
    path = options.resolve(uri.target)
    if uri.target.endswith("/") or path.is_dir():
        return PngFolderDisplay(path)
    if path.suffix.lower() != ".mp4":
        raise UserError(f"display {uri.text}: file:// takes an .mp4 file or a folder ending in /.")
    return Mp4Display(path, options.fps, uri.text)
