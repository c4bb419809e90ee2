"""`device selftest` on the simulated rig: the healthy rig passes every step; each injected
fault fails at its own step and only there, with a line that names the fix; no run leaves an
LED on (the simulated bank's edge record, NIGHTCOLOR_SIM_LED_RECORD, written as the lines
move, so it holds even for a run that is killed)."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from device.cli import main
from device.commands.selftest import report_path
from device.procedures.selftest import STEPS
from device.procedures.selftest.camera_steps import DARK_FRAMES, RATE_FRAMES
from device.procedures.selftest.led_steps import ALONE_FRAMES
from device.simulated.faults import FAULTS
from device.simulated.presets import ASSETS, sim_config
from device.simulated.sim_leds import EDGE_RECORD_ENV
from device.viewer.run_status import StatusBoard
from device.viewer.status_page import page

# The line each fault must fail with (`device selftest --rig sim --fault NAME`, the built-in
# 128x96 simulated rig), and a word of its fix naming what to change.
FAILS = {
    "swapped-pins": (r"step 3/9 FAIL: each LED lit alone, in the configured order: the frame "
                     r"lit for 718 nm looks like the 777 nm LED's, and the frame lit for 777 nm "
                     r"looks like the 718 nm LED's \(", "swap their wires"),
    "dead-led": (r"step 3/9 FAIL: each LED lit alone, in the configured order: the frame lit "
                 r"for 807 nm is no brighter than dark \([+-]\d+\.\d codes; a lit LED gives at "
                 r"least \d+\.\d\)$", "the 807 nm LED does not light"),
    "no-trigger": (r"step 5/9 FAIL: frames on trigger pulses, none without: no frame came on a "
                   r"trigger pulse \(0 of 1; none without a pulse either\)$",
                   "check the wire from the trigger line"),
    "rolling-shutter": (r"step 4/9 FAIL: every row of a sub-frame lit by its LED alone: \d+ of "
                        r"96 rows of the \d+ nm sub-frames are off by up to \d+% from a frame "
                        r"lit throughout \(at most 5%\): their light starts or stops while rows "
                        r"still expose", "camera.shutter = \"rolling\""),
    "clipping": (r"step 6/9 FAIL: no clipping at the configured exposure: \d+\.\d% of the "
                 r"pixels of the 718 nm frame reach full scale \(4095\) on white paper \(at "
                 r"most 0\.1%\)$", "lower camera.exposure_ms (8) or camera.gain (4.56)"),
    "engine": (r"step 8/9 FAIL: the engine agrees with the ONNX reference: onnxruntime "
               r"\(CPUExecutionProvider, edge.viewer.fp16.onnx\), output perturbed by 8 codes "
               r"rms \(sim://\) gives \d+\.\d dB PSNR against edge.viewer.onnx \(FP32, "
               r"onnxruntime\) on the triplet just captured, under the 40 dB convert requires$",
               "delete the engine file"),
}


def rig_file(tmp_path: Path, camera: str, model: str = "edge.onnx", more: str = "",
             display: str = "null://") -> Path:
    """A simulated rig's config: 96x64 at 30 fps, `camera` lines added to [camera]; the
    strobe's margin as the ready-made sim config's (a loaded machine holds threads up)."""
    path = tmp_path / "rig.toml"
    path.write_text(f'[camera]\n{camera}\nwidth = 96\nheight = 64\nfps = 30.0\n'
                    f'[leds]\nuri = "sim://"\n[strobe]\nmargin_ms = 5.0\n'
                    f'[engine]\nuri = "onnx://{ASSETS / model}"\n'
                    f'{more}[display]\nuri = "{display}"\n')
    return path


def lines_left_high(record: Path) -> list[str]:
    """LED lines whose last recorded edge is high."""
    last = {}
    for line in record.read_text().splitlines():
        _, name, level = line.split()
        last[name] = level == "1"
    return sorted(name for name, high in last.items() if high)


def selftest(tmp_path, monkeypatch, capsys, *args: str) -> tuple[int, list[str], dict]:
    record = tmp_path / "edges.txt"
    monkeypatch.setenv(EDGE_RECORD_ENV, str(record))
    rc = main(["selftest", "--out", str(tmp_path), *args])
    lines = capsys.readouterr().out.splitlines()
    assert record.read_text().strip(), "the LEDs were driven"
    assert lines_left_high(record) == [], "an LED was left on"
    report = json.loads((tmp_path / "selftest.json").read_text())
    sheet = cv2.imread(str(tmp_path / "selftest.png"))
    assert sheet is not None and sheet.shape[1] > 4 * 200      # a tile per LED and the dark
    return rc, lines, report


@pytest.mark.slow
def test_the_healthy_simulated_rig_passes_every_step(tmp_path, monkeypatch, capsys):
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, "--rig", "sim")
    assert rc == 0 and lines[-3] == "selftest passed (9 steps)", "\n".join(lines)
    assert [s["passed"] for s in report["steps"]] == [True] * 9
    assert report["passed"] is True and report["failed_steps"] == []
    steps = {s["name"]: s["measured"] for s in report["steps"]}
    # Triggered: each frame spans its exposure (a global shutter), within a 30 fps period.
    assert steps["camera"]["frame_ms"] == pytest.approx(8.0, abs=0.01)
    assert steps["camera"]["period_ms"] == pytest.approx(1000 / 30, abs=1e-3)   # as written
    assert steps["leds"]["measured_ratio"] == pytest.approx(steps["leds"]["expected_ratio"],
                                                            abs=0.02)
    assert steps["engine"]["psnr_db"] >= steps["engine"]["min_psnr_db"] == 40.0
    assert steps["failsafe"]["guard_fired"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_fails_at_its_own_step_and_only_there(fault, tmp_path, monkeypatch, capsys):
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, "--rig", "sim",
                                 "--fault", fault)
    expected_step = FAULTS[fault].step
    assert rc == 1 and report["failed_steps"] == [expected_step], "\n".join(lines)
    failed = [i for i, line in enumerate(lines) if " FAIL: " in line]
    assert len(failed) == 1
    line, fix = lines[failed[0]], lines[failed[0] + 1]
    pattern, fix_words = FAILS[fault]
    assert re.match(pattern, line), line
    assert fix.startswith("  fix: ") and fix_words in fix, fix
    assert lines[-3] == f"selftest FAILED at step {expected_step}"
    # The steps that could not run without what failed are skipped, never failed or passed.
    skipped = {s["step"] for s in report["steps"] if s["passed"] is None}
    assert skipped == ({1, 2, 3, 4, 6, 8} if fault == "no-trigger" else set())


@pytest.mark.slow
def test_a_free_running_rig_from_a_config_file_runs_its_execstoppost(tmp_path, monkeypatch,
                                                                     capsys):
    """flash-window timing on a simulated IMX219 (step 5 has nothing to check), and the
    unit's ExecStopPost fail-safe run from a fresh process on the config file."""
    config = rig_file(tmp_path, 'uri = "sim://"\nprofile = "imx219"\nexposure_ms = 4.0')
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, "--config", str(config))
    assert rc == 0, "\n".join(lines)
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["trigger"]["passed"] is None and "flash-window" in steps["trigger"]["found"]
    assert steps["failsafe"]["measured"]["execstoppost_exit"] == 0
    assert "nothing to switch off" in steps["failsafe"]["found"]
    assert report["rig"]["sync"] == "flash-window"


@pytest.mark.slow
def test_an_interrupted_selftest_leaves_every_led_off_and_no_report(tmp_path):
    record = tmp_path / "edges.txt"
    env = dict(os.environ, **{EDGE_RECORD_ENV: str(record)})
    run = subprocess.Popen([sys.executable, "-m", "device", "selftest", "--rig", "sim",
                            "--out", str(tmp_path)], stdout=subprocess.PIPE, text=True,
                           env=env)
    assert run.stdout is not None
    for line in run.stdout:                 # step 3 strobes each LED: stop it there
        if line.startswith("step 2/9"):
            break
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:      # the moment an LED is on (its line's last edge)
        if record.exists() and lines_left_high(record):
            break
        time.sleep(0.0005)
    lit_when_stopped = lines_left_high(record)
    run.send_signal(signal.SIGTERM)
    assert run.wait(timeout=60) == 130
    assert lit_when_stopped, "the signal came while an LED was lit"
    assert lines_left_high(record) == []
    assert not (tmp_path / "selftest.json").exists()


def test_the_report_goes_where_the_http_display_reads_it(tmp_path):
    assert report_path(sim_config(tmp_path)) == tmp_path.resolve() / "selftest.json"
    shown = sim_config(tmp_path, display="http://127.0.0.1:8080?selftest=st/last.json")
    assert report_path(shown) == tmp_path.resolve() / "st" / "last.json"


def test_the_status_page_colours_each_step(tmp_path):
    from device.procedures.selftest.report import Finding, Report, StepResult

    report = Report({"config": "sim"})
    report.steps = [StepResult(1, 9, "camera", STEPS[0].title, Finding(True, "ok", {"fps": 30.0})),
                    StepResult(3, 9, "leds", STEPS[2].title,
                               Finding(False, "the frame lit for 807 nm is dark", {},
                                       "check board pin 35"))]
    report.write(tmp_path / "selftest.json")
    html = page(StatusBoard(tmp_path / "selftest.json").snapshot({}), "")
    assert html.count('<td class="good">yes</td>') == 1
    assert html.count('<td class="bad">no</td>') == 2           # the step and the report's own
    assert "check board pin 35" in html and "fps 30.0" in html


@pytest.mark.slow
def test_after_calibration_the_leds_are_told_apart_by_the_calibrations_whites(
        tmp_path, monkeypatch, capsys):
    config = ["--config", str(rig_file(tmp_path, 'uri = "sim://"', "edge.viewer.fp16.onnx",
                                       '[preprocess]\ncalibration = "calibration.npz"\n'))]
    assert main(["calibrate", *config, "--yes", "--frames", "2"]) == 0
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, *config)
    leds = report["steps"][2]
    assert rc == 0 and leds["measured"]["reference"] == "the calibration's whites " \
                                                       "(calibration.npz)", "\n".join(lines)
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, *config, "--rig", "sim",
                                 "--fault", "swapped-pins")
    assert rc == 1 and report["failed_steps"] == [3]
    assert "against the calibration's whites (calibration.npz)" in report["steps"][2]["found"]


def test_what_cannot_be_done_is_refused_before_any_led_lights(tmp_path, capsys):
    assert main(["selftest", "--rig", "sim", "--out", str(tmp_path / "missing")]) == 2
    assert main(["selftest", "--config", str(tmp_path / "none.toml")]) == 2
    (tmp_path / "real.toml").write_text(f'[camera]\nuri = "v4l2:///dev/video0"\n[engine]\n'
                                        f'uri = "onnx://{ASSETS / "edge.onnx"}"\n')
    assert main(["selftest", "--config", str(tmp_path / "real.toml"), "--fault", "dead-led"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        f"device: error: {tmp_path / 'missing'} (the report's folder) does not exist: create "
        f"it, or give another.",
        f"device: error: {tmp_path / 'none.toml'}: config file not found.",
        "device: error: --fault injects faults into the simulated rig: add --rig sim (or use "
        "sim:// camera and LEDs)."]
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.slow
def test_a_step_that_breaks_fails_and_the_leds_still_end_low(tmp_path, monkeypatch, capsys):
    # The simulated camera raises inside step 3's strobe, with an LED lit: steps 1 and 2 take
    # 6 + 4 frames and step 3 nine, so its 19th frame is step 3's last. A strobe held up by a
    # loaded machine takes an exposure again (one more frame), which moves frame 19 earlier,
    # still inside step 3 for up to eight retakes (an earlier frame, e.g. the 13th, would fall
    # in step 2 after three).
    last = RATE_FRAMES + DARK_FRAMES + 3 * ALONE_FRAMES - 1      # 18 frames before it
    config = rig_file(tmp_path, f'uri = "sim://?fail_after={last}"')
    rc, lines, report = selftest(tmp_path, monkeypatch, capsys, "--config", str(config))
    leds = report["steps"][2]
    assert rc == 1 and leds["passed"] is False, "\n".join(lines)
    assert leds["found"] == f"stopped on RuntimeError: injected fault after {last} frames " \
                            "(camera.uri fail_after)"
    assert report["steps"][6]["passed"] is True        # the fail-safe, after it


def _gpio_tests():
    """tests/device/viewer/test_gpio_leds.py: its GPIO stand-in and the package that puts it
    in a child process as Jetson.GPIO."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "viewer" / "test_gpio_leds.py"
    spec = importlib.util.spec_from_file_location("gpio_tests_for_selftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("busy", [False, True])
def test_step_7_runs_the_units_execstoppost_on_gpio_pins(tmp_path, monkeypatch, busy):
    """On a gpio:// bank (Jetson.GPIO's stand-in, in the fresh process as on the device) the
    fail-safe drives every pin low and exits 0; a pin another program holds fails the step
    with the fail-safe's own sentence."""
    from device.commands._selftest_engine import execstoppost_check

    gpio = _gpio_tests()
    package = tmp_path / "site" / "Jetson" / "GPIO"
    package.mkdir(parents=True)
    (package.parent / "__init__.py").write_text("")
    (package / "__init__.py").write_text(gpio.STANDIN_PACKAGE)
    header = tmp_path / "header.json"
    held = {18} if busy else set()
    header.write_text(gpio.standin.Header(levels={16: gpio.standin.HIGH},
                                          held_elsewhere=held).to_json())
    repo = Path(__file__).resolve().parents[3]
    monkeypatch.setenv("GPIO_STANDIN", str(repo / "tests/device/viewer/gpio_standin.py"))
    monkeypatch.setenv("GPIO_STANDIN_HEADER", str(header))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), str(repo)]))
    finding = execstoppost_check(gpio.failsafe_config(tmp_path), replaced=False)()
    if busy:
        assert finding.passed is False and finding.measured == {"execstoppost_exit": 2}
        assert "board pin 18 (the 807 nm LED) is busy" in finding.summary
        assert "ExecStopPost" in finding.fix
        return
    assert finding.passed is True and finding.summary == "the ExecStopPost fail-safe exited 0"
    levels = gpio.standin.Header.from_json(header.read_text())
    last = {h.pin: h.level for h in levels.history if h.level is not None}
    assert {pin: last[pin] for pin in gpio.ALL_PINS} == {pin: 0 for pin in gpio.ALL_PINS}


def test_step_7_fails_when_the_guard_leaves_the_led_on(tmp_path, monkeypatch):
    """A guard thread that never switches off (as one starved of the CPU): the step says so,
    and the LED still ends low (the step's own off)."""
    from device.procedures.selftest import safety_steps
    from device.procedures.selftest.evidence import Evidence
    from device.procedures.selftest.session import RigSession
    from device.viewer.strobe import LedDeadlineGuard

    class Starved(LedDeadlineGuard):
        def _watch(self):          # the guard's thread never gets to run
            return

    monkeypatch.setattr(safety_steps, "LedDeadlineGuard", Starved)
    monkeypatch.setattr(safety_steps, "FAILSAFE_LATE_MAX_S", 0.05)
    config = sim_config(tmp_path, width=32, height=24)
    ev = Evidence(config, 4095.0, "test")
    ev.session = RigSession(config)
    leds = ev.session.leds
    finding = safety_steps.check_failsafe(ev)
    assert finding.passed is False and finding.measured["guard_fired"] == 0
    assert finding.summary.startswith("the strobe's fail-safe left the 718 nm LED on 0.05 s past "
                                      "its deadline")
    assert "strobe.realtime" in finding.fix
    assert ev.session is None and leds.high_lines() == []


@pytest.mark.slow
def test_a_camera_and_a_display_that_do_not_open_fail_steps_1_and_9(tmp_path, monkeypatch,
                                                                     capsys):
    config = rig_file(tmp_path, 'uri = "v4l2:///dev/video99"',
                      display=f"file://{tmp_path}/missing/out.mp4")
    monkeypatch.setenv(EDGE_RECORD_ENV, str(tmp_path / "edges.txt"))
    assert main(["selftest", "--config", str(config), "--out", str(tmp_path)]) == 1
    report = json.loads((tmp_path / "selftest.json").read_text())
    assert report["failed_steps"] == [1, 9]
    steps = report["steps"]
    assert steps[0]["found"] == "the camera did not open: cannot open camera v4l2:///dev/video99"
    assert "camera.uri 'v4l2:///dev/video99'" in steps[0]["fix"]
    assert [s["passed"] for s in steps[1:6]] == [None] * 5 and steps[7]["passed"] is None
    assert steps[6]["passed"] is True and "the strobe's guard not tried" in steps[6]["found"]
    assert steps[8]["found"].startswith(f"display.uri 'file://{tmp_path}/missing/out.mp4' did "
                                        f"not open: ")
    assert lines_left_high(tmp_path / "edges.txt") == []


@pytest.mark.parametrize("span_ms, passed", [(8.0, True), (40.0, False)])
def test_step_1_holds_a_triggered_frame_to_one_period_of_camera_fps(tmp_path, span_ms, passed):
    """Triggered frames 50 ms apart (the strobe's pace on a slow machine): the rate reached
    does not count; a frame spanning 40 ms, longer than a 33.3 ms period at 30 fps, does."""
    import numpy as np

    from device.procedures.selftest.camera_steps import _mode_and_rate
    from device.procedures.selftest.evidence import Evidence
    from device.viewer.strobe import SubFrame

    config = sim_config(tmp_path, width=32, height=24, fps=30.0)
    image = np.zeros((24, 32), np.uint16)
    frames = [SubFrame(None, image, 0.05 * i, 0.05 * i + span_ms / 1e3, i) for i in range(6)]
    finding = _mode_and_rate(Evidence(config, 4095.0, "test"), frames, triggered=True)
    assert finding.passed is passed
    assert finding.measured["fps"] == pytest.approx(20.0)
    assert finding.measured["frame_ms"] == pytest.approx(span_ms)
    word = "within" if passed else "longer than"
    assert f"each {span_ms:.1f} ms from its first row's start to its last row's end, {word} " \
           f"the 33.3 ms period of camera.fps 30" in finding.summary
    assert passed or "lower camera.exposure_ms (8)" in finding.fix


@pytest.mark.slow
def test_the_report_shows_on_the_http_display_of_the_same_config(tmp_path, monkeypatch, capsys):
    """`device selftest` on a config whose display is http:// (step 9 opens it); then the
    display that `device run` opens from that config serves the report on its page."""
    import importlib.util

    from device.viewer.config import load_config
    from device.viewer.rig import open_display

    path = Path(__file__).resolve().parents[1] / "viewer" / "http_client.py"
    spec = importlib.util.spec_from_file_location("http_client_for_selftest", path)
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    base = f"http://127.0.0.1:{client.free_port()}"
    config = rig_file(tmp_path, 'uri = "sim://"', "edge.viewer.fp16.onnx", display=base)
    record = tmp_path / "edges.txt"
    monkeypatch.setenv(EDGE_RECORD_ENV, str(record))
    assert main(["selftest", "--config", str(config), "--rig", "sim", "--fault", "dead-led",
                 "--out", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"step 9/9 pass: the display opens: display.uri '{base}' opened and showed a " \
           f"frame" in lines
    assert lines_left_high(record) == []
    display = open_display(load_config(config))
    try:
        shown = client.status_json(base)["selftest"]
        assert shown["path"] == str(tmp_path / "selftest.json")
        assert shown["report"]["failed_steps"] == [3]
        code, _, body = client.get(f"{base}/")
        html = body.decode()
        assert code == 200 and "the 807 nm LED does not light" in html
        assert html.count('<td class="bad">no</td>') == 2      # step 3 and the report's own
    finally:
        display.close()
