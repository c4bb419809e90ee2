"""Capture-set round trip: what the writer writes, the reader gives back bit for bit."""
import json

import numpy as np
import pytest

from device.captures import FORMAT_VERSION, CaptureSet, CaptureSetWriter, split_counts
from device.captures.format import Exposure
from device.common.errors import UserError
from device.captures.references import normalise


def test_round_trip_gives_identical_arrays(synthetic_set):
    out, written = synthetic_set
    cs = CaptureSet.open(out)
    assert cs.wavelengths == (447, 529, 604, 718, 777, 807)
    assert cs.size == (24, 32) and cs.truth_mode == "human"
    assert cs.rig == {"kind": "synthetic", "seed": 0}
    assert sorted(cs.scenes) == sorted(written["scenes"])
    for scene, (raws, truth) in written["scenes"].items():
        for nm, raw in raws.items():
            loaded = cs.load_raw(scene, nm)
            assert loaded.dtype == np.uint16
            np.testing.assert_array_equal(loaded, raw)
        # 16-bit truth: quantisation error at most half a step of 1/65535.
        np.testing.assert_allclose(cs.load_truth(scene), truth, atol=0.5 / 65535 + 1e-7)


def test_load_nir_normalises_with_the_references(synthetic_set):
    out, written = synthetic_set
    cs = CaptureSet.open(out)
    scene = cs.scenes[0]
    nir = cs.load_nir(scene)
    assert nir.shape == (24, 32, 3) and nir.dtype == np.float32
    raws = written["scenes"][scene][0]
    dark = written["dark"].astype(np.float32)
    for c, nm in enumerate((718, 777, 807)):
        expect = (raws[nm] - dark) / (written["white"][nm] - dark)
        np.testing.assert_allclose(nir[..., c], expect, rtol=1e-5)
    assert cs.load_nir(scene, [604, 447]).shape == (24, 32, 2)


def test_paper_white_normalises_to_one_and_dark_to_zero():
    dark = np.full((4, 4), 100, np.uint16)
    white = np.full((4, 4), 3100, np.uint16)
    np.testing.assert_allclose(normalise(white, dark, white), 1.0)
    np.testing.assert_allclose(normalise(dark, dark, white), 0.0)
    np.testing.assert_allclose(normalise(np.full((4, 4), 1600), dark, white), 0.5)


def test_manifest_records_the_contract_fields(synthetic_set):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    assert m["version"] == FORMAT_VERSION == 3
    assert m["split_unit"] == "scene" and m["scenes"]["scene-0"]["source"] == "scene-0"
    assert m["bit_depth"] == 16 and m["truth_mode"] == "human" and m["source"] == "tests"
    assert m["created"].endswith("Z")
    assert m["scenes"]["scene-0"]["captures"]["718"] == "scenes/scene-0/718nm.png"
    assert {k: len(v) for k, v in m["split"].items()} == split_counts(5)
    assert (out / "references" / "white_807nm.png").is_file()


def test_writer_refuses_a_size_that_differs_from_the_set(tmp_path):
    w = CaptureSetWriter(tmp_path / "s", (718,), {}, "human", "tests")
    w.set_references(np.zeros((8, 8), np.uint16), {718: np.ones((8, 8), np.uint16)})
    with pytest.raises(ValueError, match="8x8"):
        w.add_scene("a", {718: np.zeros((8, 9), np.uint16)}, np.zeros((8, 9, 3)))


def test_writer_refuses_a_non_empty_folder_without_force(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not empty; pass --force"):
        CaptureSetWriter(tmp_path, (718,), {}, "human", "tests")


def test_force_replaces_a_capture_set_but_keeps_foreign_files(tmp_path, synthetic_set):
    out, _ = synthetic_set
    (out / "notes.txt").write_text("mine")
    (out / "scenes" / "scene-0" / "photo.jpg").write_bytes(b"not ours")
    (out / "scenes" / "scene-0" / "old").mkdir()
    (out / "scenes" / "scene-0" / "old" / "718nm.png").write_bytes(b"not where a set puts it")
    w = CaptureSetWriter(out, (718,), {}, "human", "tests", force=True)
    assert not (out / "manifest.json").exists()
    assert not (out / "scenes" / "scene-1").exists()
    assert not (out / "references" / "dark.png").exists()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "scenes" / "scene-0" / "photo.jpg").read_bytes() == b"not ours"
    assert (out / "scenes" / "scene-0" / "old" / "718nm.png").is_file()
    w.set_references(np.zeros((8, 8), np.uint16), {718: np.ones((8, 8), np.uint16)})
    w.add_scene("b", {718: np.zeros((8, 8), np.uint16)}, np.zeros((8, 8, 3)))
    w.finish()
    assert CaptureSet.open(out).scenes == ["b"]


def test_a_failed_write_leaves_no_capture_set_behind(tmp_path):
    out = tmp_path / "s"
    with pytest.raises(RuntimeError):
        with CaptureSetWriter(out, (718,), {}, "human", "tests") as w:
            w.set_references(np.zeros((8, 8), np.uint16), {718: np.ones((8, 8), np.uint16)})
            w.add_scene("a", {718: np.zeros((8, 8), np.uint16)}, np.zeros((8, 8, 3)))
            raise RuntimeError("camera unplugged")
    assert not out.exists()


def test_sources_are_the_split_unit_and_version_1_still_reads(tmp_path):
    out = tmp_path / "s"
    frame = np.zeros((8, 8), np.uint16)
    with CaptureSetWriter(out, (718,), {}, "human", "tests", split_unit="person") as w:
        w.set_references(frame, {718: frame + 1000})
        for i in range(30):   # 10 people with 3 photos each
            w.add_scene(f"p{i % 10}-{i}", {718: frame}, np.zeros((8, 8, 3)), source=f"p{i % 10}")
        w.finish()
    cs = CaptureSet.open(out)
    assert cs.split_unit == "person" and cs.sources["p3-13"] == "p3"
    part_of = {}
    for part, scenes in cs.split.items():
        for scene in scenes:
            assert part_of.setdefault(cs.sources[scene], part) == part   # no person in two
    assert {k: len(v) for k, v in cs.split.items()} == {k: 3 * n for k, n in
                                                        split_counts(10).items()}
    # The same set as a version 1 manifest (no sources): still read, each scene its own unit.
    m = json.loads((out / "manifest.json").read_text())
    m["version"] = 1
    del m["split_unit"]
    for entry in m["scenes"].values():
        del entry["source"]
    (out / "manifest.json").write_text(json.dumps(m))
    old = CaptureSet.open(out)
    assert old.split_unit == "scene" and old.sources["p3-13"] == "p3-13"


def _exposed_set(out, version_2=False):
    """Dark 100, white 1100 (1000 above dark) at 10 ms, gain 1; scene 'bright' taken with
    twice the light at gain 2 reads 4× as far above dark for the same reflectance."""
    dark = np.full((8, 8), 100, np.uint16)
    white = {nm: np.full((8, 8), 1100, np.uint16) for nm in (718, 777)}
    truth = np.zeros((8, 8, 3), np.float32)
    with CaptureSetWriter(out, (718, 777), {"kind": "synthetic"}, "human", "tests") as writer:
        writer.set_references(dark, white, exposure=Exposure(10.0))
        for name, exposure, above in (("plain", None, 500), ("bright", Exposure(10.0, 2.0, 2.0),
                                                              2000)):
            writer.add_scene(name, {nm: np.full((8, 8), 100 + above, np.uint16)
                                    for nm in (718, 777)}, truth, exposure=exposure)
        writer.finish()
    if version_2:     # what this writer made before exposures were recorded
        m = json.loads((out / "manifest.json").read_text())
        m["version"] = 2
        del m["references"]["exposure"]
        for entry in m["scenes"].values():
            entry.pop("exposure", None)
        (out / "manifest.json").write_text(json.dumps(m))
    return CaptureSet.open(out)


def test_exposures_round_trip_and_normalisation_follows_them(tmp_path):
    cs = _exposed_set(tmp_path / "set")
    assert cs.manifest["version"] == 3
    assert cs.reference_exposure == Exposure(10.0, 1.0, 1.0)
    assert cs.exposure("bright") == Exposure(10.0, 2.0, 2.0)
    assert cs.exposure("plain") == cs.reference_exposure      # unrecorded: as the references
    assert cs.relative_photons("bright") == 2.0 and cs.signal_ratio("bright") == 0.25
    # 2000 above dark / 1000 white span × (1 / 4): the same 0.5 reflectance as 'plain'.
    np.testing.assert_allclose(cs.load_nir("bright"), 0.5)
    np.testing.assert_allclose(cs.load_nir("plain"), 0.5)


def test_a_version_2_set_is_read_as_taken_like_its_references(tmp_path):
    cs = _exposed_set(tmp_path / "set", version_2=True)
    assert cs.manifest["version"] == 2 and cs.reference_exposure is None
    assert cs.exposure("bright") is None and cs.relative_photons("bright") == 1.0
    np.testing.assert_allclose(cs.load_nir("bright"), 2.0)   # no record: no compensation


def test_a_scene_exposure_needs_the_references_exposure(tmp_path):
    dark = np.full((4, 4), 100, np.uint16)
    with CaptureSetWriter(tmp_path / "set", (718,), {}, "human", "tests") as writer:
        writer.set_references(dark, {718: dark + 1000})
        with pytest.raises(ValueError, match="references"):
            writer.add_scene("s", {718: dark}, np.zeros((4, 4, 3)), exposure=Exposure(5.0))
