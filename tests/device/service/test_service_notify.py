"""sd_notify datagrams as systemd's manager would receive them."""
from __future__ import annotations

import os
import time

from device.service.notify import Notifier, watchdog_interval_s


def test_each_call_sends_one_datagram_with_its_field(notify_socket):
    n = Notifier({"NOTIFY_SOCKET": notify_socket.env_value})
    assert n.enabled
    n.ready()
    n.watchdog()
    n.status("12.0 fps\nsecond line")
    n.stopping()
    assert notify_socket.drain(0.2) == [
        "READY=1", "WATCHDOG=1", "STATUS=12.0 fps second line", "STOPPING=1"]


def test_reloading_carries_the_monotonic_clock(notify_socket):
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    Notifier({"NOTIFY_SOCKET": notify_socket.env_value}).reloading()
    (message,) = notify_socket.drain(0.2)
    first, second = message.split("\n")
    assert first == "RELOADING=1"
    key, usec = second.split("=")
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert key == "MONOTONIC_USEC" and before <= int(usec) <= after


def test_abstract_namespace_socket_written_with_at_sign(abstract_notify_socket):
    sock = abstract_notify_socket
    assert sock.env_value.startswith("@nightcolor-test-")
    assert Notifier({"NOTIFY_SOCKET": sock.env_value}).ready()
    assert sock.drain(0.2) == ["READY=1"]


def test_unset_socket_is_a_silent_no_op():
    n = Notifier({})
    assert not n.enabled
    assert n.ready() is False and n.status("x") is False and n.watchdog_interval_s is None


def test_vanished_socket_does_not_raise(tmp_path):
    n = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert n.ready() is False
    assert n.stopping() is False


def test_watchdog_interval_only_for_this_process():
    me = str(os.getpid())
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000"}) == 3.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": me}) == 3.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval_s({}) is None
