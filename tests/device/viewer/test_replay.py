"""`file://capture-set`: a recorded set replayed through the strobe, lit by the simulated LEDs."""
import numpy as np

from device.captures import CaptureSet
from device.viewer.rig import open_camera
from device.simulated.sim_leds import SimLeds
from device.simulated.presets import sim_config
from device.viewer.strobe import Strobe


def test_replay_returns_each_recorded_frame_under_its_led(tmp_path, tiny_capture_set):
    cs = CaptureSet.open(tiny_capture_set)
    # A wide fail-safe margin: a retried (spoiled) exposure would shift the replay by a frame.
    config = sim_config(tmp_path, width=64, height=64, fps=200, exposure_ms=2.0, margin_ms=500.0)
    config.camera.uri = f"file://{tiny_capture_set}?hold=3"
    leds = SimLeds(config.strobe.wavelengths)
    camera = open_camera(config, leds)
    strobe = Strobe(leds, camera, config.strobe, 2e-3, 1 / 200)
    try:
        subs = [strobe.next() for _ in range(9)]
    finally:
        strobe.close()
    for i, sub in enumerate(subs):
        scene = cs.scenes[i // 3]                  # hold=3: a new print every strobe cycle
        recorded = cs.load_raw(scene, sub.nm).astype(int)
        assert np.abs(sub.image.astype(int) - recorded).max() <= 1
    assert not np.array_equal(subs[0].image, subs[1].image)


def test_replay_of_an_exposure_with_no_led_is_the_dark_reference(tmp_path, tiny_capture_set):
    config = sim_config(tmp_path, width=64, height=64, exposure_ms=2.0)
    config.camera.uri = f"file://{tiny_capture_set}"
    leds = SimLeds(config.strobe.wavelengths)
    camera = open_camera(config, leds)
    leds.pulse_trigger()                           # a trigger with every LED off
    frame = camera.read()
    dark = CaptureSet.open(tiny_capture_set).references()["dark"]
    assert np.abs(frame.image.astype(float) - dark).max() <= 1
