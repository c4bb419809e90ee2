"""Running the viewer as a systemd service: sd_notify state and watchdog, signal handling,
journal-friendly logging, the fail-safe that turns the LEDs off on every way out, and what
install.sh asks at install time: the venv's pip requirements (`venv_plan`), the copy of a
converted model (`model_files`) and what the configured model still needs (`model_plan`)."""
