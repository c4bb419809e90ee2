"""Real signals to this process, and a real unhandled exception in a child interpreter."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from device.service.failsafe import install_excepthooks, lights_out
from device.service.signals import install_signal_handlers


def deliver(sig) -> None:
    os.kill(os.getpid(), sig)
    time.sleep(0.01)  # handlers run at the next bytecode boundary of the main thread


def test_term_and_int_stop_hup_reloads_and_restore_puts_back_the_old_handlers():
    calls = []
    before = signal.getsignal(signal.SIGTERM)
    restore = install_signal_handlers(lambda: calls.append("stop"), lambda: calls.append("reload"))
    try:
        deliver(signal.SIGHUP)
        deliver(signal.SIGTERM)
        deliver(signal.SIGINT)
    finally:
        restore()
    assert calls == ["reload", "stop", "stop"]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_unhandled_exception_in_a_worker_thread_turns_leds_off_first():
    events = []
    original = threading.excepthook
    restore = install_excepthooks(lambda: events.append("off"))
    try:
        worker = threading.Thread(target=lambda: 1 / 0)
        worker.start()
        worker.join()
    finally:
        restore()
    assert events == ["off"]
    assert threading.excepthook is original


def test_lights_out_survives_a_failing_backend(caplog):
    def broken():
        raise OSError("gpiochip0 went away")

    assert lights_out(broken) is False
    [record] = caplog.records                # the journal gets the failure and its traceback
    assert record.levelname == "ERROR" and record.getMessage() == "turning the LEDs off failed"
    assert record.exc_info[0] is OSError and "gpiochip0 went away" in caplog.text


def test_lights_out_says_when_the_switch_worked(caplog):
    calls = []
    assert lights_out(lambda: calls.append("off")) is True
    assert calls == ["off"] and not caplog.records


def test_unhandled_exception_in_main_turns_leds_off_before_the_traceback():
    script = textwrap.dedent("""
        import sys
        from device.service.failsafe import install_excepthooks
        install_excepthooks(lambda: print("LEDS OFF", file=sys.stderr, flush=True))
        raise RuntimeError("engine exploded")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert "LEDS OFF" in proc.stderr and "RuntimeError: engine exploded" in proc.stderr
    assert proc.stderr.index("LEDS OFF") < proc.stderr.index("Traceback")


def run_failsafe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "device.service.failsafe", *args],
                          capture_output=True, text=True, timeout=60)


def test_stop_post_failsafe_opens_the_configured_bank_and_switches_it_off(tmp_path):
    config = tmp_path / "nightcolor.toml"
    config.write_text('[leds]\nuri = "sim://"\n[engine]\nuri = "onnx://absent.onnx"\n')
    done = run_failsafe("--config", str(config))     # the model is not needed to switch off
    assert done.returncode == 0, done.stderr
    missing = run_failsafe("--config", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"failsafe: error: {tmp_path / 'nope.toml'}: config file not found."


def test_hooks_switch_off_then_hand_over_to_the_previous_hooks(monkeypatch):
    """In this process (where coverage and mutation testing see it): the installed hooks call
    the LED switch first, then the hooks that were there, with the same arguments; restore()
    puts both back."""
    order = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: order.append(("sys", a)))
    monkeypatch.setattr(threading, "excepthook", lambda a: order.append(("thread", a)))
    before = (sys.excepthook, threading.excepthook)
    restore = install_excepthooks(lambda: order.append("off"))
    try:
        raise RuntimeError("x")
    except RuntimeError as raised:     # a real traceback: the report must still show the stack
        error, tb = raised, raised.__traceback__
    sys.excepthook(RuntimeError, error, tb)
    threading.excepthook("thread args")
    assert order == ["off", ("sys", (RuntimeError, error, tb)), "off", ("thread", "thread args")]
    restore()
    assert (sys.excepthook, threading.excepthook) == before


def test_stop_post_failsafe_in_process_passes_over_a_sim_bank_and_refuses_a_bad_config(
        tmp_path, capsys):
    """A `sim://` bank drove no line (it died with the viewer): exit 0, saying so in one line.
    The real banks are switched off by the same entry point in test_gpio_leds.py."""
    from device.service import failsafe

    config = tmp_path / "nightcolor.toml"
    config.write_text('[leds]\nuri = "sim://"\n[engine]\nuri = "onnx://absent.onnx"\n')
    assert failsafe.main(["--config", str(config)]) == 0
    assert capsys.readouterr().err == ("failsafe: leds.uri 'sim://' is no LED hardware this "
                                       "program drives (gpio://); nothing to switch off.\n")
    assert failsafe.main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"failsafe: error: {tmp_path / 'nope.toml'}: config file not found."
    with pytest.raises(SystemExit) as usage:
        failsafe.main([])
    err = capsys.readouterr().err      # the journal names the command the unit runs
    assert usage.value.code == 2 and err.startswith("usage: python -m device.service.failsafe ")
    assert "python -m device.service.failsafe: error: the following arguments are required: " \
        "--config" in err


def test_stop_post_failsafe_in_process_checks_uris_for_form_only(tmp_path, capsys):
    """The unit's process knows only the real schemes (test_backends.py runs it so). In this
    process, where every scheme is registered, schemes nobody registers stand for the ones it
    lacks: a camera URI it has no backend for cannot stop it (it switches LEDs off, it opens
    no camera), and a bank it has no backend for, as `sim://` is there, had nothing lit by
    this program: exit 0, in one line naming the hardware it drives."""
    from device.service import failsafe

    config = tmp_path / "nightcolor.toml"
    config.write_text('[camera]\nuri = "usb://0"\n[leds]\nuri = "ir://bank"\n')
    assert failsafe.main(["--config", str(config)]) == 0
    assert capsys.readouterr().err == ("failsafe: leds.uri 'ir://bank' is no LED hardware this "
                                       "program drives (gpio://); nothing to switch off.\n")
