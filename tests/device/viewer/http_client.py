"""What the `http://` display's tests use to talk to it: a free loopback port, plain requests,
MJPEG frames read off the stream, and a client that connects and then stops reading."""
from __future__ import annotations

import http.client
import json
import socket
import time
from urllib.parse import urlsplit


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None, timeout: float = 30.0):
    """(status, headers, body) of a GET, whatever the status."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + (f"?{u.query}" if u.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def status_json(base: str, query: str = "") -> dict:
    code, _, body = get(f"{base}/status.json{query}")
    assert code == 200, body
    return json.loads(body)


def wait_for(predicate, timeout_s: float, what: str, poll_s: float = 0.05):
    """Poll until `predicate()` is truthy (returns it) or fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(poll_s)


def mjpeg_frames(url: str, count: int, timeout: float = 30.0) -> list[tuple[int, bytes]]:
    """The first `count` parts of an MJPEG stream: (X-Frame, JPEG bytes) each."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request("GET", u.path + (f"?{u.query}" if u.query else ""))
        response = conn.getresponse()
        kind = response.getheader("Content-Type")
        assert response.status == 200 and kind.startswith("multipart/x-mixed-replace"), kind
        boundary = kind.split("boundary=", 1)[1].encode()
        frames = []
        while len(frames) < count:
            line = response.fp.readline()
            if not line:
                raise EOFError("the stream ended")
            if line.strip() != b"--" + boundary:
                continue
            head = {}
            while (field := response.fp.readline().strip()):
                key, _, value = field.decode().partition(":")
                head[key.lower()] = value.strip()
            assert head["content-type"] == "image/jpeg"
            frames.append((int(head["x-frame"]), response.fp.read(int(head["content-length"]))))
        return frames
    finally:
        conn.close()


def stalled_reader(url: str) -> socket.socket:
    """A client that asks for the stream with a tiny receive buffer and reads nothing: the
    server's sends to it soon block. The caller closes it."""
    u = urlsplit(url)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # before connect: no autotuning
    s.connect((u.hostname, u.port))
    s.sendall(f"GET {u.path}{'?' + u.query if u.query else ''} HTTP/1.0\r\n\r\n".encode())
    return s
