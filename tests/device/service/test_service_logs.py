"""Journal prefixes only when stderr really is the journal stream systemd named."""
from __future__ import annotations

import logging
import os
import sys

import pytest

from device.service.logs import setup_logging, stream_is_journal


@pytest.fixture
def log_file(tmp_path):
    hook = sys.excepthook
    with open(tmp_path / "stderr", "w+") as stream:
        yield stream
    sys.excepthook = hook
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_nightcolor", False)]:
        root.removeHandler(h)


def identity(stream) -> str:
    st = os.fstat(stream.fileno())
    return f"{st.st_dev}:{st.st_ino}"


def emit_and_read(stream) -> list[str]:
    log = logging.getLogger("device.viewer.test")
    log.info("12.0 fps")
    log.warning("camera lost; reconnecting in 2 s")
    log.debug("hidden below info")
    try:
        raise ValueError("bad frame")
    except ValueError:
        log.exception("frame dropped")
    stream.flush()
    stream.seek(0)
    return stream.read().splitlines()


def test_under_the_journal_every_line_carries_its_priority(log_file):
    env = {"JOURNAL_STREAM": identity(log_file)}
    assert stream_is_journal(log_file, env)
    setup_logging("info", log_file, env)
    lines = emit_and_read(log_file)
    assert lines[0] == "<6>device.viewer.test: 12.0 fps"
    assert lines[1] == "<4>device.viewer.test: camera lost; reconnecting in 2 s"
    assert lines[2] == "<3>device.viewer.test: frame dropped"
    assert lines[-1] == "<3>ValueError: bad frame"
    assert all(line.startswith("<3>") for line in lines[2:])   # the traceback keeps its level


def test_a_redirected_stream_gets_plain_timestamped_lines(log_file, tmp_path):
    with open(tmp_path / "other", "w") as other:
        env = {"JOURNAL_STREAM": identity(other)}   # systemd's stream, but not ours
    assert not stream_is_journal(log_file, env)
    setup_logging("debug", log_file, env)
    lines = emit_and_read(log_file)
    assert not lines[0].startswith("<")
    assert lines[0].endswith(" INFO device.viewer.test: 12.0 fps")
    assert any(line.endswith("DEBUG device.viewer.test: hidden below info") for line in lines)


def test_setting_up_again_replaces_the_handler(log_file):
    setup_logging("info", log_file, {})
    setup_logging("info", log_file, {})
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_nightcolor", False)]
    assert len(ours) == 1
