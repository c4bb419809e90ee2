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
from device.viewer.backends import usage
from device.viewer.config import Config
from device.viewer.loop import Pipeline, RunResult, StopReason
from device.viewer.observer import Observer


class Viewer:
    """Pipelines one after another until one ends for a reason other than a reload. Its own
    state is what a signal may change between two pipelines: a stop asked for, and the one
    pipeline running."""

    def __init__(self, args: argparse.Namespace, observer: Observer):
        self.args = args
        self.observer = observer
        self.stop_asked = threading.Event()
        self.running: Pipeline | None = None

    def stop(self) -> None:
        self.stop_asked.set()
        pipeline = self.running
        if pipeline is not None:
            pipeline.stop()

    def reload(self) -> None:
        pipeline = self.running
        if pipeline is not None:
            pipeline.reload()

    def run(self, config: Config) -> RunResult:
        while True:
            pipeline = self.running = Pipeline(config, self.observer)
            if self.stop_asked.is_set():      # a stop that came between two pipelines
                pipeline.stop()
            result = pipeline.run(max_frames=self.args.frames)
            if result.reason is not StopReason.RELOAD or self.stop_asked.is_set():
                return result
            config = self._reloaded(config)

    def _reloaded(self, config: Config) -> Config:
        """The new config, or the running one when the new one is refused."""
        self.observer.reloading()
        try:
            config = load_rig_config(self.args)
        except UserError as exc:
            self.observer.status(f"reload refused, keeping the running config: {exc}")
        self.observer.reloaded()
        return config


def run(args: argparse.Namespace) -> int:
    from device.service.failsafe import install_excepthooks
    from device.service.logs import setup_logging
    from device.service.observer import ServiceObserver
    from device.service.signals import install_signal_handlers

    setup_logging(args.log_level)
    config = load_rig_config(args)
    observer = ServiceObserver()
    viewer = Viewer(args, observer)
    # Installed once, for the whole life of the viewer: a signal between two pipelines (during
    # a reload) must still stop it cleanly.
    restore_signals = install_signal_handlers(on_stop=viewer.stop, on_reload=viewer.reload)
    restore_hooks = install_excepthooks(viewer.stop)
    try:
        result = viewer.run(config)
    finally:
        restore_hooks()
        restore_signals()
        observer.stopping()           # whatever ended it: a stop, the frames, a fault
    print(result.report_or_raise().summary())
    return 0


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = subparsers.add_parser("run", help="the viewer: strobe, capture, colorize, display",
                              description=__doc__,
                              epilog="URIs, by config key and scheme:\n" + usage(),
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    add_rig_config_arguments(p)
    p.add_argument("--frames", type=int, default=None,
                   help="stop after this many color frames (default: run until stopped)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=run)
