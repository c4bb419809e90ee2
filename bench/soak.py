"""Soak: `device run` on the simulated rig for N minutes, as systemd would run it.

The viewer runs as a child process with this script standing in for the service manager: it
binds the NOTIFY_SOCKET, sets WATCHDOG_USEC as the unit does, and reads READY / WATCHDOG /
STATUS like PID 1 would. Every few seconds it samples the child's RSS (/proc/PID/status); the
frame counts in the STATUS lines give fps per window. At the end it stops the viewer with
SIGTERM and reports RSS start/end (their ratio), fps min/median, watchdog gaps and the exit.

    .venv/bin/python bench/soak.py [--minutes 10] [--model device/assets/edge.onnx]
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WATCHDOG_USEC = 20_000_000          # the unit's WatchdogSec=20
FRAMES = re.compile(r"(\d+) frames")


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


class Manager:
    """The service manager's end of NOTIFY_SOCKET: every datagram, with its arrival time."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while not self.done.is_set():
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except TimeoutError:
                continue

    def times(self, line: str) -> list[float]:
        return [t for t, m in list(self.messages) if line in m.split("\n")]

    def frame_counts(self) -> list[tuple[float, int]]:
        out = []
        for t, m in list(self.messages):
            match = FRAMES.search(m) if m.startswith("STATUS=") else None
            if match:
                out.append((t, int(match.group(1))))
        return out


def write_config(folder: Path, model: Path) -> Path:
    path = folder / "soak.toml"
    path.write_text(f"""
[camera]
uri = "sim://"
width = 128
height = 96
fps = 60.0
[leds]
uri = "sim://"
[engine]
uri = "onnx://{model.resolve()}"
[display]
uri = "null://"
[sim]
scene = "astronaut"
""")
    return path


def main() -> int:
    from device.simulated.presets import SHIPPED_MODEL

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--sample-s", type=float, default=5.0, help="RSS sampling period")
    p.add_argument("--model", type=Path, default=SHIPPED_MODEL,
                   help="ONNX model with its card beside it (default: the shipped edge model)")
    args = p.parse_args()
    if not args.model.is_file():
        print(f"soak: error: {args.model}: model not found; pass --model x.onnx.", file=sys.stderr)
        return 2

    folder = Path(tempfile.mkdtemp(prefix="nc-soak-"))
    manager = Manager(str(folder / "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=str(folder / "notify"), WATCHDOG_USEC=str(WATCHDOG_USEC))
    with open(folder / "viewer.log", "w") as log:
        viewer = subprocess.Popen([sys.executable, "-m", "device", "run", "--config",
                                   str(write_config(folder, args.model))],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    while not manager.times("READY=1"):
        if viewer.poll() is not None or time.monotonic() - started > 300:
            print(f"soak: error: the viewer never got ready; see {folder / 'viewer.log'}.",
                  file=sys.stderr)
            viewer.kill()
            return 1
        time.sleep(0.1)
    ready_s = time.monotonic() - started
    rss: list[tuple[float, float]] = []
    end = time.monotonic() + args.minutes * 60
    while time.monotonic() < end and viewer.poll() is None:
        value = rss_mib(viewer.pid)
        if value is not None:
            rss.append((time.monotonic(), value))
        time.sleep(args.sample_s)
    alive = viewer.poll() is None
    sent = time.monotonic()
    viewer.send_signal(signal.SIGTERM)
    rc = viewer.wait(timeout=30)
    stop_s = time.monotonic() - sent
    manager.done.set()

    counts = manager.frame_counts()
    fps = [(n1 - n0) / (t1 - t0) for (t0, n0), (t1, n1) in zip(counts, counts[1:]) if t1 > t0]
    pings = manager.times("WATCHDOG=1")
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    mib = [v for _, v in rss]
    half = len(mib) // 2
    # Allocators and onnxruntime's arena grow during the first minute; growth after that is
    # what a leak looks like.
    warm = next((v for t, v in rss if t - rss[0][0] >= 60), mib[-1])
    print(f"soak: {args.minutes:g} min of `device run` on the simulated rig, model {args.model.name}"
          f", 128x96 at 60 sub-frames/s; ready after {ready_s:.1f} s")
    print(f"  RSS MiB   start {mib[0]:.1f}   at 1 min {warm:.1f}   end {mib[-1]:.1f}   "
          f"max {max(mib):.1f}   end/start {mib[-1] / mib[0]:.3f}   end/1-min {mib[-1] / warm:.3f}"
          f"   second-half mean/first-half mean "
          f"{statistics.mean(mib[half:]) / statistics.mean(mib[:half] or mib):.3f}  "
          f"({len(mib)} samples)")
    marks = [next(v for t, v in rss if t - rss[0][0] >= m * 60)
             for m in range(0, int(args.minutes) + 1, 5) if rss[-1][0] - rss[0][0] >= m * 60]
    print("  RSS MiB   every 5 min: " + "  ".join(f"{v:.1f}" for v in marks))
    print(f"  fps       min {min(fps):.1f}   median {statistics.median(fps):.1f}   "
          f"max {max(fps):.1f}   ({len(fps)} windows of ~5 s, {counts[-1][1]} frames)")
    print(f"  watchdog  {len(pings)} pings, longest gap {max(gaps):.1f} s "
          f"(WatchdogSec {WATCHDOG_USEC / 1e6:g} s)")
    print(f"  stop      alive to the end: {alive}; SIGTERM -> exit {rc} in {stop_s:.2f} s; "
          f"STOPPING=1 {'sent' if manager.times('STOPPING=1') else 'MISSING'}")
    return 0 if alive and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
