"""Running the viewer as a systemd service: sd_notify state and watchdog, signal handling,
journal-friendly logging, the fail-safe that turns the LEDs off on every way out, and the
install-time check of whether the configured model needs converting."""
