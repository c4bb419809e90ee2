"""Copy the repository (the work tree as it is, or a commit) into a folder, for the tools that
change a copy and run its tests: tools/planted_defects.py and tools/mutation.py."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def copy_tree(ref: str | None, into: Path) -> None:
    """Tracked and untracked files git does not ignore (ref None), or `git archive ref`."""
    if ref is None:
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                               check=True, capture_output=True).stdout.split(b"\0")
        for name in filter(None, files):
            source = ROOT / name.decode()
            if source.is_file():
                target = into / name.decode()
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read_bytes())
        return
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
