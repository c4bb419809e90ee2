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


@pytest.fixture(scope="session")
def tiny_model_onnx(tmp_path_factory):
    """A converted model for the viewer: a tiny `linear` network saved by train's real
    checkpoint writer and converted by `python -m convert`. Its colours are meaningless; the
    service tests only need frames to flow."""
    import subprocess
    import sys

    import torch

    from train.checkpoint import save_checkpoint
    from train.data import FROM_REFLECTANCE, TO_SRGB
    from train.models import build_model

    torch.set_num_threads(1)
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("service_model")
    model = build_model({"name": "linear", "patch": 4}).eval()
    ckpt = folder / "ckpt.pt"
    save_checkpoint(ckpt, model, {
        "model": model.config, "inputs": [718, 777, 807], "truth_mode": "human",
        "normalisation": {"input": dict(FROM_REFLECTANCE), "output": dict(TO_SRGB)},
        "spatial_multiple": model.spatial_multiple})
    subprocess.run([sys.executable, "-m", "convert", str(ckpt)], check=True,
                   capture_output=True, timeout=300)
    return folder / "ckpt.onnx"
