"""The `http://` display's server: the standard library's ThreadingHTTPServer, one thread per
client, and what it answers:

    /             the page: the stream and the figures (device.viewer.status_page)
    /stats        the figures alone, as the page refreshes them each second
    /status.json  the same figures as JSON (scripts, tests)
    /stream.mjpg  the frames as MJPEG (multipart/x-mixed-replace), shown by any browser's <img>
    /frame.jpg    the next frame, once
    /page.js      the page's refresh

With a token every path needs it, as `?token=` or `Authorization: Bearer`, compared in
constant time (hmac.compare_digest); anything else is a 401. Without one (the loopback
default), a request must name the server by address or as localhost in its Host header, or it
is a 403: a web page the browser is showing could otherwise have a name of its own resolve to
127.0.0.1 and read the stream through the SSH tunnel (DNS rebinding). An unknown path is a 404.

A client never holds the viewer up: each stream takes the newest JPEG when its previous one
has been sent (device.viewer.jpeg_feed), the kernel buffers at most SEND_BUFFER_BYTES for it,
and a client that takes nothing for the configured timeout (a send, or its request, that
does not complete) is dropped. At most MAX_STREAMS streams at once: more get a 503.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, quote, urlsplit

from device.viewer import status_page
from device.viewer.jpeg_feed import Jpeg, JpegFeed
from device.viewer.run_status import Json, StatusBoard

log = logging.getLogger(__name__)
BOUNDARY = "nightcolorframe"
# The kernel's buffer per client (Linux doubles what is asked): about two 640x480 JPEGs at
# quality 80. Set explicitly it also stops the kernel growing it (tcp(7), SO_SNDBUF), so a
# client that stops reading fills it and is noticed within its timeout.
SEND_BUFFER_BYTES = 64 * 1024
MAX_STREAMS = 8
WAIT_S = 0.5                 # how often a waiting stream looks whether the feed closed


class StreamClients:
    """The streams now open and what became of the others (thread-safe counts)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self.now = 0
        self.served = 0
        self.dropped = 0          # stopped reading, and were dropped after the timeout

    def enter(self) -> bool:
        with self._lock:
            if self.now >= self.limit:
                return False
            self.now += 1
            self.served += 1
            return True

    def leave(self, dropped: bool) -> None:
        with self._lock:
            self.now -= 1
            self.dropped += dropped


class ViewerHttpServer(ThreadingHTTPServer):
    daemon_threads = True        # a stream's thread never keeps the process alive
    allow_reuse_address = True   # a reload binds the port again at once

    def __init__(self, host: str, port: int, token: str | None, timeout_s: float,
                 feed: JpegFeed, board: StatusBoard):
        self.token = token
        self.timeout_s = timeout_s
        self.feed = feed
        self.board = board
        self.streams = StreamClients(MAX_STREAMS)
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), ViewerRequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    def stream_figures(self) -> Json:
        feed, streams = self.feed, self.streams
        return {"clients": streams.now, "clients_served": streams.served,
                "clients_dropped": streams.dropped, "frames_offered": feed.offered,
                "frames_encoded": feed.encoded,
                "encode_ms": 1e3 * feed.encode_s / feed.encoded if feed.encoded else None}

    def status(self) -> Json:
        return self.board.snapshot(self.stream_figures())

    def handle_error(self, request: object, client_address: object) -> None:
        """A client's connection failing is its own affair: one line, no traceback."""
        log.debug("http client %s: %s", client_address, sys.exc_info()[1])


class ViewerRequestHandler(BaseHTTPRequestHandler):
    server: ViewerHttpServer
    server_version = "nightcolor"
    sys_version = ""

    def setup(self) -> None:
        # Every receive and send on this connection: a client that stalls is dropped.
        self.request.settimeout(self.server.timeout_s)
        self.request.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        url = urlsplit(self.path)
        if self.server.token is None and not named_by_address(self.headers.get("Host", "")):
            self._send(403, "text/plain; charset=utf-8",
                       b"403: open this view as http://localhost:PORT/ or by IP address\n")
            return
        if not self._authorized(url.query):
            self._send(401, "text/plain; charset=utf-8",
                       b"401: this view needs its token: add ?token=... to the address, or "
                       b"send Authorization: Bearer ...\n",
                       {"WWW-Authenticate": 'Bearer realm="nightcolor"'})
            log.info("refused %s from %s: no token or a wrong one", url.path,
                     self.client_address[0])
            return
        route = ROUTES.get(url.path)
        if route is None:
            self._send(404, "text/plain; charset=utf-8",
                       f"404: no {url.path} here; the page is /\n".encode())
            return
        route(self)

    def _authorized(self, query: str) -> bool:
        token = self.server.token
        if token is None:
            return True
        offered = parse_qs(query).get("token", [])[:1]
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            offered.append(value.strip())
        expected = token.encode()
        return any(hmac.compare_digest(o.encode(), expected) for o in offered)

    # -- the routes ------------------------------------------------------------------------
    def _page(self) -> None:
        token = self.server.token
        query = f"?token={quote(token)}" if token else ""
        self._send(200, "text/html; charset=utf-8",
                   status_page.page(self.server.status(), query).encode(),
                   {"Content-Security-Policy": status_page.CONTENT_SECURITY_POLICY})

    def _stats(self) -> None:
        self._send(200, "text/html; charset=utf-8",
                   status_page.stats(self.server.status()).encode())

    def _status_json(self) -> None:
        self._send(200, "application/json",
                   json.dumps(self.server.status(), indent=1, allow_nan=False).encode())

    def _script(self) -> None:
        self._send(200, "text/javascript; charset=utf-8", status_page.SCRIPT.encode())

    def _frame(self) -> None:
        feed = self.server.feed
        with feed.subscribed() as seq:
            jpeg = feed.next_after(seq, self.server.timeout_s)
        if jpeg is None:
            self._send(503, "text/plain; charset=utf-8",
                       f"503: no frame within {self.server.timeout_s:g} s\n".encode())
            return
        self._send(200, "image/jpeg", jpeg.data)

    def _stream(self) -> None:
        streams = self.server.streams
        if not streams.enter():
            self._send(503, "text/plain; charset=utf-8",
                       f"503: {streams.limit} streams are open already\n".encode())
            return
        dropped = False
        try:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self._common_headers()
            self.end_headers()
            self._send_frames()
        except socket.timeout:
            dropped = True
            log.info("dropped a stream client (%s) that took no frame for %g s",
                     self.client_address[0], self.server.timeout_s)
        except (BrokenPipeError, ConnectionResetError):
            pass                                     # the client went away
        finally:
            streams.leave(dropped)

    def _send_frames(self) -> None:
        feed = self.server.feed
        with feed.subscribed() as seq:
            while not feed.closed:
                jpeg = feed.next_after(seq, WAIT_S)
                if jpeg is not None:
                    self.wfile.write(part(jpeg))
                    seq = jpeg.seq

    # -- responses -------------------------------------------------------------------------
    def _send(self, code: int, content_type: str, body: bytes,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._common_headers()
        self.end_headers()
        self.wfile.write(body)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One debug line per request, without its query (where a token may be)."""
        path = urlsplit(getattr(self, "path", "")).path
        log.debug("%s %s %s -> %s", self.client_address[0], self.command, path, code)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log.debug("http %s: %s", self.client_address[0], format % args)


def named_by_address(host_header: str) -> bool:
    """A Host header of an IP address or localhost (any port), or none (HTTP/1.0)."""
    host = urlsplit(f"//{host_header}").hostname if host_header else ""
    if not host or host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def part(jpeg: Jpeg) -> bytes:
    """One frame of the MJPEG stream; X-Frame numbers it (frames displayed so far)."""
    head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg.data)}\r\n"
            f"X-Frame: {jpeg.seq}\r\n\r\n").encode()
    return head + jpeg.data + b"\r\n"


ROUTES: dict[str, Callable[[ViewerRequestHandler], None]] = {
    "/": ViewerRequestHandler._page,
    "/stats": ViewerRequestHandler._stats,
    "/status.json": ViewerRequestHandler._status_json,
    "/stream.mjpg": ViewerRequestHandler._stream,
    "/frame.jpg": ViewerRequestHandler._frame,
    "/page.js": ViewerRequestHandler._script,
}
