"""The deterministic train / validation / test split of a capture set.

The paper split 200 printed faces 140 / 40 / 20 (70 % / 20 % / 10 %); other sizes get the same
proportions by the largest-remainder method, with at least one validation and one test scene
once there are three scenes or more.

The unit of the split is the scene's source (a photo, a generated scene, a user's file, or a
person when a folder names people): all crops of one source land in one split, so a test
score never rewards remembering a picture seen in training. Without sources every scene is
its own unit (capture-set format version 1).

Which unit goes where depends only on its name: units are ordered by the SHA-256 of their
name, the first `train` of them train, the next `val` validate, the rest test. The
proportions count units, not scenes. No seed, no file order, no machine enters it, so the
same scenes always split the same way, wherever and in whatever order they were captured.
"""
from __future__ import annotations

import hashlib

PERCENT = {"train": 70, "val": 20, "test": 10}


def split_counts(n: int) -> dict[str, int]:
    """How many of `n` scenes go to train, val and test: 200 -> 140 / 40 / 20."""
    if n < 0:
        raise ValueError(f"number of scenes must be >= 0, got {n}")
    # Integer arithmetic, so equal remainders are exactly equal (ties go in listed order).
    counts = {part: n * pct // 100 for part, pct in PERCENT.items()}
    by_remainder = sorted(PERCENT, key=lambda p: -(n * PERCENT[p] % 100))
    for part in by_remainder[:n - sum(counts.values())]:
        counts[part] += 1
    if n >= 3:  # a split with no validation or test scene cannot be evaluated
        for part in ("val", "test"):
            if counts[part] == 0:
                counts[part], counts["train"] = 1, counts["train"] - 1
    return counts


def _order_key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def assign_split(scenes, sources: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Split scene names into {"train", "val", "test"} lists (each sorted by name), keeping
    all scenes of one source (`sources[scene]`; default: the scene itself) in one list."""
    scenes = list(scenes)
    if len(set(scenes)) != len(scenes):
        raise ValueError("scene names must be distinct")
    unit_of = {s: (sources or {}).get(s, s) for s in scenes}
    units = sorted(set(unit_of.values()), key=_order_key)
    counts = split_counts(len(units))
    part_of, start = {}, 0
    for part in PERCENT:
        part_of.update(dict.fromkeys(units[start:start + counts[part]], part))
        start += counts[part]
    return {part: sorted(s for s in scenes if part_of[unit_of[s]] == part) for part in PERCENT}


def test_only_split(scenes) -> dict[str, list[str]]:
    """Every scene in the test split: an evaluation set (e.g. the held-out photos)."""
    return {"train": [], "val": [], "test": sorted(scenes)}
