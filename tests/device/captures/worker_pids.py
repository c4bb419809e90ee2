"""A scene renderer that notes which process ran it, for the `--workers` test: a module of its
own (not a test module) so that worker processes can import it by name and unpickle it."""
from __future__ import annotations

import os
import time
from pathlib import Path

from device.commands.capture import _SceneRenderer

RENDEZVOUS_S = 60.0   # how long the first worker waits for a second one to take a scene
_waited = False       # per process: wait once, so a lone process (the bug) is not held up long


class PidRecordingRenderer(_SceneRenderer):
    """The real renderer, after writing this process's id into `folder`. The first call in
    each process waits until two processes have written theirs: a worker that started first
    cannot take every scene before the second has started, so `--workers 2` must show two
    process ids whatever the machine's load. Only one process ever writes when no worker
    runs, and then the wait gives up once, after RENDEZVOUS_S."""

    def __init__(self, *args, folder: Path):
        super().__init__(*args)
        self.folder = Path(folder)

    def __call__(self, planned):
        global _waited
        (self.folder / str(os.getpid())).touch()
        deadline = time.monotonic() + RENDEZVOUS_S
        while not _waited and len(list(self.folder.iterdir())) < 2 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        _waited = True
        return super().__call__(planned)
