"""What does the `http://` display cost the viewer? (target: within 10 % of `null://`)

Runs the viewer on the simulated rig with the shipped edge model, in rounds; each round runs
these one after another (each first in turn, so that a drift in the machine's load, or the
first run's warm-up, falls on all alike):
- `null://`;
- `http://` with a reader taking the whole MJPEG stream, in another process (a browser's part:
  on the device it would be on another machine);
- `http://` with a reader that connects and stops reading (dropped after the display's
  timeout, here 1 s).
It prints each run's color frame rate, the display thread's ms per frame, the frames the
reader received, then per mode the median rate and its ratio to `null://`, the process's CPU
time per frame (every thread: less swayed than the rate by other work on a shared machine),
and the JPEG encoder's time per frame (its own thread) at this size and at 640x480.

    .venv/bin/python bench/bench_http_display.py [--frames 300] [--rounds 5]
                                                 [--width 128] [--height 96] [--fps 60]
"""
from __future__ import annotations

import argparse
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from device.benchmark import ensure_calibration
from device.simulated.presets import sim_config
from device.viewer.jpeg_feed import encode_jpeg
from device.viewer.loop import Pipeline
from device.viewer.observer import FrameShown, LoggingObserver

TARGET = 0.90
MODES = ("null://", "http:// + reader", "http:// + stalled reader")


class LastFrame(LoggingObserver):
    """Keeps the last color frame (for timing its JPEG encoding)."""

    def __init__(self) -> None:
        self.rgb: np.ndarray | None = None

    def frame_shown(self, shown: FrameShown) -> None:
        self.rgb = shown.frame.rgb


class DropCount(logging.Handler):
    """Counts the display's "dropped a stream client" lines."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.dropped += record.getMessage().startswith("dropped a stream client")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The readers run in their own processes, with nothing but the standard library (started in
# milliseconds, while the viewer still loads its engine). argv: port, "read" or "stall".
READER = """
import socket, sys, time
port, role = int(sys.argv[1]), sys.argv[2]
deadline = time.monotonic() + 60
while True:
    s = socket.socket()
    if role == "stall":     # a tiny buffer, set before connecting: the server's sends soon block
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        s.connect(("127.0.0.1", port))
        break
    except ConnectionRefusedError:
        s.close()
        if time.monotonic() > deadline:
            raise
        time.sleep(0.01)
s.sendall(b"GET /stream.mjpg HTTP/1.0\\r\\n\\r\\n")
if role == "stall":
    time.sleep(3600)
frames, tail = 0, b""
while chunk := s.recv(1 << 16):
    frames += (tail + chunk).count(b"Content-Type: image/jpeg")
    tail = chunk[-32:]
print(frames)
"""


def run(config_folder: Path, args: argparse.Namespace, mode: str) -> dict:
    port = free_port()
    display = "null://" if mode == "null://" else f"http://127.0.0.1:{port}?timeout=1"
    config = sim_config(config_folder, width=args.width, height=args.height, fps=args.fps,
                        display=display)
    reader = None
    if mode != "null://":
        role = "read" if mode == "http:// + reader" else "stall"
        reader = subprocess.Popen([sys.executable, "-c", READER, str(port), role],
                                  stdout=subprocess.PIPE, text=True)
    observer = LastFrame()
    cpu = time.process_time()
    try:
        report = Pipeline(config, observer).run(max_frames=args.frames).report_or_raise()
        cpu = time.process_time() - cpu
    finally:
        if reader is not None and mode != "http:// + reader":
            reader.kill()
        got = reader.communicate(timeout=60)[0].strip() if reader is not None else ""
    return {"fps": report.fps, "display_ms": report.stage_ms.get("display", 0.0),
            "cpu_ms": 1e3 * cpu / report.frames, "received": got, "last": observer.rgb}


def encode_ms(rgb: np.ndarray, repeats: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        encode_jpeg(rgb, 80)
    return 1e3 * (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--height", type=int, default=96)
    parser.add_argument("--fps", type=float, default=60.0)
    args = parser.parse_args()
    drops = DropCount()
    logging.getLogger("device.viewer.http_server").addHandler(drops)
    logging.getLogger("device.viewer.http_server").setLevel(logging.INFO)
    fps: dict[str, list[float]] = {m: [] for m in MODES}
    display_ms: dict[str, list[float]] = {m: [] for m in MODES}
    cpu_ms: dict[str, list[float]] = {m: [] for m in MODES}
    last = None
    print(f"sim rig {args.width}x{args.height} at {args.fps:g} fps, shipped edge model, "
          f"{args.frames} color frames per run, {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        ensure_calibration(sim_config(Path(folder), width=args.width, height=args.height))
        for r in range(args.rounds):
            cells = {}
            for mode in MODES[r % 3:] + MODES[:r % 3]:     # each mode first in turn
                before = drops.dropped
                result = run(Path(folder), args, mode)
                fps[mode].append(result["fps"])
                display_ms[mode].append(result["display_ms"])
                cpu_ms[mode].append(result["cpu_ms"])
                last = result["last"]
                extra = (f", reader got {result['received']}" if mode == "http:// + reader"
                         else f", dropped {drops.dropped - before}" if "stalled" in mode else "")
                cells[mode] = f"{mode} {result['fps']:.1f} fps{extra}"
            print(f"round {r + 1}: " + " | ".join(cells[m] for m in MODES))
    null = statistics.median(fps["null://"])
    print(f"median: null:// {null:.1f} fps")
    for mode in MODES[1:]:
        ratio = statistics.median(fps[mode]) / null
        print(f"  {mode}: {statistics.median(fps[mode]):.1f} fps, ratio {ratio:.2f} "
              f"({'meets' if ratio >= TARGET else 'MISSES'} the {TARGET:.0%} target)")
    print("display thread, ms per frame (median): " + ", ".join(
        f"{m} {statistics.median(display_ms[m]):.3f}" for m in MODES))
    print("CPU of the viewer's process, ms per frame (median; every thread, start-up included): "
          + ", ".join(f"{m} {statistics.median(cpu_ms[m]):.2f}" for m in MODES))
    if last is not None:
        big = cv2.resize(last, (640, 480), interpolation=cv2.INTER_LINEAR)
        print(f"JPEG encode (quality 80, the encoder thread): {args.width}x{args.height} "
              f"{encode_ms(last):.2f} ms, 640x480 {encode_ms(big):.2f} ms")


if __name__ == "__main__":
    main()
