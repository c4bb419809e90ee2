"""The example config of each camera profile (docs/examples/cameras/) starts on the simulated
rig (`--rig sim` swaps camera and LEDs), and the strobe takes the profile's timing."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from device.commands._rig_config import load_rig_config
from device.simulated.row_light import RowLightMeter
from device.viewer.camera_profiles import PROFILES
from device.viewer.rig import exposure_plan, make_strobe, open_camera, open_leds
from device.viewer.strobe import STROBE_TIMINGS

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples" / "cameras"


def test_every_profile_has_an_example_config():
    assert {p.stem for p in EXAMPLES.glob("*.toml")} == set(PROFILES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PROFILES))
def test_an_example_runs_on_the_sim_with_its_profiles_timing(name):
    config = load_rig_config(argparse.Namespace(config=EXAMPLES / f"{name}.toml", rig="sim"))
    profile = PROFILES[name]
    assert config.camera.uri == "sim://" and config.leds.uri == "sim://"
    assert config.camera.profile == name and config.strobe.sync == profile.default_sync
    plan = exposure_plan(config)
    assert not plan.problems
    config.strobe.realtime = False       # the test machine's other jobs keep their CPU
    leds = open_leds(config)
    camera = open_camera(config, leds)
    strobe = make_strobe(config, leds, camera)
    meter = RowLightMeter(lambda: camera)
    try:
        assert type(strobe.timing) is STROBE_TIMINGS[profile.default_sync]
        for _ in range(4):
            meter(strobe.next())
    finally:
        strobe.close()
        camera.close()
    assert len(meter.kept()) == 4 and meter.mixed_share() == 0


@pytest.mark.slow
def test_device_run_starts_the_imx219_example_on_the_sim():
    done = subprocess.run([sys.executable, "-m", "device", "run", "--config",
                           str(EXAMPLES / "imx219.toml"), "--rig", "sim", "--frames", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "flash-window timing on imx219 (rolling shutter, rows start over 13.59 ms)" \
        in done.stderr
    assert "2 color frames" in done.stdout


def test_the_cameras_page_shows_each_profiles_line_times_and_timing():
    page = (EXAMPLES.parents[1] / "cameras.md").read_text(encoding="utf-8")
    for profile in PROFILES.values():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{profile.name}`"))
        for mode in profile.modes:
            assert f"{mode.line_time_us:.2f} µs" in row, (profile.name, mode)
        assert row.rstrip(" |").endswith(profile.default_sync), profile.name
