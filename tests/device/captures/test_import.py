"""`device import`: monochrome captures made elsewhere become a capture set."""
import cv2
import numpy as np
import pytest

from device.captures import CaptureSet

WAVELENGTHS = (447, 529, 604, 718, 777, 807)


@pytest.fixture
def source(tmp_path):
    """A folder as another lab's rig would leave it: scene_<nm>nm.png, whites and a dark."""
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    cv2.imwrite(str(src / "dark.png"), np.full((20, 30), 100, np.uint16))
    for nm in WAVELENGTHS:
        cv2.imwrite(str(src / f"white_{nm}nm.png"), np.full((20, 30), 2100, np.uint16))
        for scene in ("Aaron Eckhart_0001", "b", "c"):
            cv2.imwrite(str(src / f"{scene}_{nm}nm.png"),
                        rng.integers(100, 2100, (20, 30)).astype(np.uint16))
    return src


def test_import_builds_a_capture_set_with_paper_truth(source, tmp_path, cli):
    out = tmp_path / "set"
    proc = cli("import", source, "--out", out)
    assert proc.returncode == 0, proc.stderr
    cs = CaptureSet.open(out)
    assert cs.wavelengths == WAVELENGTHS and cs.truth_mode == "paper" and cs.size == (20, 30)
    assert sorted(cs.scenes) == ["Aaron-Eckhart_0001", "b", "c"]
    raw = cv2.imread(str(source / "b_718nm.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(cs.load_raw("b", 718), raw)
    # Paper-mode truth: the 604/529/447 nm captures normalised to white become R/G/B.
    expect = [(cv2.imread(str(source / f"b_{nm}nm.png"), cv2.IMREAD_UNCHANGED) - 100.0) / 2000.0
              for nm in (604, 529, 447)]
    np.testing.assert_allclose(cs.load_truth("b"), np.stack(expect, -1), atol=1e-4)


def test_import_with_a_folder_pattern_and_no_dark(tmp_path, cli):
    src = tmp_path / "lab"
    for nm in WAVELENGTHS:
        (src / "refs").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(src / "refs" / f"{nm}.png"), np.full((8, 8), 200, np.uint8))
        for scene in ("x", "y", "z"):
            (src / scene).mkdir(exist_ok=True)
            cv2.imwrite(str(src / scene / f"{nm}.png"), np.full((8, 8), 50, np.uint8))
    proc = cli("import", src, "--out", tmp_path / "set", "--pattern", "{scene}/{nm}.png",
               "--white-pattern", "refs/{nm}.png")
    assert proc.returncode == 0, proc.stderr
    cs = CaptureSet.open(tmp_path / "set")
    assert sorted(cs.scenes) == ["x", "y", "z"] and cs.rig["source_bit_depth"] == 8
    np.testing.assert_allclose(cs.load_nir("x"), 0.25)   # dark level 0 when none is given


def test_import_refuses_a_missing_wavelength(source, tmp_path, cli, refused):
    (source / "c_777nm.png").unlink()
    out = tmp_path / "set"
    refused(cli("import", source, "--out", out), "'c'", "777 nm", "c_777nm.png")
    assert not out.exists()


def test_import_refuses_a_missing_white_reference(source, tmp_path, cli, refused):
    (source / "white_529nm.png").unlink()
    refused(cli("import", source, "--out", tmp_path / "set"), "white reference", "529 nm")


def test_import_refuses_mismatched_sizes_and_leaves_nothing(source, tmp_path, cli, refused):
    cv2.imwrite(str(source / "c_604nm.png"), np.zeros((20, 31), np.uint16))
    out = tmp_path / "set"
    refused(cli("import", source, "--out", out), "c_604nm.png", "31x20", "one size")
    assert not out.exists()


def test_import_refuses_a_source_without_the_visible_truth_captures(source, tmp_path, cli,
                                                                    refused):
    for f in source.glob("*_447nm.png"):
        f.unlink()
    refused(cli("import", source, "--out", tmp_path / "set"), "447 nm", "ground truth")


def test_import_refuses_a_colour_capture(source, tmp_path, cli, refused):
    cv2.imwrite(str(source / "b_718nm.png"), np.dstack([np.zeros((20, 30), np.uint16),
                                                        np.ones((20, 30), np.uint16),
                                                        np.zeros((20, 30), np.uint16)]))
    refused(cli("import", source, "--out", tmp_path / "set"), "b_718nm.png", "colour")


def test_import_refuses_a_bad_pattern(source, tmp_path, cli, refused):
    refused(cli("import", source, "--out", tmp_path / "set", "--pattern", "{scene}.png"),
            "--pattern", "{nm}")


def test_import_refuses_a_non_empty_out_without_force(source, tmp_path, cli, refused):
    out = tmp_path / "set"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    refused(cli("import", source, "--out", out), str(out), "--force")
    assert cli("import", source, "--out", out, "--force").returncode == 0
    assert (out / "keep.txt").read_text() == "x" and len(CaptureSet.open(out)) == 3
