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
    assert "turning the LEDs off failed" in caplog.text


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
    error = RuntimeError("x")
    sys.excepthook(RuntimeError, error, None)
    threading.excepthook("thread args")
    assert order == ["off", ("sys", (RuntimeError, error, None)), "off", ("thread", "thread args")]
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
    err = capsys.readouterr().err
    assert "leds.uri 'sim://'" in err and "nothing to switch off" in err and len(err.splitlines()) == 1
    assert failsafe.main(["--config", str(tmp_path / "nope.toml")]) == 2
    assert capsys.readouterr().err.strip() == \
        f"failsafe: error: {tmp_path / 'nope.toml'}: config file not found."
    with pytest.raises(SystemExit) as usage:
        failsafe.main([])
    assert usage.value.code == 2 and "--config" in capsys.readouterr().err
