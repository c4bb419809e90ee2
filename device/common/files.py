"""File safety shared by every artifact writer, and the one error type users see.

It lives beside the capture-set format because `train` and `convert` may import
`device.captures` (DESIGN.md) but nothing of the hardware side of `device`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator


class UserError(Exception):
    """A mistake in a file or option: one sentence naming it, shown without a traceback."""


def run_cli(prog: str, work: Callable[[], int | None]) -> int:
    """Run one command-line invocation of `device`, `train` or `convert`: a UserError becomes
    one line `prog: error: ...` and exit 2 (no traceback), Ctrl-C exit 130."""
    try:
        return int(work() or 0)
    except UserError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    Readers never see a half-written file, and a failure leaves the old file (if any) intact.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"{parent}: output folder does not exist.")
    if not os.access(parent, os.W_OK):
        raise UserError(f"{parent}: output folder is not writable.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix, dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates 0600; give the file the mode a plain open() would (the service user
    # must be able to read models and engines that root converted).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
