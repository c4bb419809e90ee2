"""The simulated rig's backends, registered into the viewer's role tables when this package is
imported (device/simulated/__init__.py imports this module): nothing in device.viewer names
them. A program that offers the simulated rig imports device.simulated before it reads a
config (the `device` command line does; the service's helpers never do, see
device.service.failsafe)."""
from __future__ import annotations

from device.engines.engine import ENGINES
from device.simulated.replay_camera import open_replay_camera
from device.simulated.sim_camera import open_sim_camera
from device.simulated.sim_engine import check_sim_engine_uri, open_sim_engine
from device.simulated.sim_leds import open_sim_leds
from device.simulated.sim_wiring import check_sim_leds_uri
from device.viewer.cameras import CAMERAS
from device.viewer.leds import LEDS

CAMERAS.register("file://CAPTURE-SET?hold=N", "replays a capture set, lit by the simulated LEDs",
                 open_replay_camera, simulated=True)
CAMERAS.register("sim://", "the simulated camera: the [sim] print under the simulated LEDs",
                 open_sim_camera, simulated=True)
LEDS.register("sim://?swap=NM:NM&dead=NM|trigger",
              "the simulated LED bank, every edge recorded (swap, dead: wiring faults)",
              open_sim_leds, simulated=True, check=check_sim_leds_uri)
ENGINES.register("sim://MODEL?perturb=CODES",
                 "the model's viewer graph in onnxruntime, its output perturbed (a fault)",
                 open_sim_engine, simulated=True, check=check_sim_engine_uri)
