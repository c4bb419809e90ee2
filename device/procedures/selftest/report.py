"""The self-test's results: one `StepResult` per step, the line each prints, and the JSON
report the `http://` display's status page shows (a list of steps, each with its number,
name, passed, measured values and fix: the page colours `passed` green or red)."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from device.common.files import atomic_output

VERSION = 1
# Numbers (and a few strings) by name, nested at most one level: JSON as the page shows it.
Measured = Mapping[str, object]


@dataclass(frozen=True)
class Finding:
    """What one step found. `passed` None: skipped, it could not run or has nothing to check
    on this rig (the summary says why)."""
    passed: bool | None
    summary: str
    measured: Measured = field(default_factory=dict)
    fix: str = ""


@dataclass(frozen=True)
class StepResult:
    number: int
    total: int
    name: str
    title: str
    finding: Finding

    @property
    def verdict(self) -> str:
        passed = self.finding.passed
        return "skipped" if passed is None else "pass" if passed else "FAIL"

    def lines(self) -> list[str]:
        """What the terminal shows: the step's line, and on failure what to do."""
        head = f"step {self.number}/{self.total} {self.verdict}: {self.title}: " \
               f"{self.finding.summary}"
        return [head] + ([f"  fix: {self.finding.fix}"] if self.finding.passed is False else [])

    def as_json(self) -> dict[str, object]:
        f = self.finding
        return {"step": self.number, "name": self.name, "passed": f.passed,
                "result": self.verdict.lower(), "check": self.title, "found": f.summary,
                "measured": _plain(f.measured), "fix": f.fix if f.passed is False else ""}


@dataclass
class Report:
    rig: dict[str, str]                     # config path, URIs, faults injected
    steps: list[StepResult] = field(default_factory=list)
    contact_sheet: str = ""

    @property
    def passed(self) -> bool:
        return all(step.finding.passed is not False for step in self.steps)

    @property
    def failed(self) -> list[int]:
        return [s.number for s in self.steps if s.finding.passed is False]

    def summary(self) -> str:
        if self.passed:
            return f"selftest passed ({len(self.steps)} steps)"
        return "selftest FAILED at step " + ", ".join(map(str, self.failed))

    def as_json(self) -> dict[str, object]:
        return {"version": VERSION, "passed": self.passed, "failed_steps": self.failed,
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "rig": self.rig,
                "contact_sheet": self.contact_sheet,
                "steps": [step.as_json() for step in self.steps]}

    def write(self, path: Path) -> None:
        with atomic_output(path) as tmp:
            tmp.write_text(json.dumps(self.as_json(), indent=1, allow_nan=False) + "\n",
                           encoding="utf-8")


def _plain(value: object) -> object:
    """JSON's own values: floats rounded to 4 decimals, a non-finite one as null."""
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
