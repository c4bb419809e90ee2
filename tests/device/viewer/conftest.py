"""The viewer tests run the shipped `edge` model (device/assets): trained by this project's
own `train fit` on the simulated rig and converted by `convert` (see device/assets/README.md)."""
from pathlib import Path

import pytest

from device.simulated.presets import SHIPPED_MODEL


@pytest.fixture(scope="session")
def model_onnx() -> Path:
    assert SHIPPED_MODEL.is_file() and SHIPPED_MODEL.with_suffix(".json").is_file(), \
        f"{SHIPPED_MODEL} and its model card ship with the repository"
    return SHIPPED_MODEL


class FakeClock:
    """A monotonic clock the test moves, in the pattern of the service observer's tests:
    `clock()` reads it; `clock.sleep(s)` moves it as a sleeping thread would see it pass, in
    steps of `step` seconds (None: one jump), running `while_asleep` callbacks after each step
    (the other threads that got the CPU meanwhile, e.g. the LED fail-safe's `check`)."""

    def __init__(self, t: float = 1000.0):
        self.t = t
        self.step: float | None = None
        self.while_asleep: list = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        end = self.t + max(0.0, seconds)
        while self.t < end:
            self.t = end if self.step is None else min(end, self.t + self.step)
            for callback in self.while_asleep:
                callback()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


class ClockedCamera:
    """A camera on a FakeClock, for the strobe's timing logic (the simulated camera renders in
    real time). `trigger` sync: each read() exposes from the latest trigger pulse, which
    `last_trigger()` reports, for `exposure_s`; `frame` sync: exposures follow a free-running
    clock at `period_s`. read() returns when the exposure ends on the clock. `stall_after`
    frames, it hangs for `timeout_s` and raises CameraError, as a stalled driver does."""

    def __init__(self, clock: FakeClock, exposure_s: float, period_s: float, sync: str,
                 last_trigger=None, stall_after: int | None = None, timeout_s: float = 1.0):
        self.clock, self.exposure_s, self.period_s, self.sync = clock, exposure_s, period_s, sync
        self.last_trigger = last_trigger
        self.stall_after, self.timeout_s = stall_after, timeout_s
        self.frames = 0
        self._seen_trigger = None
        self._t0 = clock()

    def read(self):
        import math

        import numpy as np

        from device.viewer.cameras import CameraError, Frame

        if self.stall_after is not None and self.frames >= self.stall_after:
            self.clock.sleep(self.timeout_s)
            raise CameraError(f"camera stopped delivering frames after {self.frames}")
        if self.sync == "trigger":
            start = self.last_trigger()
            if start is None or start == self._seen_trigger:
                raise CameraError("camera got no trigger pulse")
            self._seen_trigger = start
        else:   # the next exposure that starts from now on
            start = self._t0 + math.ceil((self.clock() - self._t0) / self.period_s) * self.period_s
        end = start + self.exposure_s
        self.clock.sleep(end - self.clock())
        self.frames += 1
        return Frame(np.zeros((4, 4), np.uint16), start, end)

    def close(self):
        pass


@pytest.fixture
def clocked_camera():
    return ClockedCamera
