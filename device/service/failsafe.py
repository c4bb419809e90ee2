"""LEDs off first: whatever goes wrong, an infrared LED must not stay lit in front of an eye.

`lights_out` calls the LED backend's off switch and never raises (a fault while handling a
fault must not skip the rest of the shutdown). `install_excepthooks` puts it in front of the
interpreter's report of any unhandled exception, in the main thread and in worker threads.
"""
from __future__ import annotations

import logging
import sys
import threading
from typing import Callable

log = logging.getLogger(__name__)


def lights_out(all_off: Callable[[], None]) -> bool:
    """Run `all_off`; True if it returned, False (logged) if it raised."""
    try:
        all_off()
        return True
    except Exception:  # noqa: BLE001 - nothing may stop the rest of the shutdown
        log.exception("turning the LEDs off failed")
        return False


def install_excepthooks(all_off: Callable[[], None]) -> Callable[[], None]:
    """Make every unhandled exception switch the LEDs off before it is reported.

    Returns a function that restores the previous hooks.
    """
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def sys_hook(exc_type, exc, tb):
        lights_out(all_off)
        previous_sys(exc_type, exc, tb)

    def thread_hook(args):
        lights_out(all_off)
        previous_thread(args)

    sys.excepthook, threading.excepthook = sys_hook, thread_hook

    def restore() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return restore


def leds_off_from_config(config_path: str) -> None:
    """Drive every configured LED pin (and the trigger line) low from a fresh process.

    The unit's ExecStopPost runs this after the viewer is gone, however it went: a watchdog
    SIGABRT or a SIGKILL after TimeoutStopSec skip every Python cleanup, and a GPIO line keeps
    its last level when its owner dies.

    Only what drives real lines needs this, and every such backend is registered by
    device.viewer itself. This process never imports device.simulated (the service layer may
    not), so a `sim://` bank has no backend here: it lived in the viewer's memory and died with
    it, and there is nothing to switch off. Nor does the camera, display or engine matter here:
    their URIs are checked for form only, so a mistake there cannot keep the LEDs on.
    """
    from device.viewer.config import load_config
    from device.viewer.leds import LEDS
    from device.viewer.rig import open_leds

    config = load_config(config_path, check_model=False, check_schemes=False)
    uri = LEDS.parse(config.leds.uri, registered=False)
    backend = LEDS.get(uri.scheme)
    if backend is None or backend.simulated:
        hardware = ", ".join(f"{b.scheme}://" for b in LEDS.backends() if not b.simulated)
        print(f"failsafe: leds.uri '{uri.text}' is no LED hardware this program drives "
              f"({hardware}); nothing to switch off.", file=sys.stderr)
        return
    open_leds(config).close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    from device.common.command_line import run_cli

    parser = argparse.ArgumentParser(
        prog="python -m device.service.failsafe",
        description="Switch every LED of the configured bank off (the unit's ExecStopPost).")
    parser.add_argument("--config", required=True, help="the viewer's TOML config")
    args = parser.parse_args(argv)
    return run_cli("failsafe", lambda: leds_off_from_config(args.config))


if __name__ == "__main__":
    sys.exit(main())
