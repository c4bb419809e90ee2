"""LEDs a builder can buy: the parts table, each part's own bandwidth in the simulator, the
floor's ranking of purchasable triples, and a model trained for one triple refusing another."""
import json
import subprocess
import sys

import numpy as np
import pytest

from device.common.errors import UserError
from device.sim.floor import print_colours
from device.sim.led_parts import PART_BY_NM, PURCHASABLE_LEDS, part_fwhms
from device.sim.rig_spec import RigSpec
from device.simulated.presets import SHIPPED_MODEL
from device.viewer.config import load_config

WANTED = (730, 750, 760, 780, 810, 830, 850)     # the catalogue wavelengths


def test_the_table_covers_the_catalogue_wavelengths_and_says_where_each_figure_is_from():
    assert tuple(sorted(PART_BY_NM)) == WANTED
    for part in PURCHASABLE_LEDS:
        assert part.source and part.output and part.fwhm_nm > 0
        assert set(part.assumed) <= {"centre", "fwhm", "output"}
        if "output" in part.assumed:
            assert part.output == "assumed"
        if not part.assumed:
            assert "datasheet" in part.source
    assert part_fwhms((718, 810, 850)) == ((810, 30.0), (850, 30.0))


def test_a_parts_own_bandwidth_changes_what_the_camera_reads():
    rgb = np.random.default_rng(0).random((50, 3), dtype=np.float32)
    narrow = print_colours(rgb, (850,), RigSpec(leds=(850,)))
    wide = print_colours(rgb, (850,), RigSpec(leds=(850,), led_fwhm_by_nm=((850, 60.0),)))
    assert not np.allclose(narrow.readings, wide.readings, atol=1e-3)
    rig = RigSpec(led_fwhm_by_nm=((850, 60.0),))
    assert rig.fwhm(850) == 60.0 and rig.fwhm(718) == rig.led_fwhm_nm
    assert RigSpec.from_dict(json.loads(json.dumps(rig.to_dict()))) == rig
    assert "led_fwhm_by_nm" not in RigSpec().to_dict()   # one-bandwidth rigs read as before
    with pytest.raises(UserError):
        RigSpec(led_fwhm_by_nm=((850, 0.0),))


def test_floor_ranks_the_purchasable_triples_with_their_bandwidths():
    out = subprocess.run([sys.executable, "-m", "device", "sim", "floor", "--parts",
                          "--colours", "20", "--references", "1024", "--json",
                          "--fwhm", "850:50"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 35                                 # C(7, 3)
    assert {nm for row in rows for nm in row["leds"]} == set(WANTED)
    assert [r["mean_de00"] for r in rows] == sorted(r["mean_de00"] for r in rows)
    bad = subprocess.run([sys.executable, "-m", "device", "sim", "floor", "--parts",
                          "--fwhm", "718:40"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "--fwhm" in bad.stderr and "Traceback" not in bad.stderr


def test_a_model_trained_for_one_triple_refuses_another_in_one_sentence(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[camera]\nuri = "sim://"\n[leds]\n'
                    'uri = "gpio://jetson?pins=730:31,780:33,850:35&trigger=37"\n'
                    '[strobe]\nwavelengths = [730, 780, 850]\n'
                    f'[engine]\nuri = "onnx://{SHIPPED_MODEL}"\n')
    config = load_config(path, check_model=False)         # any catalogue triple is a config
    assert config.strobe.wavelengths == (730, 780, 850) and config.leds.pins[850] == 35
    with pytest.raises(UserError) as refused:
        load_config(path)
    text = str(refused.value)
    assert text.count(". ") == 0
    assert "includes 730, 780, 850 nm but the model (edge.json) was trained on 718, 777, " \
           "807 nm" in text


def test_the_simulated_rig_lights_a_catalogue_triple_with_its_parts(tmp_path):
    from device.simulated.presets import sim_config
    from device.simulated.sim_camera import SimCamera
    from device.simulated.sim_leds import SimLeds
    from device.viewer.rig import camera_options

    config = sim_config(tmp_path, width=32, height=24)
    config.strobe.wavelengths = (730, 810, 850)
    camera = SimCamera(camera_options(config, SimLeds((730, 810, 850))), None)
    assert camera.rig.leds == (730, 810, 850)
    assert dict(camera.rig.led_fwhm_by_nm) == {730: 30.0, 810: 30.0, 850: 30.0}
    frames = {nm: camera.expose({nm: 1.0}, float(nm)).astype(float).mean()
              for nm in (730, 810, 850)}
    assert frames[730] > frames[810] > frames[850]   # silicon's QE falls into the NIR
