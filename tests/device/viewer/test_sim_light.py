"""The simulated rig's light and moving content: the light as a factor on the LEDs' signal,
changing at a camera frame as a step or a ramp; a print held still, shaken or sliding; a
scene cut; the camera's gain; and the truth following each frame."""
import numpy as np
import pytest

from device.simulated.presets import sim_config
from device.simulated.sim_camera import SimCamera, light_at
from device.simulated.sim_leds import SimLeds
from device.viewer.rig import camera_options
from device.viewer.sections import SimConfig

NIR = (718, 777, 807)


def test_light_steps_and_ramps_at_camera_frames():
    sim = SimConfig(light=1.0, light_change_at=10, light_change_to=0.25)
    assert [light_at(sim, f) for f in (0, 9, 10, 50)] == [1.0, 1.0, 0.25, 0.25]
    ramp = SimConfig(light=1.0, light_change_at=10, light_change_to=2.0, light_change_frames=4)
    assert [light_at(ramp, f) for f in (9, 10, 11, 12, 13, 20)] == \
        pytest.approx([1.0, 1.25, 1.5, 1.75, 2.0, 2.0])


def camera(tmp_path, **sim):
    config = sim_config(tmp_path, width=64, height=48, scene="astronaut")
    for key, value in sim.items():
        setattr(config.sim, key, value)
    return SimCamera(camera_options(config, SimLeds(NIR)), None)


def signal(cam, frames=4, nm=718):
    """The mean raw signal above the pedestal over `frames` frames lit all through."""
    out = []
    for _ in range(frames):
        out.append(cam.expose({nm: 1.0}, float(cam.frames)).astype(np.float64).mean() - 64)
        cam.frames += 1
    return np.array(out)


def test_light_and_gain_scale_the_signal(tmp_path):
    base = signal(camera(tmp_path, motion="none")).mean()
    assert signal(camera(tmp_path, motion="none", light=0.5)).mean() == \
        pytest.approx(base / 2, rel=0.01)
    stepped = signal(camera(tmp_path, motion="none", light_change_at=2, light_change_to=0.25))
    assert stepped[:2] == pytest.approx([base] * 2, rel=0.01)
    assert stepped[2:] == pytest.approx([base / 4] * 2, rel=0.02)
    gained = camera(tmp_path, motion="none")
    gained.set_gain(2.0)                              # the electrons per code halve
    assert signal(gained).mean() == pytest.approx(2 * base, rel=0.01)


def test_still_sliding_and_cut_prints_and_their_truth(tmp_path):
    still = camera(tmp_path, motion="none")
    for i in range(3):
        still.expose({718: 1.0}, float(i))
    assert all(np.array_equal(still.shots[float(i)].motion, np.eye(2, 3)) for i in range(3))
    slide = camera(tmp_path, motion="slide", slide_px=2.0)
    for i in range(3):
        slide.expose({718: 1.0}, float(i))
        slide.frames += 1
    shots = [slide.shots[float(i)] for i in range(3)]
    assert [s.motion[0, 2] for s in shots] == [0.0, 2.0, 4.0]           # 2 px to the right
    truth = [slide.ground_truth(float(i)) for i in (0, 2)]
    assert np.allclose(truth[1][:, 10:-10], truth[0][:, 6:-14], atol=1e-5)
    cut = camera(tmp_path, motion="none", cut_at=2, cut_to="coffee")
    frames = []
    for i in range(4):
        frames.append(cut.expose({777: 1.0}, float(i)).astype(int))
        cut.frames += 1
    assert [cut.shots[float(i)].scene for i in range(4)] == [0, 0, 1, 1]
    assert np.abs(frames[2] - frames[1]).mean() > 10 * np.abs(frames[1] - frames[0]).mean()
    assert not np.allclose(cut.ground_truth(1.0), cut.ground_truth(2.0))


def test_the_print_moves_under_the_cameras_fall_off(tmp_path):
    """The lens and LED fall-off stays with the camera: a print moved by 20 px shows the same
    fall-off, so the white reference (taken with the camera) still divides it out."""
    still = camera(tmp_path, motion="none", scene="paper")
    moved = camera(tmp_path, motion="slide", slide_px=20.0, scene="paper")
    moved.frames = 1
    flat = still.expose({718: 1.0}, 0.0).astype(float)
    shifted = moved.expose({718: 1.0}, 0.0).astype(float)
    assert np.abs(shifted - flat).mean() < 0.01 * flat.mean()
