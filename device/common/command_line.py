"""How `device`, `train` and `convert` end: the same exit codes and one-line errors."""
from __future__ import annotations

import sys
from typing import Callable

from device.common.errors import UserError


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
