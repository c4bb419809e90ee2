"""Running the viewer as a systemd service: sd_notify state and watchdog, signal handling,
journal-friendly logging, and the fail-safe that turns the LEDs off on every way out."""
