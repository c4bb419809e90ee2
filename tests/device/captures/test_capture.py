"""`device capture --rig sim`: prints rendered under every LED into a valid capture set."""
import os

import cv2
import numpy as np
import pytest

from device.captures import CaptureSet
from device.common.errors import UserError
from device.commands.capture import render_sim_capture_set
from device.sim import DATASET_LEDS, NIR_LEDS

# One command line runs end to end in a subprocess; the rest call the same function in-process
# so colour-science is imported once, not once per test.


@pytest.mark.slow
def test_capture_end_to_end(tmp_path, cli):
    out = tmp_path / "x"
    proc = cli("capture", "--rig", "sim", "--count", "8", "--size", "64", "--out", out)
    assert proc.returncode == 0, proc.stderr
    cs = CaptureSet.open(out)
    assert len(cs) == 8 and cs.wavelengths == DATASET_LEDS and cs.size == (64, 64)
    assert {k: len(v) for k, v in cs.split.items()} == {"train": 6, "val": 1, "test": 1}
    assert cs.rig["kind"] == "sim" and cs.rig["spec"]["adc_bits"] == 12
    scene = cs.scenes[0]
    assert cs.load_raw(scene, 718).max() < 4096          # 12-bit ADC values in a 16-bit PNG
    nir = cs.load_nir(scene)
    assert nir.shape == (64, 64, 3) and 0.0 < nir.mean() < 1.2
    truth = cs.load_truth(scene)
    assert truth.shape == (64, 64, 3) and 0 <= truth.min() and truth.max() <= 1


def test_captures_are_reproducible_from_the_seed(tmp_path):
    for name in ("a", "b"):
        render_sim_capture_set(tmp_path / name, count=2, size=32, seed=5, progress=False)
    a, b = CaptureSet.open(tmp_path / "a"), CaptureSet.open(tmp_path / "b")
    assert a.scenes == b.scenes
    for scene in a.scenes:
        for nm in a.wavelengths:
            np.testing.assert_array_equal(a.load_raw(scene, nm), b.load_raw(scene, nm))


def test_capture_prints_a_users_folder_with_paper_truth(tmp_path):
    prints = tmp_path / "lfw" / "Some_Person"
    prints.mkdir(parents=True)
    red = np.zeros((40, 50, 3), np.uint8)
    red[..., 2] = 220   # BGR: a red print
    cv2.imwrite(str(prints / "Some_Person_0001.jpg"), red)
    cv2.imwrite(str(prints / "Some_Person_0002.png"), np.full((30, 30, 3), 255, np.uint8))
    out = tmp_path / "set"
    render_sim_capture_set(out, prints=tmp_path / "lfw", size=32, truth="paper", progress=False)
    cs = CaptureSet.open(out)
    assert cs.truth_mode == "paper"
    assert sorted(cs.scenes) == ["Some_Person_Some_Person_0001", "Some_Person_Some_Person_0002"]
    red_truth = cs.load_truth("Some_Person_Some_Person_0001").mean(axis=(0, 1))
    assert red_truth[0] > 3 * max(red_truth[1], red_truth[2]), red_truth   # red stays red
    # Blank paper normalises to white under every LED.
    white = cs.load_nir("Some_Person_Some_Person_0002", cs.wavelengths).mean(axis=(0, 1))
    np.testing.assert_allclose(white, 1.0, atol=0.03)


def test_capture_with_chosen_leds(tmp_path):
    out = tmp_path / "set"
    render_sim_capture_set(out, count=1, size=16, leds=(*NIR_LEDS, 854), progress=False)
    assert CaptureSet.open(out).wavelengths == (*NIR_LEDS, 854)


def test_refuses_a_non_empty_out_without_force(tmp_path, cli, refused):
    out = tmp_path / "x"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused(cli("capture", "--count", "1", "--size", "16", "--out", out), str(out), "--force")
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    render_sim_capture_set(out, count=1, size=16, force=True, progress=False)
    assert len(CaptureSet.open(out)) == 1 and (out / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_refuses_bad_size_and_count(tmp_path, cli, refused):
    out = tmp_path / "x"
    refused(cli("capture", "--size", "3", "--out", out), "--size", "between 16 and 8192")
    refused(cli("capture", "--size", "big", "--out", out), "--size", "not a whole number")
    refused(cli("capture", "--count", "0", "--out", out), "--count", "at least 1")
    assert not out.exists()


@pytest.mark.slow
def test_refuses_bad_leds_and_prints(tmp_path, cli, refused):
    out = tmp_path / "x"
    refused(cli("capture", "--leds", "718,999", "--out", out), "--leds", "999")
    refused(cli("capture", "--prints", tmp_path / "nope", "--out", out), "nope", "--prints")
    (tmp_path / "empty").mkdir()
    refused(cli("capture", "--prints", tmp_path / "empty", "--out", out), "holds no image")
    refused(cli("capture", "--truth", "paper", "--leds", "718,777,807", "--out", out),
            "447", "paper")
    assert not out.exists()


def test_config_mode_refuses_sim_options(tmp_path, cli, refused):
    refused(cli("capture", "--config", tmp_path / "rig.toml", "--size", "64", "--out",
                tmp_path / "x"), "--size", "--config")


def test_config_mode_reaches_the_real_rig_protocol(tmp_path, cli, refused):
    # The protocol (device.procedures.dataset_capture) loads the config: a missing file is named.
    refused(cli("capture", "--config", tmp_path / "rig.toml", "--count", "1", "--out",
                tmp_path / "x"), "rig.toml", "not found")
    assert not (tmp_path / "x").exists()


def test_tiny_capture_set_fixture(tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    assert len(cs) == 10 and cs.size == (64, 64) and cs.truth_mode == "human"
    assert cs.wavelengths == DATASET_LEDS
    assert {k: len(v) for k, v in cs.split.items()} == {"train": 7, "val": 2, "test": 1}


def test_an_unreadable_print_stops_the_run_and_leaves_nothing(tmp_path):
    prints = tmp_path / "prints"
    prints.mkdir()
    cv2.imwrite(str(prints / "a.png"), np.full((20, 20, 3), 128, np.uint8))
    (prints / "b.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out = tmp_path / "set"
    with pytest.raises(UserError, match="b.jpg"):
        render_sim_capture_set(out, prints=prints, size=16, progress=False)
    assert not out.exists()


def test_scenes_and_references_come_from_one_camera(tmp_path):
    """Blank paper normalises to a flat 1.0: the sensor's fixed-pattern gain cancels between
    scene and white reference. Were they from different cameras, the gain mismatch would be
    shared by every LED, so LED planes of blank paper would correlate; noise alone does not."""
    prints = tmp_path / "prints"
    prints.mkdir()
    cv2.imwrite(str(prints / "blank.png"), np.full((64, 64, 3), 255, np.uint8))
    render_sim_capture_set(tmp_path / "set", prints=prints, size=64, progress=False)
    nir = CaptureSet.open(tmp_path / "set").load_nir("blank", (447, 529))[8:-8, 8:-8]
    a, b = (nir[..., i].ravel() - nir[..., i].mean() for i in range(2))
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.2
    np.testing.assert_allclose(nir.mean(axis=(0, 1)), 1.0, atol=0.02)


def test_workers_render_the_same_set_as_one_process(tmp_path):
    for workers in (1, 2):
        render_sim_capture_set(tmp_path / f"w{workers}", count=5, size=16, seed=2,
                               leds=NIR_LEDS, workers=workers, progress=False)
    a, b = CaptureSet.open(tmp_path / "w1"), CaptureSet.open(tmp_path / "w2")
    assert a.scenes == b.scenes and a.split == b.split and a.sources == b.sources
    for scene in a.scenes:
        np.testing.assert_array_equal(a.load_truth(scene), b.load_truth(scene))
        for nm in a.wavelengths:
            np.testing.assert_array_equal(a.load_raw(scene, nm), b.load_raw(scene, nm))


def test_workers_render_the_scenes_in_other_processes(tmp_path, monkeypatch):
    """`--workers 2` renders in two processes other than this one: each scene notes the id of
    the process that rendered it (worker_pids.py makes the two meet, so load cannot let one
    worker take every scene), and the set is still the one process's."""
    import functools
    from pathlib import Path

    from device.commands import capture

    monkeypatch.syspath_prepend(str(Path(__file__).parent))   # workers import worker_pids
    from worker_pids import PidRecordingRenderer

    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setattr(capture, "_SceneRenderer", functools.partial(PidRecordingRenderer,
                                                                     folder=pids))
    render_sim_capture_set(tmp_path / "w2", count=4, size=16, seed=2, leds=NIR_LEDS,
                           workers=2, progress=False)
    rendered_by = {int(p.name) for p in pids.iterdir()}
    assert len(rendered_by) == 2 and os.getpid() not in rendered_by, rendered_by
    assert len(CaptureSet.open(tmp_path / "w2")) == 4


def test_held_out_set_is_all_test_and_only_held_out_photos(tmp_path):
    from device.content.photos import HELD_OUT_PHOTOS

    render_sim_capture_set(tmp_path / "h", count=4, size=16, held_out=True, leds=NIR_LEDS,
                           progress=False)
    cs = CaptureSet.open(tmp_path / "h")
    assert cs.split["train"] == [] and cs.split["val"] == [] and len(cs.split["test"]) == 4
    assert {s.split(":")[1] for s in cs.sources.values()} == set(HELD_OUT_PHOTOS)


def test_refuses_a_bad_mix_and_mix_with_prints(tmp_path, cli, refused):
    out = tmp_path / "x"
    refused(cli("capture", "--mix", "deadleaves=4,dogs=1", "--out", out), "--mix", "dogs")
    with pytest.raises(UserError, match="--mix"):
        render_sim_capture_set(out, prints=tmp_path, mix={"faces": 1.0}, progress=False)
    with pytest.raises(UserError, match="--held-out.*--mix"):
        render_sim_capture_set(out, held_out=True, mix={"faces": 1.0}, progress=False)
    assert not out.exists()


def test_light_levels_take_every_print_at_each_level(tmp_path):
    """--light A,B: one scene per print and level, named after it, one source (so one split)
    per print, the same picture and truth at every level."""
    from device.sim.light import Levels

    render_sim_capture_set(tmp_path / "l", count=2, size=32, held_out=True, leds=NIR_LEDS,
                           light=Levels(0.0625, 2.0, (0.0625, 2.0)), progress=False)
    cs = CaptureSet.open(tmp_path / "l")
    assert cs.manifest["version"] == 3
    assert sorted(cs.scenes) == sorted(f"{p}-L{v}" for p in ("00000-photo-astronaut",
                                                              "00001-photo-coffee")
                                       for v in ("0.0625", "2"))
    dim, bright = "00000-photo-astronaut-L0.0625", "00000-photo-astronaut-L2"
    assert cs.sources[dim] == cs.sources[bright]
    assert cs.relative_photons(dim) == 0.0625 and cs.relative_photons(bright) == 2.0
    assert cs.exposure(bright).exposure_ms == cs.reference_exposure.exposure_ms == 10.0
    np.testing.assert_array_equal(cs.load_truth(dim), cs.load_truth(bright))
    assert abs(cs.load_nir(dim).mean() - cs.load_nir(bright).mean()) < 0.01


def test_paper_white_reads_one_at_every_light_with_the_noise_of_that_light(tmp_path):
    """Blank paper at 1/16 and 2× the light: mean 1 (normalisation follows the exposure) and the
    spread the floor's closed form gives (shot + read noise at that light, and the 8-frame white
    reference's own noise at light 1: σ² = σ(L)² + σ(1)² / 8)."""
    from device.sim import RigSpec
    from device.sim.floor import camera_noise
    from device.sim.light import Levels

    prints = tmp_path / "prints"
    prints.mkdir()
    cv2.imwrite(str(prints / "blank.png"), np.full((64, 64, 3), 255, np.uint8))
    render_sim_capture_set(tmp_path / "w", prints=prints, size=64, leds=NIR_LEDS,
                           light=Levels(0.0625, 2.0, (0.0625, 2.0)), progress=False)
    cs = CaptureSet.open(tmp_path / "w")
    rig = RigSpec(leds=NIR_LEDS)
    reference = camera_noise(rig, NIR_LEDS).white_sigma(NIR_LEDS)
    for light in (0.0625, 2.0):
        nir = cs.load_nir(f"blank-L{light:g}")[4:-4, 4:-4].reshape(-1, 3)
        sigma = camera_noise(rig.under(cs.exposure(f"blank-L{light:g}")),
                             NIR_LEDS).white_sigma(NIR_LEDS)
        expected = np.sqrt(sigma ** 2 + reference ** 2 / 8)
        # 3136 pixels: the sample std is good to 1/sqrt(2N) = 1.3 %, the mean to σ/56 (+0.002:
        # the references are stored as whole codes, ±0.5 of ~1200 above dark).
        np.testing.assert_allclose(nir.std(axis=0), expected, rtol=0.07)
        assert np.all(np.abs(nir.mean(axis=0) - 1.0) < 5 * expected / 56 + 0.002), light


def test_a_high_gain_at_bright_light_clips_the_paper(tmp_path):
    from device.sim.light import Levels

    prints = tmp_path / "prints"
    prints.mkdir()
    cv2.imwrite(str(prints / "blank.png"), np.full((32, 32, 3), 255, np.uint8))
    render_sim_capture_set(tmp_path / "c", prints=prints, size=32, leds=NIR_LEDS,
                           light=Levels(2.0, 2.0), gain=Levels(4.0, 4.0), progress=False)
    cs = CaptureSet.open(tmp_path / "c")
    assert cs.exposure("blank").gain == 4.0
    # White at 718 nm: 3114 e- x 2 x gain 4 is past the 10 500 e- of the top code.
    assert cs.load_raw("blank", 718).max() == 4095
    assert cs.load_nir("blank", (718,)).max() < 0.9          # a clipped white reads dark


def test_light_and_gain_options_are_refused_when_wrong(tmp_path, cli, refused):
    out = tmp_path / "x"
    refused(cli("capture", "--rig", "sim", "--light", "0", "--out", out), "--light", "positive")
    refused(cli("capture", "--rig", "sim", "--light", "2-1", "--out", out), "--light",
            "low to high")
    refused(cli("capture", "--rig", "sim", "--gain", "1,2", "--out", out), "--gain")
    refused(cli("capture", "--config", tmp_path / "rig.toml", "--light", "2", "--out", out),
            "--light", "--config")
    assert not out.exists()
