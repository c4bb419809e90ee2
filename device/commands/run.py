"""`device run`: the viewer. Strobe the NIR LEDs, colorize every triplet, show it.

Runs until stopped (SIGTERM / Ctrl-C) or `--frames` color frames were shown; SIGHUP reloads
the config (a config that fails validation is refused and the running one kept). Under
systemd it reports READY / WATCHDOG / STATUS through sd_notify.
"""
from __future__ import annotations

import argparse
import threading

from device.common.errors import UserError
from device.commands._rig_config import add_rig_config_arguments, load_rig_config
from device.viewer.loop import Pipeline


def run(args) -> int:
    from device.service.failsafe import install_excepthooks
    from device.service.logs import setup_logging
    from device.service.observer import ServiceObserver
    from device.service.signals import install_signal_handlers

    setup_logging(args.log_level)
    config = load_rig_config(args)
    observer = ServiceObserver()
    current: list[Pipeline] = []
    stopping = threading.Event()

    def stop() -> None:
        stopping.set()
        for pipeline in current:
            pipeline.stop()

    # Installed once, for the whole life of the viewer: a signal between two pipelines (during
    # a reload) must still stop it cleanly.
    restore_signals = install_signal_handlers(
        on_stop=stop, on_reload=lambda: [p.stop(reloading=True) for p in current])
    restore_hooks = install_excepthooks(stop)
    try:
        while True:
            pipeline = Pipeline(config, observer)
            current[:] = [pipeline]
            if stopping.is_set():
                pipeline.stop()
            report = pipeline.run(max_frames=args.frames)
            if not pipeline.reloading or stopping.is_set():
                break
            observer.reloading()
            try:
                config = load_rig_config(args)
            except UserError as exc:
                observer.status(f"reload refused, keeping the running config: {exc}")
            observer.reloaded()
    finally:
        restore_hooks()
        restore_signals()
    if pipeline.reloading:          # stopped in the middle of a reload
        observer.stopping()
    print(report.summary())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="the viewer: strobe, capture, colorize, display",
                              description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rig_config_arguments(p)
    p.add_argument("--frames", type=int, default=None,
                   help="stop after this many color frames (default: run until stopped)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run)
