"""sd_notify over the plain datagram protocol (sd_notify(3)), with no client library.

systemd hands a `Type=notify` service the path of a unix datagram socket in NOTIFY_SOCKET
(a leading `@` means the Linux abstract namespace) and, with `WatchdogSec=`, the watchdog
period in WATCHDOG_USEC. Outside systemd none of these are set and every call is a no-op,
so the viewer behaves the same from a terminal.
"""
from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 0.2


def _socket_address(value: str) -> str | bytes:
    # An abstract socket's name starts with a NUL byte; systemd spells it with '@'.
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval_s(environ: os._Environ | dict | None = None) -> float | None:
    """The watchdog period systemd expects pings within, or None when it is off or not ours.

    WATCHDOG_PID, when set, names the process the period is meant for: a child that
    inherited the environment must not think it is being watched.
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1e6


class Notifier:
    """Sends state lines to systemd; silent when NOTIFY_SOCKET is unset."""

    def __init__(self, environ: os._Environ | dict | None = None):
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.path = path or None
        self.address = _socket_address(path) if path else None
        self.watchdog_interval_s = watchdog_interval_s(env)
        self._sock: socket.socket | None = None
        if self.address is not None:   # made here, not lazily: several threads notify
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            # A busy manager's queue can fill up (net.unix.max_dgram_qlen): wait a moment,
            # never block the display thread for long.
            self._sock.settimeout(SEND_TIMEOUT_S)
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send `KEY=value` lines as one datagram; False (logged once) if it could not go."""
        if self._sock is None or self.address is None:
            return False
        payload = "\n".join(lines).encode()
        try:
            self._sock.sendto(payload, self.address)
            return True
        except OSError as exc:
            # A notification that cannot be delivered must never take the viewer down:
            # systemd will notice the silence through the watchdog instead.
            if not self._warned:
                log.warning("sd_notify to %s failed: %s", self.path, exc)
                self._warned = True
            return False

    def ready(self) -> bool:
        return self.notify("READY=1")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        # The protocol is line-based: a newline inside the text would start a bogus field.
        return self.notify("STATUS=" + " ".join(text.splitlines()))

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) order this against the
        # reload request; older systemd ignores the extra field. READY=1 ends the reload.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
