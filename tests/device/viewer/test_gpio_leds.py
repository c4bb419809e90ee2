"""`GpioLeds` (gpio://jetson, gpio://rpi) and the unit's pins-low helper against a recording
stand-in of Jetson.GPIO / RPi.GPIO (tests/device/viewer/gpio_standin.py says where each
behaviour comes from).

The stand-in is installed the way the real library is found: a `Jetson.GPIO` / `RPi.GPIO` entry
in `sys.modules` (or a package on PYTHONPATH for a child process), so the backend's own lazy
`import Jetson.GPIO as GPIO` runs. The same checks are run against deliberately broken
backends, which they must reject: they can fail.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from device.common.errors import UserError
from device.viewer.config import StrobeConfig, load_config
from device.viewer.leds import LEDS, GpioLeds, LedOptions
from device.viewer.strobe import Strobe


def _load_standin():
    path = Path(__file__).with_name("gpio_standin.py")
    spec = importlib.util.spec_from_file_location("gpio_standin", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


standin = _load_standin()
NIR = (718, 777, 807)
PINS = {718: 12, 777: 16, 807: 18}
TRIGGER = 22
URI = "gpio://jetson?pins=718:12,777:16,807:18&trigger=22"
LED_PINS = list(PINS.values())
ALL_PINS = LED_PINS + [TRIGGER]
EXPOSURE_S, PERIOD_S = 3e-3, 1 / 150


@pytest.fixture
def install_gpio(monkeypatch, fake_clock):
    """install_gpio(flavour, header=None, clock=None) -> the stand-in library, importable as
    Jetson.GPIO ("jetson") or RPi.GPIO ("rpi", "rpi-lgpio") until the test ends."""
    def install(flavour="jetson", header=None, clock=None):
        lib = standin.GpioLibrary(flavour, header or standin.Header(), clock or fake_clock)
        module = lib.module()
        package_name = module.__name__.split(".")[0]
        package = types.ModuleType(package_name)
        package.__path__ = []
        package.GPIO = module
        monkeypatch.setitem(sys.modules, package_name, package)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        return lib
    return install


def uri_for(flavour: str) -> str:
    return URI if flavour == "jetson" else URI.replace("jetson", "rpi")


def verify(lib) -> None:
    """Everything a GPIO bank must do, over one recording: BOARD numbering, every pin set up
    LOW as an output, one LED at a time, all LOW and released by cleanup() at the end."""
    standin.check_board_numbering(lib)
    standin.check_set_up_low_as_outputs(lib, ALL_PINS)
    standin.check_one_led_at_a_time(lib.header, LED_PINS)
    standin.check_cleaned_up_dark(lib, ALL_PINS)


def strobe_session(backend, lib, clock, clocked_camera, sync="trigger", wavelengths=NIR,
                   subframes=9):
    """Open `backend` as its factory would, strobe `subframes` sub-frames on the fake clock,
    close."""
    leds = backend("jetson" if lib.kind == "jetson" else "rpi", PINS, TRIGGER, NIR,
                   uri=uri_for(lib.flavour), sleep=clock.sleep)
    config = StrobeConfig(wavelengths=wavelengths, sync=sync)
    camera = clocked_camera(clock, EXPOSURE_S, PERIOD_S, sync, lambda: last_rise(lib, TRIGGER))
    strobe = Strobe(leds, camera, config, EXPOSURE_S, PERIOD_S, clock=clock, sleep=clock.sleep)
    try:
        subs = [strobe.next() for _ in range(subframes)]
    finally:
        try:
            strobe.close()
        finally:
            leds.close()
    return subs


def last_rise(lib, pin):
    """The camera's view of its trigger input: when the line last went HIGH."""
    rises = [h.t for h in lib.header.history if h.pin == pin and h.level == standin.HIGH]
    return rises[-1] if rises else None


# -- the backend doing its job --------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["jetson", "rpi"])
@pytest.mark.parametrize("sync", ["trigger", "frame"])
def test_strobing_through_gpio_lights_one_led_at_a_time_and_ends_clean(
        install_gpio, fake_clock, clocked_camera, flavour, sync):
    lib = install_gpio(flavour)
    subs = strobe_session(GpioLeds, lib, fake_clock, clocked_camera, sync=sync)
    assert [s.nm for s in subs] == list(NIR) * 3
    verify(lib)
    # Each LED pin went HIGH once per sub-frame, and the camera saw its exposure under it.
    highs = [h for h in lib.header.history if h.pin in LED_PINS and h.level == standin.HIGH]
    assert [h.pin for h in highs] == [PINS[nm] for nm in NIR] * 3
    if sync == "trigger":   # a 100 us pulse per exposure, timed on the injected clock
        rises = [h.t for h in lib.header.history if h.pin == TRIGGER and h.level == 1]
        falls = [h.t for h in lib.header.history if h.pin == TRIGGER and h.level == 0][1:]
        assert len(rises) == 9
        assert np.subtract(falls[:9], rises) == pytest.approx(100e-6, abs=1e-12)


def test_every_call_is_recorded_with_its_time_on_the_injected_clock(install_gpio, fake_clock,
                                                                    clocked_camera):
    lib = install_gpio("jetson")
    start = fake_clock()
    strobe_session(GpioLeds, lib, fake_clock, clocked_camera, subframes=3)
    assert lib.names()[:5] == ["setmode", "setup", "setup", "setup", "setup"]
    assert lib.calls[1].args == (12, standin.OUT) and lib.calls[1].kwargs == {"initial": 0}
    times = [c.t for c in lib.calls]
    assert times == sorted(times) and times[0] == start and times[-1] > start + 2 * PERIOD_S


def test_a_second_close_is_harmless_and_an_led_cannot_be_lit_after_it(install_gpio, caplog):
    lib = install_gpio("jetson")
    caplog.set_level("INFO", logger="device.viewer.leds")
    leds = LEDS.open(URI, LedOptions(NIR, PINS, TRIGGER))
    # The journal says which lines the viewer drives, for whoever checks the wiring.
    assert [r.getMessage() for r in caplog.records] == [
        "LEDs on jetson GPIO pins {718: 12, 777: 16, 807: 18}, trigger 22"]
    leds.set(777)
    leds.close()
    leds.close()
    assert lib.names().count("cleanup") == 1
    verify(lib)
    with pytest.raises(RuntimeError, match="Please set pin numbering mode"):
        leds.set(718)                    # the library refuses: the lines were released


def test_an_led_the_bank_lacks_is_refused_before_any_line_moves(install_gpio):
    lib = install_gpio("jetson")
    leds = GpioLeds("jetson", PINS, TRIGGER, NIR)
    leds.set(777)
    calls = len(lib.calls)
    with pytest.raises(ValueError, match="^no LED at 850 nm$"):
        leds.set(850)
    assert len(lib.calls) == calls and leds.lit == 777 and lib.header.levels[16] == standin.HIGH
    leds.close()
    verify(lib)


def test_a_bank_opened_without_its_uri_is_named_after_its_board(install_gpio):
    lib = install_gpio("rpi")
    with pytest.raises(UserError, match=r"^leds.uri gpio://rpi: board pin 1 \(the 777 nm LED\) "
                                        r"is not a GPIO pin on this board"):
        GpioLeds("rpi", {718: 12, 777: 1}, None, (718, 777))
    assert lib.names()[-1] == "cleanup" and not lib.directions


def test_the_trigger_pulse_and_close_drive_real_levels_the_libraries_accept(install_gpio):
    """Both libraries refuse a level that is not an integer (gpio_standin.py says where), so a
    bank that wrote one would fail on the device: every write here is HIGH or LOW."""
    for flavour in ("jetson", "rpi"):
        lib = install_gpio(flavour)
        leds = GpioLeds(lib.kind, PINS, TRIGGER, NIR, sleep=lambda s: None)
        leds.set(718)
        leds.pulse_trigger()
        leds.close()
        levels = [c.args[1] for c in lib.calls if c.name == "output"]
        assert levels and all(type(level) is int and level in (0, 1) for level in levels)
        # set up LOW, the pulse, close's LOW, released by cleanup()
        assert [h.level for h in lib.header.history if h.pin == TRIGGER] == \
            [standin.LOW, standin.HIGH, standin.LOW, standin.LOW, None]
        verify(lib)
        gpio = install_gpio(flavour).module()     # ...and the stand-in refuses one, as they do
        gpio.setmode(gpio.BOARD)
        gpio.setup(12, gpio.OUT, initial=gpio.LOW)
        for bad in (None, 0.0):
            with pytest.raises((TypeError, ValueError)):
                gpio.output(12, bad)
        gpio.output(12, True)                     # a bool is an integer to both


# -- cleanup on every exit path -------------------------------------------------------------------

def test_a_write_that_fails_while_closing_still_ends_in_cleanup(install_gpio):
    lib = install_gpio("jetson")
    leds = LEDS.open(URI, LedOptions(NIR, PINS, TRIGGER))
    leds.set(807)
    lib.failing_lines.add(18)            # the lit LED's line stops taking writes
    with pytest.raises(OSError, match="Setting line value"):
        leds.close()
    assert lib.names()[-1] == "cleanup" and not lib.directions and lib.mode is None


def gpio_config(tmp_path: Path, model_onnx: Path, flavour: str = "jetson") -> Path:
    path = tmp_path / "nightcolor.toml"
    path.write_text(textwrap.dedent(f"""
        [camera]
        uri = "sim://"
        width = 64
        height = 48
        fps = 150
        exposure_ms = 3.0
        timeout_s = 1.0
        [leds]
        uri = "{uri_for(flavour)}"
        [engine]
        uri = "onnx://{model_onnx}"
        [display]
        uri = "null://"
        """))
    return path


class TriggerWiredCamera:
    """The camera for a real-time run on the GPIO stand-in: its trigger input is the stand-in's
    trigger line, and each read() returns the frame exposed from the latest rising edge. The
    simulated camera cannot stand here: it is lit by the simulated LED bank only."""

    def __init__(self, lib, exposure_s: float, fail_after: int | None = None):
        self.lib, self.exposure_s, self.fail_after = lib, exposure_s, fail_after
        self.frames = 0
        self.shown = threading.Event()

    def read(self):
        from device.viewer.cameras import Frame

        if self.fail_after is not None and self.frames >= self.fail_after:
            raise RuntimeError(f"injected fault after {self.frames} frames")
        start = last_rise(self.lib, TRIGGER)
        if start is None:   # a wiring fault, not a lost camera: stop the viewer, do not reconnect
            raise RuntimeError(f"no pulse ever reached the trigger input (board pin {TRIGGER})")
        self.frames += 1
        if self.frames >= 12:
            self.shown.set()
        return Frame(np.full((48, 64), 1000, np.uint16), start, start + self.exposure_s)

    def close(self):
        pass


@pytest.mark.slow
def test_an_exception_inside_the_viewer_loop_ends_in_cleanup(install_gpio, monkeypatch,
                                                             tmp_path, model_onnx):
    from device.viewer import loop as pipeline_module

    lib = install_gpio("jetson", clock=time.monotonic)
    camera = TriggerWiredCamera(lib, 3e-3, fail_after=30)
    monkeypatch.setattr(pipeline_module, "open_camera", lambda config, leds: camera)
    config = load_config(gpio_config(tmp_path, model_onnx))
    with pytest.raises(RuntimeError, match="injected fault after 30 frames"):
        pipeline_module.Pipeline(config).run().report_or_raise()
    assert camera.frames == 30
    verify(lib)


@pytest.mark.slow
def test_sigterm_to_the_viewer_ends_in_cleanup(install_gpio, monkeypatch, tmp_path, model_onnx,
                                               capsys):
    # `device run` itself, in this process, with its real signal handlers: SIGTERM is what
    # `systemctl stop` sends.
    from device.commands import run as run_command
    from device.viewer import loop as pipeline_module
    from device.service import logs

    lib = install_gpio("jetson", clock=time.monotonic)
    camera = TriggerWiredCamera(lib, 3e-3)
    monkeypatch.setattr(pipeline_module, "open_camera", lambda config, leds: camera)
    monkeypatch.setattr(logs, "setup_logging", lambda *args, **kwargs: None)  # pytest's own
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    sent, finished = [], threading.Event()

    def stop_when_frames_flow():
        camera.shown.wait(60)
        if not finished.is_set():
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGTERM)

    # Whatever happens, no SIGTERM may reach pytest's default handler (it would end the run).
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    stopper = threading.Thread(target=stop_when_frames_flow, daemon=True)
    stopper.start()
    args = Namespace(config=gpio_config(tmp_path, model_onnx), rig=None, frames=None,
                     log_level="info")
    try:
        assert run_command.run(args) == 0
    finally:
        finished.set()
        camera.shown.set()
        stopper.join()
        signal.signal(signal.SIGTERM, previous)
    assert sent, "no frames flowed"
    verify(lib)
    assert "color frames in" in capsys.readouterr().out
    assert next(c.t for c in lib.calls if c.name == "cleanup") > sent[0]


def test_a_camera_that_cannot_open_after_the_leds_did_still_ends_in_cleanup(install_gpio,
                                                                           tmp_path,
                                                                           model_onnx):
    # The real path, no stand-in camera: `sim://` is lit by the simulated bank only, so the rig
    # refuses it after the GPIO bank is already open (what `device calibrate` opens).
    from device.procedures.calibration import Rig

    lib = install_gpio("jetson", clock=time.monotonic)
    config = load_config(gpio_config(tmp_path, model_onnx))
    with pytest.raises(UserError, match="needs the simulated LEDs"):
        Rig(config)
    verify(lib)


# -- a pin that is missing or busy, a library that will not load: one sentence ----------------

def test_a_pin_that_is_not_a_gpio_is_named_in_one_sentence(install_gpio):
    lib = install_gpio("jetson")
    uri = "gpio://jetson?pins=718:12,777:1,807:18"
    with pytest.raises(UserError) as caught:
        LEDS.open(uri, LedOptions(NIR, {718: 12, 777: 1, 807: 18}, None))
    message = str(caught.value)
    assert message.startswith(f"leds.uri {uri}: board pin 1 (the 777 nm LED) is not a GPIO pin")
    assert "Channel 1 is invalid" in message and message.count(". ") == 0
    assert lib.names()[-1] == "cleanup" and not lib.directions   # pin 12 released again


@pytest.mark.parametrize("flavour, library_says", [
    ("jetson", "Device or resource busy"), ("rpi-lgpio", "GPIO busy")])
@pytest.mark.parametrize("pin, role", [(16, "the 777 nm LED"), (TRIGGER, "the camera trigger")])
def test_a_pin_another_program_holds_is_named_in_one_sentence(install_gpio, flavour,
                                                              library_says, pin, role):
    lib = install_gpio(flavour, header=standin.Header(held_elsewhere={pin}))
    with pytest.raises(UserError) as caught:
        LEDS.open(uri_for(flavour), LedOptions(NIR, PINS, TRIGGER))
    message = str(caught.value)
    assert message.startswith(f"leds.uri {uri_for(flavour)}: board pin {pin} ({role}) is busy")
    assert library_says in message and "\n" not in message
    assert lib.names()[-1] == "cleanup" and not lib.directions


def test_classic_rpi_gpio_shares_a_busy_pin_with_a_warning_naming_it(install_gpio, caplog):
    lib = install_gpio("rpi", header=standin.Header(held_elsewhere={16}))
    leds = LEDS.open(uri_for("rpi"), LedOptions(NIR, PINS, TRIGGER))
    leds.close()
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == \
        [f"leds.uri {uri_for('rpi')}: board pin 16 (the 777 nm LED): {standin.IN_USE}"]
    verify(lib)


def test_a_gpio_library_that_refuses_this_machine_is_one_sentence(monkeypatch, tmp_path):
    # What Jetson.GPIO does on a machine that is not a Jetson: it raises while being imported.
    package = tmp_path / "site" / "Jetson" / "GPIO"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text("raise Exception('Could not determine Jetson model')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in ("Jetson", "Jetson.GPIO"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    with pytest.raises(UserError, match=r"^leds.uri gpio://jetson\?pins=718:12,777:16,807:18"
                                        r"&trigger=22: Jetson.GPIO cannot drive this machine's "
                                        r"GPIO \(Could not determine Jetson model\)\.$"):
        LEDS.open(URI, LedOptions(NIR, PINS, TRIGGER))


# -- the unit's ExecStopPost helper ---------------------------------------------------------------

def failsafe_config(tmp_path: Path, flavour: str = "jetson") -> Path:
    path = tmp_path / "nightcolor.toml"
    path.write_text(f'[leds]\nuri = "{uri_for(flavour)}"\n')
    return path


@pytest.mark.parametrize("flavour", ["jetson", "rpi"])
def test_the_pins_low_helper_darkens_a_pin_a_killed_viewer_left_high(install_gpio, tmp_path,
                                                                     flavour):
    from device.service import failsafe

    # The viewer was SIGKILLed with the 777 nm LED lit: its line kept the level.
    header = standin.Header(levels={16: standin.HIGH})
    lib = install_gpio(flavour, header=header)
    assert failsafe.main(["--config", str(failsafe_config(tmp_path, flavour))]) == 0
    standin.check_board_numbering(lib)
    standin.check_set_up_low_as_outputs(lib, ALL_PINS)
    standin.check_cleaned_up_dark(lib, ALL_PINS)
    assert not [c for c in lib.calls if c.name == "output" and c.args[1] == standin.HIGH]


def test_the_pins_low_helper_says_which_pin_is_busy_and_exits_2(install_gpio, tmp_path, capsys):
    from device.service import failsafe

    install_gpio("jetson", header=standin.Header(held_elsewhere={18}))
    assert failsafe.main(["--config", str(failsafe_config(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"failsafe: error: leds.uri {URI}: board pin 18 (the 807 nm LED) is busy")
    assert err.count("\n") == 1 and "Traceback" not in err


STANDIN_PACKAGE = '''\
"""Jetson.GPIO for a child process: the recording stand-in, on the header saved in a file."""
import atexit, importlib.util, os, sys, time
spec = importlib.util.spec_from_file_location("gpio_standin", os.environ["GPIO_STANDIN"])
standin = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = standin
spec.loader.exec_module(standin)
_path = os.environ["GPIO_STANDIN_HEADER"]
with open(_path) as f:
    _lib = standin.GpioLibrary("jetson", standin.Header.from_json(f.read()), time.monotonic)
globals().update({k: v for k, v in vars(_lib.module()).items() if not k.startswith("__")})


@atexit.register
def _save():
    with open(_path, "w") as f:
        f.write(_lib.header.to_json())
    with open(_path + ".calls", "w") as f:
        f.write("\\n".join(c.name for c in _lib.calls))
'''


@pytest.mark.slow
def test_python_m_failsafe_as_execstoppost_runs_it(tmp_path):
    # The unit's own command line, in a fresh process that imports Jetson.GPIO as on the device.
    package = tmp_path / "site" / "Jetson" / "GPIO"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text(STANDIN_PACKAGE)
    header_file = tmp_path / "header.json"
    header_file.write_text(standin.Header(levels={12: standin.HIGH, 22: standin.HIGH}).to_json())
    repo = Path(__file__).resolve().parents[3]
    env = dict(os.environ, GPIO_STANDIN=str(Path(__file__).with_name("gpio_standin.py")),
               GPIO_STANDIN_HEADER=str(header_file),
               PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(repo)]))
    done = subprocess.run([sys.executable, "-m", "device.service.failsafe", "--config",
                           str(failsafe_config(tmp_path))], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    header = standin.Header.from_json(header_file.read_text())
    calls = Path(str(header_file) + ".calls").read_text().split("\n")
    assert calls[0] == "setmode" and calls[-1] == "cleanup"
    last = {}
    for h in header.history:
        if h.level is not None:
            last[h.pin] = h.level
    assert {pin: last[pin] for pin in ALL_PINS} == {pin: standin.LOW for pin in ALL_PINS}
    assert all(header.levels[pin] is None for pin in ALL_PINS)      # released


# -- the checks can fail: the same session on deliberately broken backends ---------------------

class OnBeforeOff(GpioLeds):
    """Lights the next LED, then switches the previous one off: two lit at once."""

    def set(self, nm):
        with self._lock:
            if nm is not None and nm != self.lit:
                self._write(nm, True)
            if self.lit is not None and self.lit != nm:
                self._write(self.lit, False)
            self.lit = nm


class OnAgain(GpioLeds):
    """Forgets what it lit: asked for the lit LED again, it turns it on again."""

    def set(self, nm):
        with self._lock:
            if self.lit is not None and self.lit != nm:
                self._write(self.lit, False)
            if nm is not None:
                self._write(nm, True)
            self.lit = nm


class NoCleanup(GpioLeds):
    """Switches off but never releases the lines."""

    def close(self):
        self.off()


class NoInitialLow(GpioLeds):
    """Sets its outputs up without `initial`: on Jetson.GPIO's gpio-cdev they start HIGH."""

    def _setup_low(self, pin, role):
        self._gpio.setup(pin, self._gpio.OUT)


@pytest.mark.parametrize("backend, sync, wavelengths, caught", [
    (OnBeforeOff, "frame", NIR, "switched on .* while"),      # the LED is held between phases
    (OnAgain, "frame", (777,), "switched on .* while"),       # calibration: one LED, held
    (NoCleanup, "trigger", NIR, "not cleanup"),
    (NoInitialLow, "trigger", NIR, "initial=None, not LOW"),
])
def test_the_checks_reject_a_broken_backend(install_gpio, fake_clock, clocked_camera, backend,
                                            sync, wavelengths, caught):
    lib = install_gpio("jetson")
    strobe_session(backend, lib, fake_clock, clocked_camera, sync=sync, wavelengths=wavelengths)
    with pytest.raises(AssertionError, match=caught):
        verify(lib)
    # ...while the real backend passes the very same session.
    good = install_gpio("jetson")
    strobe_session(GpioLeds, good, fake_clock, clocked_camera, sync=sync, wavelengths=wavelengths)
    verify(good)


class CleanupOnlyWhenAllGoesWell(GpioLeds):
    """Cleans up at the end of close(), not in a `finally`: a failed write skips it."""

    def close(self):
        self.off()
        for pin in self._outputs:
            self._gpio.output(pin, self._gpio.LOW)
        self._gpio.cleanup()


@pytest.mark.parametrize("backend, cleaned", [(GpioLeds, True),
                                              (CleanupOnlyWhenAllGoesWell, False)])
def test_the_failed_write_path_tells_a_finally_from_a_hope(install_gpio, backend, cleaned):
    lib = install_gpio("jetson")
    leds = backend("jetson", PINS, TRIGGER, NIR, uri=URI)
    leds.set(807)
    lib.failing_lines.add(18)
    with pytest.raises(OSError):
        leds.close()
    assert (lib.names()[-1] == "cleanup") is cleaned
