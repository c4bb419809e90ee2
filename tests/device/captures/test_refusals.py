"""Every way a capture set can be broken is refused with one sentence naming the file, exit
code 2 and no traceback (checked through `python -m device.captures DIR`, the reader's CLI)."""
import json

import cv2
import numpy as np
import pytest

from device.captures import CaptureSet
from device.common.errors import UserError


def _edit_manifest(out, **changes):
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    m.update(changes)
    path.write_text(json.dumps(m))


def test_a_valid_set_passes_the_check(synthetic_set, cli):
    out, _ = synthetic_set
    proc = cli(out, "--load", module="device.captures")
    assert proc.returncode == 0, proc.stderr
    assert "5 scenes" in proc.stdout and "718" in proc.stdout


def test_missing_manifest(synthetic_set, cli, refused):
    out, _ = synthetic_set
    (out / "manifest.json").unlink()
    refused(cli(out, module="device.captures"), "manifest.json", "missing")


def test_unparseable_manifest(synthetic_set, cli, refused):
    out, _ = synthetic_set
    (out / "manifest.json").write_text('{"format": "nightcolor-capture-set", "version": ')
    refused(cli(out, module="device.captures"), "manifest.json", "not valid JSON")


def test_unknown_version(synthetic_set, cli, refused):
    out, _ = synthetic_set
    _edit_manifest(out, version=4, new_field_of_version_4={"x": 1})
    refused(cli(out, module="device.captures"), "manifest.json", "version 4",
            "versions 1, 2, 3")


def test_a_scene_exposure_without_the_references_exposure(synthetic_set, cli, refused):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    m["scenes"]["scene-2"]["exposure"] = {"exposure_ms": 5.0, "gain": 1.0, "light": 1.0}
    (out / "manifest.json").write_text(json.dumps(m))
    refused(cli(out, module="device.captures"), "manifest.json", "scene-2", "references")


@pytest.mark.parametrize("exposure,needle", [({"exposure_ms": 0, "gain": 1, "light": 1},
                                              "'exposure_ms' must be a positive number"),
                                             ({"exposure_ms": 4, "gain": 1}, "exactly"),
                                             ({"exposure_ms": 4, "gain": "2", "light": 1},
                                              "'gain'")])
def test_a_bad_exposure(synthetic_set, cli, refused, exposure, needle):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    m["references"]["exposure"] = {"exposure_ms": 10.0, "gain": 1.0, "light": 1.0}
    m["scenes"]["scene-1"]["exposure"] = exposure
    (out / "manifest.json").write_text(json.dumps(m))
    refused(cli(out, module="device.captures"), "manifest.json", "scene-1", needle)


def test_a_source_in_two_splits(synthetic_set, cli, refused):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    a, b = m["split"]["train"][0], m["split"]["test"][0]
    m["scenes"][a]["source"] = m["scenes"][b]["source"] = "photo:same"
    (out / "manifest.json").write_text(json.dumps(m))
    refused(cli(out, module="device.captures"), "manifest.json", "photo:same", "train", "test")


def test_missing_wavelength_file(synthetic_set, cli, refused):
    out, _ = synthetic_set
    (out / "scenes" / "scene-3" / "777nm.png").unlink()
    refused(cli(out, module="device.captures"), "scene-3/777nm.png", "missing", "777 nm")


def test_wavelength_missing_from_the_manifest(synthetic_set, cli, refused):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    del m["scenes"]["scene-2"]["captures"]["529"]
    (out / "manifest.json").write_text(json.dumps(m))
    refused(cli(out, module="device.captures"), "manifest.json", "scene-2", "529 nm")


def test_mismatched_image_size(synthetic_set, cli, refused):
    out, _ = synthetic_set
    cv2.imwrite(str(out / "scenes" / "scene-1" / "718nm.png"), np.zeros((24, 31), np.uint16))
    refused(cli(out, module="device.captures"), "scene-1/718nm.png", "31x24", "32x24")


def test_truncated_png(synthetic_set, cli, refused):
    out, _ = synthetic_set
    path = out / "scenes" / "scene-4" / "807nm.png"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    refused(cli(out, module="device.captures"), "scene-4/807nm.png", "truncated")


def test_wrong_bit_depth(synthetic_set, cli, refused):
    out, _ = synthetic_set
    cv2.imwrite(str(out / "references" / "white_447nm.png"), np.zeros((24, 32), np.uint8))
    refused(cli(out, module="device.captures"), "white_447nm.png", "16-bit", "8-bit")


def test_not_a_png(synthetic_set, cli, refused):
    out, _ = synthetic_set
    (out / "scenes" / "scene-0" / "truth.png").write_text("hello")
    refused(cli(out, module="device.captures"), "scene-0/truth.png", "not a PNG")


def test_corrupt_body_behind_intact_header_is_caught_on_load(synthetic_set, cli, refused):
    out, _ = synthetic_set
    path = out / "scenes" / "scene-0" / "718nm.png"
    data = bytearray(path.read_bytes())
    data[40:-12] = bytes(len(data) - 52)  # zero the compressed image data, keep IHDR and IEND
    path.write_bytes(bytes(data))
    CaptureSet.open(out)  # headers are fine: opening stays cheap and succeeds
    with pytest.raises(UserError, match="718nm.png"):
        CaptureSet.open(out).load_raw("scene-0", 718)
    refused(cli(out, "--load", module="device.captures"), "scene-0/718nm.png", "corrupt")


def test_manifest_paths_may_not_leave_the_folder(synthetic_set):
    out, _ = synthetic_set
    m = json.loads((out / "manifest.json").read_text())
    m["scenes"]["scene-0"]["truth"] = "../../etc/passwd"
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="scene-0"):
        CaptureSet.open(out)
