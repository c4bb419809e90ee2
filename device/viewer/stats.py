"""Per-stage timings, throughput and end-to-end latency, summarised every few seconds."""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

import numpy as np


class StageTimes:
    """Seconds per stage, added by the thread that runs it; read and reset by the reporter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, list[float]] = defaultdict(list)    # since the last take
        self._sums: dict[str, float] = defaultdict(float)             # over the whole run
        self._counts: dict[str, int] = defaultdict(int)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._values[stage].append(seconds)
            self._sums[stage] += seconds
            self._counts[stage] += 1

    def take(self) -> dict[str, float]:
        """Mean milliseconds per stage since the last take."""
        with self._lock:
            out = {k: 1e3 * float(np.mean(v)) for k, v in self._values.items() if v}
            self._values.clear()
        return out

    def means_ms(self) -> dict[str, float]:
        """Mean milliseconds per stage over the whole run."""
        with self._lock:
            return {k: 1e3 * total / self._counts[k] for k, total in self._sums.items()}


class Rate:
    """Events per second over a sliding span (for the fps overlay and the observer)."""

    def __init__(self, span_s: float = 2.0):
        self.span_s = span_s
        self._times: deque[float] = deque()

    def tick(self, t: float | None = None) -> float:
        t = time.monotonic() if t is None else t
        self._times.append(t)
        while self._times and self._times[0] < t - self.span_s:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


class Latency:
    """End-to-end latency: the mean over the run, and over the recent frames for the periodic
    statistics line."""

    def __init__(self, recent: int = 200):
        self._total = 0.0
        self._count = 0
        self._recent: deque[float] = deque(maxlen=recent)

    def add(self, seconds: float) -> None:
        self._total += seconds
        self._count += 1
        self._recent.append(seconds)

    def mean_ms(self) -> float:
        return 1e3 * self._total / self._count if self._count else 0.0

    def recent_ms(self) -> float:
        recent = list(self._recent)     # another thread appends meanwhile
        return 1e3 * float(np.mean(recent)) if recent else 0.0
