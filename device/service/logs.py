"""Logging for the journal: one line per event, with the sd-daemon(3) priority prefix when
stderr really is the journal, and with a timestamp when a person reads it in a terminal."""
from __future__ import annotations

import faulthandler
import logging
import os
import sys
from typing import TextIO

# syslog priorities that journald reads from a leading "<N>" (sd-daemon(3)).
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
             logging.DEBUG: 7}


def stream_is_journal(stream: TextIO, environ: dict | os._Environ | None = None) -> bool:
    """True when `stream` is the journal socket systemd handed us.

    JOURNAL_STREAM holds "device:inode" of that socket; comparing it with the stream's own
    identity tells a service apart from a child whose stderr was redirected to a file
    (systemd.exec(5), $JOURNAL_STREAM).
    """
    env = os.environ if environ is None else environ
    value = env.get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class JournalFormatter(logging.Formatter):
    """`<4>device.viewer: camera lost`, the prefix on every line so a traceback keeps its level."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def _log_uncaught(exc_type, exc, tb) -> None:
    """An exception nobody caught is a critical event: through the handler, so each line of
    its traceback carries the <2> prefix instead of landing in the journal as info."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("device").critical("unhandled %s", exc_type.__name__,
                                         exc_info=(exc_type, exc, tb))


class OurHandler(logging.StreamHandler):
    """The handler setup_logging installs, marked so that setting up again replaces it."""
    _nightcolor = True


def setup_logging(level: str = "info", stream: TextIO | None = None,
                  environ: dict | os._Environ | None = None) -> logging.Handler:
    """Send every log record to `stream` (stderr), formatted for the journal or a terminal."""
    stream = sys.stderr if stream is None else stream
    handler = OurHandler(stream)
    if stream_is_journal(stream, environ):
        # journald stamps time and unit itself; repeating them only widens the line.
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_nightcolor", False)]:
        root.removeHandler(old)    # replaced, not stacked, when set up again (e.g. on reload)
    root.addHandler(handler)
    root.setLevel(level.upper())
    sys.excepthook = _log_uncaught
    # The watchdog kills a hung viewer with SIGABRT: dump every thread's stack first, so the
    # journal says where it hung.
    if not faulthandler.is_enabled():
        try:
            faulthandler.enable(file=stream, all_threads=True)
        except (AttributeError, ValueError, OSError):
            pass  # an in-memory stream (tests) has no descriptor to write a dump to
    return handler
