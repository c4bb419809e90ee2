"""A bounded hand-off between threads that drops the oldest item when full: a slow stage then
works on the newest frame and latency never grows. Every drop is counted. With `block` (the
lockstep measurement mode) a full queue makes `put` wait instead: nothing is dropped."""
from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, maxsize: int, name: str, block: bool = False):
        self.name = name
        self.block = block
        self.dropped = 0
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._cv = threading.Condition()
        self._closed = False

    def put(self, item: T) -> None:
        with self._cv:
            if self.block:
                self._cv.wait_for(lambda: len(self._items) < self._maxsize or self._closed)
                if self._closed:
                    return
            elif len(self._items) >= self._maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cv.notify_all()

    def get(self, timeout: float) -> T | None:
        """The oldest item, or None after `timeout` seconds or once closed."""
        with self._cv:
            if not self._cv.wait_for(lambda: self._items or self._closed, timeout):
                return None
            item = self._items.popleft() if self._items else None
            self._cv.notify_all()         # a waiting put may go on
            return item

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
