"""The digital twin of the rig: ink and paper spectra, a CMYK printer, LEDs, a monochrome
silicon camera with its noise, and scene motion. It renders what the camera sees when one LED
lights a print, for capture sets (`device capture --rig sim`) and for the simulated camera of
`device run`; `ground_truth` gives the RGB a model should reproduce."""
from device.sim.colorimetry import delta_e00, srgb_to_lab
from device.sim.led_spectra import DATASET_LEDS, NIR_LEDS, PALETTE_LEDS, VISIBLE_LEDS
from device.sim.printing import Printer
from device.sim.rig_spec import RigSpec
from device.sim.scene import TRUTH_MODES, PrintedScene, random_motion

__all__ = ["DATASET_LEDS", "NIR_LEDS", "VISIBLE_LEDS", "PALETTE_LEDS", "RigSpec", "Printer",
           "PrintedScene", "TRUTH_MODES", "random_motion", "delta_e00",
           "srgb_to_lab"]
