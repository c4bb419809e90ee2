"""The LED role's backends: `leds.uri` scheme -> factory(uri, led_config, wavelengths)."""
from device.common.backends import Backends

LEDS = Backends("leds.uri", {
    "gpio": "device.viewer.leds:open_gpio_leds",
    "sim": "device.simulated.sim_leds:open_sim_leds",
})
