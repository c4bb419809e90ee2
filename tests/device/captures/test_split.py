"""The deterministic train / val / test split."""
import random

from device.captures import assign_split, split_counts


def test_two_hundred_scenes_split_like_the_paper():
    assert split_counts(200) == {"train": 140, "val": 40, "test": 20}


def test_other_sizes_split_proportionally():
    assert split_counts(100) == {"train": 70, "val": 20, "test": 10}
    assert split_counts(10) == {"train": 7, "val": 2, "test": 1}
    assert split_counts(1000) == {"train": 700, "val": 200, "test": 100}
    for n in range(0, 400):
        c = split_counts(n)
        assert sum(c.values()) == n
        assert all(abs(c[p] - n * f) < 1 for p, f in (("train", .7), ("val", .2), ("test", .1))
                   ) or n < 10
        if n >= 3:
            assert c["val"] >= 1 and c["test"] >= 1


def test_assignment_depends_on_names_only():
    names = [f"face-{i:03d}" for i in range(200)]
    shuffled = names[:]
    random.Random(7).shuffle(shuffled)
    a, b = assign_split(names), assign_split(shuffled)
    assert a == b
    assert {k: len(v) for k, v in a.items()} == {"train": 140, "val": 40, "test": 20}
    assert sorted(a["train"] + a["val"] + a["test"]) == names
    # Not simply the first 140 names in order: the hash mixes them.
    assert a["train"] != names[:140]


def test_no_source_has_scenes_in_two_splits():
    # 20 photos with 1 to 12 crops each: sources, not scenes, are what is split.
    crops = {f"{p:02d}-{k}": f"photo-{p}" for p in range(20) for k in range(1 + p % 12)}
    split = assign_split(list(crops), crops)
    where = {}
    for part, scenes in split.items():
        for scene in scenes:
            assert where.setdefault(crops[scene], part) == part, crops[scene]
    assert sorted(s for v in split.values() for s in v) == sorted(crops)
    units = {part: {crops[s] for s in scenes} for part, scenes in split.items()}
    assert {k: len(v) for k, v in units.items()} == split_counts(20)
    # One scene per source is the old split by scene name, unchanged.
    names = list(crops)
    assert assign_split(names, {n: n for n in names}) == assign_split(names)
