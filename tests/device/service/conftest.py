"""A real unix datagram socket standing where systemd's NOTIFY_SOCKET would be."""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

import pytest


class NotifySocket:
    """Binds a datagram socket and, like systemd's manager, reads it continuously in a thread."""

    def __init__(self, address: str | bytes):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.address = address
        self.received: list[tuple[float, str]] = []   # (monotonic arrival, datagram)
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while not self._closed.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received.append((time.monotonic(), data.decode()))

    @property
    def env_value(self) -> str:
        if isinstance(self.address, bytes):
            return "@" + self.address[1:].decode()
        return self.address

    def drain(self, wait_s: float = 0.0) -> list[str]:
        """Wait `wait_s` for datagrams in flight; return every text received so far, in order,
        and forget them."""
        time.sleep(wait_s)
        taken, self.received[:] = list(self.received), []
        return [m for _, m in taken]

    def messages(self) -> list[str]:
        return [m for _, m in self.received]

    def wait_for(self, line: str, timeout_s: float) -> bool:
        """Wait until a datagram carrying `line` has arrived (True) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.times_of(line):
                return True
            time.sleep(0.02)
        return bool(self.times_of(line))

    def times_of(self, line: str) -> list[float]:
        return [t for t, m in list(self.received) if line in m.split("\n")]

    def close(self):
        self._closed.set()
        self._reader.join()
        self.sock.close()


@pytest.fixture
def notify_socket():
    # A short folder of our own: unix socket paths are limited to 107 bytes.
    folder = tempfile.mkdtemp(prefix="nc-sd-")
    sock = NotifySocket(os.path.join(folder, "notify"))
    yield sock
    sock.close()
    os.unlink(sock.address)
    os.rmdir(folder)


@pytest.fixture
def abstract_notify_socket():
    """The same, in the Linux abstract namespace (NOTIFY_SOCKET=@name)."""
    sock = NotifySocket(f"\0nightcolor-test-{os.getpid()}-{time.monotonic_ns()}".encode())
    yield sock
    sock.close()
