"""Scenes made of materials: the generators that draw them (`device.content.surfaces`), their
capture sets with material maps, and the sim camera's material scenes."""
import json

import numpy as np
import pytest

from device.captures import CaptureSet
from device.common.errors import UserError
from device.commands.capture import render_sim_capture_set
from device.content import generated
from device.content.surfaces import SURFACE_KINDS
from device.sim.materials import FAMILY_CODES


@pytest.mark.parametrize("seed", range(4))
def test_recording_what_was_painted_does_not_change_the_picture(seed):
    """The material scenes are drawn by the very generators of the prints."""
    for name, record in (("skin", {"painted": []}), ("clothes", {"painted": []}),
                         ("foliage", {"leaves": {}})):
        plain = generated.GENERATORS[name](np.random.default_rng(seed), 48)
        recorded = generated.GENERATORS[name](np.random.default_rng(seed), 48, **record)
        np.testing.assert_array_equal(plain, recorded)


def test_faces_are_skin_and_cloth_over_a_print():
    artwork = SURFACE_KINDS["face-skin"](np.random.default_rng(0), 64)
    assert {"skin", "cloth"} <= set(artwork.families)
    assert artwork.index.min() == -1 and artwork.index.max() == len(artwork.palette) - 1
    skin = np.isin(artwork.index, [i for i, f in enumerate(artwork.families) if f == "skin"])
    assert 0.02 < skin.mean() < 0.9
    assert artwork.shade[skin].min() < 0.9 <= artwork.shade[skin].max()  # faces darken to the rim


def test_foliage_is_all_leaves_in_sun_and_shade():
    artwork = SURFACE_KINDS["foliage-leaf"](np.random.default_rng(1), 64)
    assert set(artwork.families) == {"leaf"} and artwork.index.min() >= 0
    assert len(artwork.palette) == len(np.unique(artwork.index))   # only leaves that show
    assert 0.5 < artwork.shade.min() < artwork.shade.max() <= 1.0


def test_a_capture_with_materials_has_material_maps(tmp_path):
    out = render_sim_capture_set(tmp_path / "m", count=4, size=32, seed=2, progress=False,
                                 leds=(718, 777, 807),
                                 mix={"face-skin": 1, "foliage-leaf": 1, "clothes-cloth": 1,
                                      "charts": 1})
    cs = CaptureSet.open(out)
    assert cs.material_families == tuple(FAMILY_CODES)
    kinds = {scene.split("-", 1)[1]: scene for scene in cs.scenes}
    assert cs.load_materials(kinds["charts"]) is None
    assert (cs.load_materials(kinds["foliage-leaf"]) == FAMILY_CODES["leaf"]).all()
    assert (cs.load_materials(kinds["clothes-cloth"]) == FAMILY_CODES["cloth"]).all()
    faces = cs.load_materials(kinds["face-skin"])
    assert FAMILY_CODES["skin"] in faces and faces.shape == (32, 32)
    nir = cs.load_nir(kinds["foliage-leaf"])
    assert np.median(nir[..., 0]) < np.median(nir[..., 1])   # leaves brighten past the red edge
    # --force removes the maps with the rest of the set
    render_sim_capture_set(out, count=1, size=32, seed=2, progress=False, force=True,
                           mix={"charts": 1})
    assert not list(out.glob("scenes/*/materials.png"))


def test_a_material_map_without_its_family_names_is_refused(tmp_path):
    out = render_sim_capture_set(tmp_path / "m", count=1, size=16, seed=0, progress=False,
                                 mix={"clothes-cloth": 1})
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["material_families"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="material_families"):
        CaptureSet.open(out)


def test_the_sim_camera_crops_a_material_scene_to_its_frame():
    from device.sim.materials.scene import MaterialScene
    from device.simulated.sim_camera import _material_scene

    rig = {"leds": (718, 777, 807), "exposure": 8.0, "full_well_e": 10500.0, "ambient": 0.0}
    scene = _material_scene("clothes-cloth", (24, 40), tuple(sorted(rig.items())), 3)
    assert isinstance(scene, MaterialScene) and scene.ground_truth().shape == (24, 40, 3)
    assert (scene.family_map() == FAMILY_CODES["cloth"]).all()


@pytest.mark.slow
def test_demo_runs_on_a_scene_of_leaves(tmp_path, cli):
    proc = cli("demo", "--scene", "foliage-leaf", "--frames", "3", "--width", "64",
               "--height", "48", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "scene foliage-leaf" in proc.stdout and (tmp_path / "demo.png").is_file()
