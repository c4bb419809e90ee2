"""The viewer's live loop: strobe the NIR LEDs, capture one sub-frame under each, colorize every
newest triplet and show it. Each hardware role (camera, LEDs, display, and the engine of
device.engines) is a Protocol with its own options and a table of backends by URI scheme,
filled by `backends` here for the real hardware and by the simulated rig's own package for
`sim://` and `file://` (docs/viewer-architecture.md). This package names no layer above it."""
