"""The viewer's live loop: strobe the NIR LEDs, capture one sub-frame under each, colorize every
newest triplet and show it. Each hardware role (LEDs, camera, display) is a small interface
picked by a URI in the config; its scheme -> backend table is the role's `*_backends` module
(the simulated backends live in device.simulated)."""
