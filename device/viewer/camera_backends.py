"""The camera role's backends: `camera.uri` scheme -> factory(uri, config, leds)."""
from device.common.backends import Backends

CAMERAS = Backends("camera.uri", {
    "v4l2": "device.viewer.cameras:open_opencv_camera",
    "csi": "device.viewer.cameras:open_opencv_camera",
    "file": "device.simulated.replay_camera:open_replay_camera",
    "sim": "device.simulated.sim_camera:open_sim_camera",
})
