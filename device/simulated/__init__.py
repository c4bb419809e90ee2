"""Simulated hardware backends: the sim camera, the simulated LED bank, the replay camera, and
ready-made sim configs. Importing the package registers `sim://` (camera and LEDs) and
`file://` (camera) in the viewer's role tables."""
from device.simulated import backends as _registered  # noqa: F401  (registers on import)
