"""`http://HOST:PORT`: the viewer's frames as an MJPEG stream and a status page, for a browser
watching a device that has no monitor (the display role, registered in device.viewer.backends).

    http://127.0.0.1:8080                        this machine only (the default bind)
    http://0.0.0.0:8080?token=SECRET             every interface: a token is then required
    ...?selftest=PATH&quality=80&timeout=10      the self-test report shown, JPEG quality,
                                                 seconds a client may stall before it is dropped

Served by the standard library's ThreadingHTTPServer (device.viewer.http_server), one thread
per client; frames are JPEG-encoded once, off the display thread (device.viewer.jpeg_feed).
The page (device.viewer.status_page) shows what a StatusBoard (device.viewer.run_status)
keeps: this display is a StatusDisplay, an observer the Pipeline hands the run.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import string
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from device.common.errors import UserError
from device.common.uri import Uri
from device.viewer.displays import DisplayOptions, FrameDisplay, Rgb8
from device.viewer.http_server import ViewerHttpServer
from device.viewer.jpeg_feed import JpegFeed
from device.viewer.observer import FrameShown
from device.viewer.run_status import RunStatus, StatusBoard

log = logging.getLogger(__name__)
DEFAULT_PORT = 8080
PARAMS = ("token", "selftest", "quality", "timeout")
MIN_TOKEN_CHARS = 16
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-._~")   # URL-safe as typed
DEFAULT_SELFTEST = "selftest.json"    # beside the config, like the calibration
DEFAULT_QUALITY = 80
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class HttpSettings:
    host: str                  # "" : every interface
    port: int
    token: str | None
    selftest: str              # the self-test report's path as written (relative: the config's)
    quality: int               # JPEG quality, 1-100
    timeout_s: float           # a client that takes nothing for this long is dropped
    shown: str                 # the URI as the config wrote it, its token masked

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:          # a host name other than localhost, or "" (every interface)
        return False


def masked(text: str) -> str:
    """The URI with its token's value hidden, for messages and logs."""
    return re.sub(r"(token=)[^&]*", r"\1***", text)


def http_settings(uri: Uri) -> HttpSettings:
    """The settings in `http://HOST[:PORT][?token=...&selftest=...&quality=...&timeout=...]`;
    a UserError (one sentence) for anything wrong, a bind beyond loopback without a token
    first among them."""
    where = f"display.uri '{masked(uri.text)}'"
    unknown = sorted(set(uri.params) - set(PARAMS))
    if unknown:
        raise UserError(f"{where} has unknown parameter(s) {', '.join(unknown)}; expected "
                        f"{', '.join(PARAMS)}.")
    parts = urlsplit("//" + uri.target)
    try:
        port = DEFAULT_PORT if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise UserError(f"{where}: the port must be a number from 1 to 65535.")
    if parts.path not in ("", "/") or parts.username is not None:
        raise UserError(f"{where}: give HOST:PORT only, e.g. http://127.0.0.1:8080.")
    host = parts.hostname or ""
    token = uri.params.get("token")
    _check_token(where, host, token)
    quality = _number(where, uri, "quality", DEFAULT_QUALITY, 1, 100)
    if quality != int(quality):
        raise UserError(f"{where}: quality must be a whole number from 1 to 100.")
    return HttpSettings(host, port, token, uri.params.get("selftest", DEFAULT_SELFTEST),
                        int(quality),
                        _number(where, uri, "timeout", DEFAULT_TIMEOUT_S, 0.05, 3600),
                        masked(uri.text))


def _check_token(where: str, host: str, token: str | None) -> None:
    if token is None:
        if not is_loopback(host):
            place = host if host not in ("", "0.0.0.0", "::") else "on every network interface"
            raise UserError(f"{where} would serve {place} without a token; add "
                            f"?token= with at least {MIN_TOKEN_CHARS} random characters, or "
                            "keep 127.0.0.1 and watch through an SSH tunnel.")
        return
    if len(token) < MIN_TOKEN_CHARS or not set(token) <= TOKEN_CHARS:
        raise UserError(f"{where}: the token must be at least {MIN_TOKEN_CHARS} characters "
                        "of A-Z, a-z, 0-9 and -._~ (a browser must be able to type it).")


def _number(where: str, uri: Uri, key: str, default: float, low: float, high: float) -> float:
    text = uri.params.get(key)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:        # NaN too
        raise UserError(f"{where}: {key} must be a number from {low:g} to {high:g}, not "
                        f"'{text}'.")
    return value


def check_http_uri(uri: Uri) -> None:
    """The check at config load (BackendTable.register's `check`)."""
    http_settings(uri)


class HttpDisplay(FrameDisplay):
    """Serves the frames it is given and the run's status until closed. The display thread
    only hands each frame over; everything else runs in the server's and encoder's threads."""

    def __init__(self, settings: HttpSettings, selftest: Path):
        super().__init__()
        self.settings = settings
        self.board = StatusBoard(selftest)
        self.feed = JpegFeed(settings.quality)
        try:
            self.server = ViewerHttpServer(settings.host, settings.port, settings.token,
                                           settings.timeout_s, self.feed, self.board)
        except OSError as exc:
            self.feed.close()
            raise UserError(f"display.uri '{settings.shown}': cannot listen on "
                            f"{settings.host or '*'}:{settings.port} "
                            f"({exc.strerror or exc}).") from None
        self._serving = threading.Thread(target=self.server.serve_forever, name="http-display",
                                         kwargs={"poll_interval": 0.1}, daemon=True)
        self._serving.start()
        log.info("display: the stream and status page at %s%s", self.server.url,
                 " (token required)" if settings.token else "")

    def _show(self, rgb: Rgb8) -> None:
        self.feed.offer(rgb)

    # -- the observer's events (a StatusDisplay) --------------------------------------------
    def frame_shown(self, shown: FrameShown) -> None:
        self.board.frame_shown(shown)

    def status(self, text: str) -> None:
        self.board.status(text)

    def reloading(self) -> None:
        pass

    def reloaded(self) -> None:
        pass

    def stopping(self) -> None:
        pass

    def follow(self, run: RunStatus) -> None:
        self.board.run = run

    def close(self) -> None:
        self.feed.close()                  # every stream ends
        self.server.shutdown()
        self.server.server_close()
        self._serving.join(timeout=5.0)


def open_http_display(uri: Uri, options: DisplayOptions) -> HttpDisplay:
    settings = http_settings(uri)
    return HttpDisplay(settings, options.resolve(settings.selftest))
