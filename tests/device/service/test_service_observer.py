"""ServiceObserver against a real datagram socket, driven by a clock the test moves."""
from __future__ import annotations

import numpy as np

from device.service.notify import Notifier
from device.service.observer import ServiceObserver
from device.viewer.colorize import ColorFrame
from device.viewer.observer import FrameShown
from device.viewer.strobe import SubFrame
from device.viewer.window import Triplet


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def stats(frames: int, fps: float = 20.0) -> FrameShown:
    sub = SubFrame(718, np.zeros((1, 1), np.uint16), 0.0, 0.004, frames)
    frame = ColorFrame(np.zeros((1, 1, 3), np.uint8), Triplet({718: sub}, sub), lambda: [])
    return FrameShown(frame, frames=frames, fps=fps, latency_ms=48.6, dropped=2)


def observer_for(sock, clock, watchdog_usec="1000000", status_every_s=5.0):
    env = {"NOTIFY_SOCKET": sock.env_value, "WATCHDOG_USEC": watchdog_usec}
    return ServiceObserver(Notifier(env), status_every_s=status_every_s, clock=clock)


def test_ready_only_after_the_first_frame_and_only_once(notify_socket):
    clock = Clock()
    obs = observer_for(notify_socket, clock)
    obs.status("uncalibrated")
    assert notify_socket.drain(0.1) == ["STATUS=uncalibrated"]
    for i in range(3):
        obs.frame_shown(stats(i + 1))
        clock.t += 0.05
    messages = notify_socket.drain(0.1)
    assert messages.count("READY=1") == 1
    assert messages[0] == "READY=1"                 # before the first ping and stats line


def test_watchdog_pings_at_half_the_period_and_stop_when_frames_stop(notify_socket):
    clock = Clock()
    obs = observer_for(notify_socket, clock, watchdog_usec="1000000")
    for i in range(20):                             # 2 s of frames at 10 fps
        obs.frame_shown(stats(i + 1))
        clock.t += 0.1
    pings = notify_socket.drain(0.1).count("WATCHDOG=1")
    assert pings == 4                               # t = 0, 0.5, 1.0, 1.5
    clock.t += 30.0                                 # the camera hangs: no frame is shown
    assert "WATCHDOG=1" not in notify_socket.drain(0.1)
    obs.frame_shown(stats(21))                      # frames flow again: ping at once
    obs.frame_shown(stats(22))
    assert notify_socket.drain(0.1).count("WATCHDOG=1") == 1


def test_no_pings_without_a_watchdog(notify_socket):
    clock = Clock()
    obs = observer_for(notify_socket, clock, watchdog_usec="")
    for i in range(10):
        obs.frame_shown(stats(i + 1))
        clock.t += 1.0
    assert "WATCHDOG=1" not in notify_socket.drain(0.1)


def test_status_line_is_rate_limited_and_keeps_standing_faults(notify_socket):
    clock = Clock()
    obs = observer_for(notify_socket, clock, status_every_s=5.0)
    for i in range(30):                             # 6 s at 5 fps
        obs.frame_shown(stats(i + 1, fps=5.0))
        clock.t += 0.2
    statuses = [m for m in notify_socket.drain(0.1) if m.startswith("STATUS=")]
    assert statuses == ["STATUS=5.0 fps, 49 ms latency, 1 frames, 2 dropped",
                        "STATUS=5.0 fps, 49 ms latency, 26 frames, 2 dropped"]
    obs.status("uncalibrated: no calibration.npz")
    obs.status("camera lost (timeout); reconnecting in 0.5 s")
    obs.status("camera back; resuming")
    clock.t += 5.0
    obs.frame_shown(stats(31, fps=4.0))
    assert [m for m in notify_socket.drain(0.1) if m.startswith("STATUS=")] == [
        "STATUS=uncalibrated: no calibration.npz",
        "STATUS=camera lost (timeout); reconnecting in 0.5 s",
        "STATUS=camera back; resuming",
        "STATUS=4.0 fps, 49 ms latency, 31 frames, 2 dropped; uncalibrated: no calibration.npz;"
        " camera back; resuming"]
    obs.reloading()                                 # the new pipeline reports afresh
    clock.t += 5.0
    obs.frame_shown(stats(32, fps=4.0))
    assert notify_socket.drain(0.1)[-1] == "STATUS=4.0 fps, 49 ms latency, 32 frames, 2 dropped"


def test_stopping_and_reload_cycle(notify_socket):
    obs = observer_for(notify_socket, Clock())
    obs.reloading()
    obs.reloaded()
    obs.stopping()
    messages = notify_socket.drain(0.1)
    assert messages[0].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert messages[1:] == ["READY=1", "STOPPING=1"]
