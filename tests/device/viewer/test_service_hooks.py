"""`device run` as systemd runs it: SIGHUP reloads the config, SIGTERM ends it cleanly."""
import os
import signal
import subprocess
import sys
import time


def wait_for(proc, lines, text, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return
    raise AssertionError(f"never logged {text!r}:\n{''.join(lines)}")


def test_reload_then_stop(tmp_path, model_onnx):
    config = tmp_path / "nightcolor.toml"
    config.write_text(f'[camera]\nuri = "sim://"\nwidth = 64\nheight = 48\nfps = 60\n'
                      f'[engine]\nuri = "onnx://{model_onnx}"\n')
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    proc = subprocess.Popen([sys.executable, "-m", "device", "run", "--config", str(config)],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    try:
        wait_for(proc, lines, "first frame displayed")
        config.write_text(config.read_text().replace("width = 64", "width = 64\nzoom = 2"))
        proc.send_signal(signal.SIGHUP)               # a broken config: refused, old one kept
        wait_for(proc, lines, "reload refused, keeping the running config")
        wait_for(proc, lines, "configuration reloaded")
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + stderr
    assert "unknown key 'camera.zoom'" in "".join(lines)
    assert "color frames in" in stdout
