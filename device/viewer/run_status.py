"""What a status page shows of a running viewer, and how a display that has one is given it.

A display that shows the run's figures beside its frames (the `http://` display's page) is a
`StatusDisplay`: an Observer, so it hears every FrameShown and status text (and keeps only the
latest: nothing is computed per frame), that the Pipeline also hands, once per run, a
`RunStatus`: the config sections in use and the run's report, read only when a page asks.

`StatusBoard` keeps these and turns them into plain JSON. Every scalar field of FrameShown, of
each sub-frame behind the last frame and of the RunReport is taken as it is, by its name: a
field added to one of them (an automatic exposure's value, a new stage's time, a new kind of
drop, a new config key) appears on the page with no change here.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Protocol, Union, runtime_checkable

import numpy as np

from device.viewer.observer import FrameShown, Observer, Observers
from device.viewer.report import RunReport

JsonValue = Union[None, bool, int, float, str, list["JsonValue"], dict[str, "JsonValue"]]
Json = dict[str, JsonValue]
# Not shown: the display's URI may hold the page's token; the queue sizes and the simulated
# scene say nothing about the rig.
HIDDEN_SECTIONS = ("display", "pipeline", "sim")
RECENT_CONDITIONS = 8
SELFTEST_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class RunStatus:
    """What a status display is given once per run."""
    settings: Json                          # the config sections in use (settings_of)
    report: Callable[[], RunReport]         # the run's figures so far; call from any thread


@runtime_checkable
class StatusDisplay(Observer, Protocol):
    """A display that also shows the run's figures: it hears the observer's events and is
    handed the run (`follow`) by the Pipeline once the run is made."""

    def follow(self, run: RunStatus) -> None: ...


def with_status_display(observer: Observer, display: object) -> Observer:
    """`observer`, and the display too when it is a StatusDisplay."""
    return Observers(observer, display) if isinstance(display, StatusDisplay) else observer


def follow_run(display: object, config: object, report: Callable[[], RunReport]) -> None:
    """Hand a StatusDisplay its run (any other display: nothing). `config`: the run's Config
    (not imported here: the config module imports the display backends, which import this)."""
    if isinstance(display, StatusDisplay):
        display.follow(RunStatus(settings_of(config), report))


def settings_of(config: object) -> Json:
    """Each section of a Config, as plain values (not the hidden ones)."""
    out: Json = {}
    for f in dataclasses.fields(config) if dataclasses.is_dataclass(config) else ():
        section = getattr(config, f.name)
        if f.name not in HIDDEN_SECTIONS and dataclasses.is_dataclass(section):
            out[f.name] = fields_of(section)
    return out


class Skip:
    """A value with no plain form (an image, a function): left out."""


SKIP = Skip()


def plain(value: object) -> JsonValue | Skip:
    """`value` as JSON (numbers, text, lists, string-keyed objects); SKIP for an array, a
    function or any other object. Non-finite numbers become null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): v for k, v in ((k, plain(v)) for k, v in value.items())
                if not isinstance(v, Skip)}
    if isinstance(value, (list, tuple)):
        return [v for v in map(plain, value) if not isinstance(v, Skip)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return fields_of(value)
    return SKIP


def fields_of(instance: object, leave_out: tuple[str, ...] = ()) -> Json:
    """A dataclass's fields with a plain form, by name."""
    out: Json = {}
    for f in dataclasses.fields(instance) if dataclasses.is_dataclass(instance) else ():
        if f.name not in leave_out:
            value = plain(getattr(instance, f.name))
            if not isinstance(value, Skip):
                out[f.name] = value
    return out


def read_selftest(path: Path) -> Json:
    """The last self-test report at `path`: its JSON as written, or why there is none."""
    out: Json = {"path": str(path)}
    try:
        if path.stat().st_size > SELFTEST_MAX_BYTES:
            out["error"] = f"larger than {SELFTEST_MAX_BYTES} bytes; not read"
            return out
        text = path.read_text(encoding="utf-8")
        out["written"] = time.strftime("%Y-%m-%d %H:%M:%S",
                                       time.localtime(path.stat().st_mtime))
    except FileNotFoundError:
        out["report"] = None
        return out
    except (OSError, UnicodeDecodeError) as exc:
        out["error"] = f"cannot read it ({exc})"
        return out
    try:
        report = plain(json.loads(text))
    except ValueError as exc:
        out["error"] = f"not valid JSON ({exc})"
        return out
    out["report"] = None if isinstance(report, Skip) else report
    return out


class StatusBoard:
    """The latest of everything a status page shows. The viewer's threads only store
    references here; a page request (another thread) builds the JSON from them."""

    def __init__(self, selftest: Path, clock: Callable[[], float] = time.monotonic):
        self.selftest = selftest
        self.clock = clock
        self.latest: tuple[FrameShown, float] | None = None    # the event, and when it came
        self.run: RunStatus | None = None
        self._conditions: deque[tuple[float, str]] = deque(maxlen=RECENT_CONDITIONS)
        self._lock = threading.Lock()     # status texts come from several threads

    def frame_shown(self, shown: FrameShown) -> None:
        self.latest = (shown, self.clock())       # one assignment: read whole or not at all

    def status(self, text: str) -> None:
        with self._lock:
            self._conditions.append((self.clock(), text))

    def snapshot(self, stream: Json) -> Json:
        """Everything the page shows, as plain JSON: `stream` is the display's own figures."""
        now = self.clock()
        latest, run = self.latest, self.run
        report = run.report() if run is not None else None
        # frames, latency: the last frame's are shown; wall_s: set when the run ends
        run_fields = (fields_of(report, ("frames", "wall_s", "latency_ms"))
                      if report is not None else {})
        out: Json = {"frames": frames_block(latest, now),
                     "stage_ms": run_fields.pop("stage_ms", None) or
                     (dict(latest[0].frame.timings_ms) if latest else {}),
                     "exposures": exposures_block(latest[0] if latest else None),
                     "dropped": run_fields.pop("dropped", {}),
                     "run": run_fields,
                     "conditions": self.conditions(now),
                     "settings": run.settings if run is not None else {},
                     "stream": stream,
                     "selftest": read_selftest(self.selftest)}
        return out

    def conditions(self, now: float) -> JsonValue:
        with self._lock:
            recent = list(self._conditions)
        return [f"{now - at:.0f} s ago: {text}" for at, text in reversed(recent)]


def frames_block(latest: tuple[FrameShown, float] | None, now: float) -> Json:
    """FrameShown's figures (every plain field), and how long ago it came."""
    if latest is None:
        return {"frames": 0, "waiting": "no frame shown yet"}
    shown, at = latest
    out = fields_of(shown, ("frame",))
    out["seconds_since_last_frame"] = now - at
    return out


def exposures_block(shown: FrameShown | None) -> Json:
    """Each LED's sub-frame behind the last frame: its plain fields, how long it was exposed
    and when it started before the newest one (the strobe's timing as it happened)."""
    if shown is None:
        return {}
    triplet = shown.frame.triplet
    out: Json = {}
    for nm, sub in sorted(triplet.frames.items()):
        fields = fields_of(sub, ("nm", "exposure_start", "exposure_end"))
        fields["exposed_ms"] = (sub.exposure_end - sub.exposure_start) * 1e3
        fields["start_ms_before_newest"] = (triplet.newest.exposure_start
                                            - sub.exposure_start) * 1e3
        out[f"{nm} nm"] = fields
    return out
