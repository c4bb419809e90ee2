"""The newest displayed frame as a JPEG, encoded once for every browser, never by the display
thread.

The display thread only hands its frame over (`offer`: a reference stored under a lock, the
older one dropped if the encoder has not taken it yet). One encoder thread takes the newest
frame whenever at least one client is subscribed, encodes it once, and publishes it with its
number; every client (each served by its own thread) takes the newest published JPEG when it is
ready for one, so a slow client skips frames instead of queueing them, and none of them is
ever waited for by the viewer. With no client subscribed nothing is encoded.

The frames handed over are not copied: each color frame is a new array that nothing writes
after it was displayed (the engines return fresh outputs, the overlay draws on a copy).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import cv2
import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)
# The encoder runs below the viewer's threads: when the CPU is short, the browser's stream
# skips frames rather than the viewer. Linux keeps a nice value per thread (setpriority(2),
# "BUGS": under NPTL the nice value is a per-thread attribute), and raising it needs no
# privilege.
ENCODER_NICE = 10


@dataclass(frozen=True)
class Jpeg:
    seq: int                 # the number of the frame it encodes (frames offered so far)
    data: bytes


def encode_jpeg(rgb: NDArray[np.uint8], quality: int) -> bytes:
    """An RGB frame as JPEG bytes (OpenCV releases the GIL while it encodes)."""
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                              [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not encode a {rgb.shape} frame as JPEG")
    return buffer.tobytes()


def lower_this_threads_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (Linux; elsewhere nothing happens)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except (AttributeError, OSError) as exc:
        log.debug("encoder priority unchanged: %s", exc)


class JpegFeed:
    """Frames in from the display thread, JPEGs out to any number of client threads."""

    def __init__(self, quality: int, clock: Callable[[], float] = time.perf_counter):
        self.quality = quality
        self.clock = clock
        self._lock = threading.Lock()
        self._new_frame = threading.Condition(self._lock)    # the encoder waits on it
        self._new_jpeg = threading.Condition(self._lock)     # the clients wait on it
        self._pending: NDArray[np.uint8] | None = None       # newest frame not yet encoded
        self._latest: Jpeg | None = None
        self._subscribers = 0
        self._closed = False
        self.offered = 0           # frames handed over by the display thread
        self.encoded = 0           # frames encoded (at most one per frame offered)
        self.encode_s = 0.0        # time spent encoding, in total
        self._thread = threading.Thread(target=self._encode_loop, name="jpeg-encoder",
                                        daemon=True)
        self._thread.start()

    # -- the display thread ----------------------------------------------------------------
    def offer(self, rgb: NDArray[np.uint8]) -> None:
        """Hand over the frame just displayed; returns at once."""
        with self._lock:
            self._pending = rgb
            self.offered += 1
            if self._subscribers:
                self._new_frame.notify()

    # -- the clients' threads --------------------------------------------------------------
    @contextlib.contextmanager
    def subscribed(self) -> Iterator[int]:
        """While inside, frames are encoded for this client. Yields the number to pass to the
        first `next_after`: the latest JPEG is taken at once unless a newer frame is waiting
        to be encoded."""
        with self._lock:
            self._subscribers += 1
            self._new_frame.notify()
            latest = self._latest.seq if self._latest is not None else 0
            first = latest if self._pending is not None else latest - 1
        try:
            yield first
        finally:
            with self._lock:
                self._subscribers -= 1

    def next_after(self, seq: int, timeout_s: float) -> Jpeg | None:
        """The newest JPEG of a frame after `seq`, waiting up to `timeout_s` for one; None if
        none came in time or the feed closed."""
        with self._lock:
            self._new_jpeg.wait_for(lambda: self._closed or (
                self._latest is not None and self._latest.seq > seq), timeout_s)
            if self._closed or self._latest is None or self._latest.seq <= seq:
                return None
            return self._latest

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def subscribers(self) -> int:
        return self._subscribers

    # -- the encoder thread ----------------------------------------------------------------
    def _encode_loop(self) -> None:
        lower_this_threads_priority(ENCODER_NICE)
        while True:
            with self._lock:
                self._new_frame.wait_for(lambda: self._closed or (
                    self._pending is not None and self._subscribers > 0))
                if self._closed:
                    return
                rgb, seq, self._pending = self._pending, self.offered, None
            assert rgb is not None
            t0 = self.clock()
            try:
                data = encode_jpeg(rgb, self.quality)
            except (cv2.error, RuntimeError) as exc:   # the browser's loss, never the viewer's
                log.error("frame %d not sent to the browser: %s", seq, exc)
                continue
            spent = self.clock() - t0
            with self._lock:
                self._latest = Jpeg(seq, data)
                self.encoded += 1
                self.encode_s += spent
                self._new_jpeg.notify_all()

    def close(self) -> None:
        """Stop the encoder and wake every waiting client (each then ends its stream)."""
        with self._lock:
            self._closed = True
            self._new_frame.notify_all()
            self._new_jpeg.notify_all()
        self._thread.join(timeout=5.0)
