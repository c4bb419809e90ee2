"""The `http://` display: its URI and the refusals at config load, its answers to good and bad
requests, one JPEG per frame for every client, a client that stops reading dropped while the
frames keep coming, the status page's figures and self-test report, the same on the simulated
rig through the Pipeline; and `device run --rig sim` watched by a real headless browser
(Debian's Chromium, driven over the DevTools protocol): the page shows the live stream and the
figures, the stream moves, and the figures refresh themselves. The browser test skips with
the reason where Chromium is missing, unless NIGHTCOLOR_REQUIRE_BROWSER=1 (CI)."""
import dataclasses
import importlib.util
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from device.common.errors import UserError
from device.common.uri import split_uri
from device.simulated.presets import SHIPPED_MODEL, sim_config
from device.viewer.colorize import ColorFrame
from device.viewer.config import load_config
from device.viewer.displays import DISPLAYS, DisplayOptions
from device.viewer.http_display import http_settings
from device.viewer.live_run import StopReason
from device.viewer.loop import Pipeline
from device.viewer.observer import FrameShown
from device.viewer.report import RunReport
from device.viewer.run_status import RunStatus, StatusBoard, settings_of
from device.viewer.status_page import page
from device.viewer.strobe import SubFrame
from device.viewer.window import Triplet


def _load(name):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


client = _load("http_client")
browser = _load("headless_chromium")
TOKEN = "s3cret-Token_0123456789"


def open_display(tmp_path, query=""):
    port = client.free_port()
    display = DISPLAYS.open(f"http://127.0.0.1:{port}{query}",
                            DisplayOptions(30.0, lambda p: tmp_path / p))
    return display, f"http://127.0.0.1:{port}"


def moving(i, size=(48, 64)):
    """Frame i of a bar moving across a dark field: every frame differs from the last."""
    rgb = np.full((*size, 3), 30, np.uint8)
    x = (4 * i) % size[1]
    rgb[:, x:x + 8] = (255, 160, 40)
    return rgb


class Renderer:
    """The display thread's part: render() frames in turn until stopped."""

    def __init__(self, display, frame=moving, period_s=0.01):
        self.display, self.frame, self.period_s = display, frame, period_s
        self.rendered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.display.render(self.frame(self.rendered))
            self.rendered += 1
            time.sleep(self.period_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# -- the URI and the config ---------------------------------------------------------------
def test_the_uri_binds_loopback_port_8080_unless_told_otherwise():
    s = http_settings(split_uri("http://127.0.0.1"))
    assert (s.host, s.port, s.token, s.quality, s.timeout_s) == ("127.0.0.1", 8080, None, 80,
                                                                  10.0)
    s = http_settings(split_uri(f"http://0.0.0.0:9000?token={TOKEN}&quality=60&timeout=2.5"))
    assert (s.host, s.port, s.token, s.quality, s.timeout_s) == ("0.0.0.0", 9000, TOKEN, 60,
                                                                  2.5)
    assert not s.loopback and http_settings(split_uri("http://[::1]:8080")).loopback
    assert http_settings(split_uri("http://localhost:8081")).loopback


@pytest.mark.parametrize("uri, message", [
    ("http://0.0.0.0:8080", r"would serve on every network interface without a token"),
    ("http://:8080", r"would serve on every network interface without a token"),
    ("http://192.168.1.20:8080", r"would serve 192\.168\.1\.20 without a token"),
    ("http://jetson.local:8080", r"would serve jetson\.local without a token"),
    ("http://0.0.0.0:8080?token=short", r"token=\*\*\*'.*at least 16 characters"),
    ("http://127.0.0.1:8080?token=has%20a%20space%20in%20it", r"at least 16 characters of"),
    ("http://127.0.0.1:99999", r"the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:8080/page", r"give HOST:PORT only"),
    ("http://127.0.0.1:8080?quality=0", r"quality must be a number from 1 to 100, not '0'"),
    ("http://127.0.0.1:8080?timeout=soon", r"timeout must be a number"),
    ("http://127.0.0.1:8080?tokn=x", r"unknown parameter\(s\) tokn; expected token"),
])
def test_a_bad_uri_is_one_sentence_naming_what_is_wrong(uri, message):
    with pytest.raises(UserError, match=message) as caught:
        http_settings(split_uri(uri))
    text = str(caught.value)
    assert text.startswith("display.uri 'http://") and text.endswith(".")
    assert "\n" not in text and "short" not in text       # a token is never repeated


def config_file(tmp_path, display):
    path = tmp_path / "c.toml"
    path.write_text(f'[display]\nuri = "{display}"\n[engine]\nuri = "onnx://{SHIPPED_MODEL}"\n')
    return path


def test_a_network_bind_without_a_token_is_refused_when_the_config_loads(tmp_path):
    path = config_file(tmp_path, "http://0.0.0.0:8080")
    with pytest.raises(UserError, match=r"c\.toml: display\.uri 'http://0\.0\.0\.0:8080' would "
                                        r"serve on every network interface without a token"):
        load_config(path, check_model=False)
    # The service's fail-safe reads URIs for their form only: this cannot keep it from
    # switching the LEDs off.
    assert load_config(path, check_model=False, check_schemes=False).display.uri.startswith(
        "http://0.0.0.0")
    ok = load_config(config_file(tmp_path, f"http://0.0.0.0:8080?token={TOKEN}"),
                     check_model=False)
    assert ok.display.uri.endswith(TOKEN)


def test_device_run_refuses_it_in_one_line_with_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "device", "run", "--rig", "sim", "--config",
                           str(config_file(tmp_path, "http://0.0.0.0:8080")), "--frames", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert "\n" not in line and line.endswith("SSH tunnel.")
    assert "without a token" in line and line.count(". ") == 0


# -- requests -----------------------------------------------------------------------------
def test_without_its_token_every_path_is_a_401_and_an_unknown_path_a_404(tmp_path):
    display, base = open_display(tmp_path, f"?token={TOKEN}")
    try:
        for path in ("/", "/stream.mjpg", "/status.json", "/frame.jpg", "/nothing"):
            code, headers, body = client.get(base + path)
            assert code == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
            code, _, _ = client.get(f"{base}{path}?token=wrong-{TOKEN}")
            assert code == 401, path
            code, _, _ = client.get(base + path, {"Authorization": f"Bearer {TOKEN}x"})
            assert code == 401, path
        assert client.get(f"{base}/status.json?token={TOKEN}")[0] == 200
        assert client.get(f"{base}/status.json", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        code, _, body = client.get(f"{base}/nothing?token={TOKEN}")
        assert code == 404 and b"/nothing" in body
        code, _, body = client.get(f"{base}/?token={TOKEN}")
        assert code == 200 and f"/stream.mjpg?token={TOKEN}".encode() in body
    finally:
        display.close()


def test_without_a_token_on_loopback_the_page_and_stream_are_open(tmp_path):
    display, base = open_display(tmp_path)
    try:
        code, headers, body = client.get(base + "/")
        assert code == 200 and headers["Content-Type"].startswith("text/html")
        assert b'src="/stream.mjpg"' in body and b"no self-test report yet" in body
        assert b"waiting for the first frame" in body
        assert client.get(base + "/page.js")[0] == 200
        assert client.get(base + "/favicon.ico")[0] == 404
        # Named by anything but an address or localhost: a page's own name resolved to
        # 127.0.0.1 (DNS rebinding) would read the stream through the tunnel.
        for host in ("localhost:8080", "[::1]:8080", "127.0.0.1"):
            assert client.get(base + "/status.json", {"Host": host})[0] == 200, host
        code, _, body = client.get(base + "/stream.mjpg", {"Host": "rebind.example:8080"})
        assert code == 403 and b"localhost" in body
    finally:
        display.close()


def test_consecutive_stream_frames_differ_and_each_frame_is_encoded_once_for_all(tmp_path):
    display, base = open_display(tmp_path)
    got = {}
    try:
        with Renderer(display):
            readers = [threading.Thread(target=lambda i=i: got.__setitem__(
                i, client.mjpeg_frames(base + "/stream.mjpg", 8))) for i in range(3)]
            for r in readers:
                r.start()
            for r in readers:
                r.join(60)
        feed = display.feed
        assert len(got) == 3 and all(len(frames) == 8 for frames in got.values())
        by_seq = {}
        for frames in got.values():
            seqs = [seq for seq, _ in frames]
            assert seqs == sorted(set(seqs))            # newer frames only, none twice
            decoded = [cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
                       for _, data in frames]
            assert all(a.shape == (48, 64, 3) for a in decoded)
            assert all(np.abs(a.astype(int) - b).mean() > 5 for a, b in zip(decoded, decoded[1:]))
            for seq, data in frames:
                by_seq.setdefault(seq, set()).add(data)
        # One encoding per frame, shared: the clients that got frame N got the same bytes,
        # and the encoder made no more JPEGs than frames were handed over.
        assert all(len(versions) == 1 for versions in by_seq.values())
        assert feed.encoded <= feed.offered
        shared = sum(len(frames) for frames in got.values()) - len(by_seq)
        assert shared > 0                              # some frame went to several clients
    finally:
        display.close()


def noise(i, size=(240, 320)):
    """Frames JPEG cannot shrink (about 100 kB each): a stalled client's buffers fill fast."""
    return np.random.default_rng(i).integers(0, 256, (*size, 3), np.uint8)


def test_a_client_that_stops_reading_is_dropped_and_never_holds_the_display_up(tmp_path):
    timeout_s = 0.5
    display, base = open_display(tmp_path, f"?timeout={timeout_s}")
    stalled = None
    try:
        with Renderer(display, noise, period_s=0.005) as renderer:
            client.wait_for(lambda: renderer.rendered > 0, 10, "a frame rendered")
            stalled = client.stalled_reader(base + "/stream.mjpg")
            client.wait_for(lambda: display.feed.subscribers > 0, 10, "the client subscribed")
            at_stall = renderer.rendered
            client.wait_for(lambda: client.status_json(base)["stream"]["clients_dropped"] == 1,
                            30, "the stalled client dropped")
            assert renderer.rendered > at_stall
            stream = client.status_json(base)["stream"]
            assert stream["clients"] == 0 and stream["clients_served"] == 1
            assert len(client.mjpeg_frames(base + "/stream.mjpg", 2)) == 2   # others still served
        # While a client stalls, render() only hands frames over: 50 of them take far less
        # than the one timeout a wait for that client would have cost.
        stalled.close()
        stalled = client.stalled_reader(base + "/stream.mjpg")
        client.wait_for(lambda: display.feed.subscribers > 0, 10, "the client subscribed")
        time.sleep(2 * timeout_s)               # its buffers are full by now
        start = time.monotonic()
        for i in range(50):
            display.render(noise(i % 4))
        assert time.monotonic() - start < timeout_s
    finally:
        if stalled is not None:
            stalled.close()
        display.close()


def test_close_ends_every_stream_and_frees_the_port(tmp_path):
    display, base = open_display(tmp_path)
    ended = []

    def read_until_the_end():
        try:
            client.mjpeg_frames(base + "/stream.mjpg", 10 ** 6)
        except (EOFError, OSError) as exc:
            ended.append(exc)

    with Renderer(display):
        client.mjpeg_frames(base + "/stream.mjpg", 1)
        reader = threading.Thread(target=read_until_the_end)
        reader.start()
        client.wait_for(lambda: display.server.streams.now == 1, 10, "the stream open")
    display.close()
    reader.join(10)
    assert not reader.is_alive() and len(ended) == 1
    port = int(base.rsplit(":", 1)[1])
    again = DISPLAYS.open(f"http://127.0.0.1:{port}", DisplayOptions(30.0, lambda p: tmp_path / p))
    again.close()


def test_a_port_in_use_is_one_sentence(tmp_path):
    display, base = open_display(tmp_path)
    try:
        with pytest.raises(UserError, match=r"display.uri 'http://127.0.0.1:\d+': cannot listen "
                                            r"on 127.0.0.1:\d+ \(Address already in use\)\."):
            DISPLAYS.open(base, DisplayOptions(30.0, lambda p: tmp_path / p))
    finally:
        display.close()


# -- what the page shows ------------------------------------------------------------------
@dataclasses.dataclass
class MeteredSubFrame(SubFrame):
    """A sub-frame with a field this module never heard of (as an automatic exposure adds)."""
    gain_db: float = 6.0


@dataclasses.dataclass
class LongerReport(RunReport):
    exposure_changes: int = 3


def shown_event(frames=12):
    subs = {nm: MeteredSubFrame(nm, np.zeros((2, 2), np.uint16), 1.0 + i * 0.01,
                                1.0 + i * 0.01 + 0.004, 40 + i)
            for i, nm in enumerate((718, 777, 807))}
    frame = ColorFrame(np.zeros((2, 2, 3), np.uint8), Triplet(subs, subs[807]), lambda: [],
                       {"engine": 3.0})
    return FrameShown(frame, frames, 29.5, 41.0, 2)


def test_the_figures_take_every_field_by_its_name(tmp_path):
    now = [100.0]
    board = StatusBoard(tmp_path / "selftest.json", clock=lambda: now[0])
    config = sim_config(tmp_path, exposure_ms=6.5)
    board.run = RunStatus(settings_of(config),
                          lambda: LongerReport(stage_ms={"capture": 9.0, "meter": 0.2},
                                               dropped={"triplets": 4}, engine="onnx"))
    board.frame_shown(shown_event())
    board.status("camera lost (no frame in 1 s); reconnecting in 0.5 s")
    now[0] += 3.0
    status = board.snapshot({"clients": 1})
    assert status["frames"] == {"frames": 12, "fps": 29.5, "latency_ms": 41.0, "dropped": 2,
                                "seconds_since_last_frame": 3.0}
    assert status["stage_ms"] == {"capture": 9.0, "meter": 0.2}
    led = status["exposures"]["777 nm"]
    assert led["gain_db"] == 6.0 and led["seq"] == 41
    assert led["exposed_ms"] == pytest.approx(4.0)
    assert led["start_ms_before_newest"] == pytest.approx(10.0)
    assert status["run"]["exposure_changes"] == 3 and status["dropped"] == {"triplets": 4}
    assert status["settings"]["camera"]["exposure_ms"] == 6.5
    assert status["settings"]["strobe"]["sync"] == "trigger"
    assert "display" not in status["settings"]          # its URI may hold the token
    assert status["conditions"] == ["3 s ago: camera lost (no frame in 1 s); reconnecting "
                                    "in 0.5 s"]
    assert status["selftest"] == {"path": str(tmp_path / "selftest.json"), "report": None}
    html = page(status, "")
    for text in ('<td>fps</td><td class="n">29.5</td>', "<th>gain db</th>",
                 "exposure changes", "no frame for 3 s", "no self-test report yet"):
        assert text in html, text
    json.dumps(status, allow_nan=False)


def test_the_self_test_report_is_a_table_of_its_steps(tmp_path):
    report = {"passed": False, "steps": [
        {"step": 1, "name": "camera opens", "passed": True, "fix": ""},
        {"step": 3, "name": "each LED <alone>", "passed": False,
         "fix": "swap the wires of pins 33 and 35"}]}
    (tmp_path / "st.json").write_text(json.dumps(report))
    board = StatusBoard(tmp_path / "st.json")
    html = page(board.snapshot({}), "")
    assert "<th>step</th><th>name</th><th>passed</th><th>fix</th>" in html
    assert "<td>each LED &lt;alone&gt;</td><td class=\"bad\">no</td>" in html
    assert "<td>camera opens</td><td class=\"good\">yes</td>" in html
    (tmp_path / "st.json").write_text("{not json")
    assert "not valid JSON" in page(StatusBoard(tmp_path / "st.json").snapshot({}), "")


def test_the_status_page_shows_the_report_the_uri_names(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "last.json").write_text(json.dumps({"passed": True}))
    display, base = open_display(tmp_path, "?selftest=reports/last.json")
    try:
        status = client.status_json(base)
        assert status["selftest"]["report"] == {"passed": True}
        assert status["selftest"]["path"] == str(tmp_path / "reports" / "last.json")
    finally:
        display.close()


# -- on the simulated rig -----------------------------------------------------------------
@pytest.mark.slow
def test_on_the_sim_rig_a_stalled_client_is_dropped_while_the_viewer_runs_on(tmp_path,
                                                                             model_onnx):
    port = client.free_port()
    base = f"http://127.0.0.1:{port}"
    config = sim_config(tmp_path, engine=model_onnx, width=128, height=96, fps=100,
                        exposure_ms=4.0, display=f"{base}?timeout=1&token={TOKEN}")
    auth = f"?token={TOKEN}"
    pipeline = Pipeline(config)
    result = []
    runner = threading.Thread(target=lambda: result.append(pipeline.run()))
    runner.start()
    stalled = None
    try:
        first = client.wait_for(lambda: _frames_shown(base, auth), 60, "the first frame")
        stalled = client.stalled_reader(f"{base}/stream.mjpg{auth}")
        status = client.wait_for(
            lambda: (s := client.status_json(base, auth))["stream"]["clients_dropped"] and s,
            60, "the stalled client dropped")
        assert status["frames"]["frames"] > first
        assert client.wait_for(lambda: _frames_shown(base, auth) > status["frames"]["frames"],
                               30, "frames after the drop")
        # What the page shows of this run: the Pipeline handed the display its figures.
        assert {"capture", "engine", "display"} <= set(status["stage_ms"])
        assert status["settings"]["camera"]["exposure_ms"] == 4.0
        assert set(status["exposures"]) == {"718 nm", "777 nm", "807 nm"}
        assert TOKEN not in json.dumps(status)
    finally:
        if stalled is not None:
            stalled.close()
        pipeline.stop()
        runner.join(30)
    assert result and result[0].reason is StopReason.STOP and result[0].fault is None
    assert pipeline.leds.lit is None


def _frames_shown(base, query):
    try:
        return client.status_json(base, query)["frames"]["frames"]
    except OSError:
        return 0


# -- in a real browser ---------------------------------------------------------------------
def browser_config(tmp_path, port):
    path = tmp_path / "nightcolor.toml"
    path.write_text(f"""
[camera]
width = 128
height = 96
fps = 60.0
exposure_ms = 8.0
[strobe]
margin_ms = 5.0          # a loaded test machine: the LED guard's slack
[engine]
uri = "onnx://{SHIPPED_MODEL}"
[display]
uri = "http://127.0.0.1:{port}"
""")
    return path


def stream_shot(page, box):
    """The stream's rectangle on the page as it is drawn now."""
    return page.screenshot({k: box[k] for k in ("x", "y", "width", "height")}).astype(int)


@pytest.mark.slow
def test_a_headless_browser_shows_the_live_stream_and_the_figures(tmp_path):
    chromium = browser.chromium_or_skip()
    port = client.free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "run.log").open("w")
    viewer = subprocess.Popen([sys.executable, "-m", "device", "run", "--rig", "sim",
                               "--config", str(browser_config(tmp_path, port))],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        client.wait_for(lambda: viewer.poll() is None and _shown_now(base) > 0, 120,
                        "the viewer's first frame")
        with browser.HeadlessChromium(chromium) as page:
            page.open(base + "/")
            client.wait_for(lambda: page.evaluate(
                "document.getElementById('stream').naturalWidth") == 128, 30,
                "the first frame of the stream in the page")
            box = page.evaluate("JSON.parse(JSON.stringify("
                                "document.getElementById('stream').getBoundingClientRect()))")
            first_text = page.evaluate("document.getElementById('stats').innerText")
            first = stream_shot(page, box)
            frames = _shown_now(base)
            client.wait_for(lambda: _shown_now(base) > frames + 30, 60, "30 more frames")
            time.sleep(1.2)                      # the page's figures refresh each second
            second = stream_shot(page, box)
            second_text = page.evaluate("document.getElementById('stats').innerText")
            cv2.imwrite(str(tmp_path / "page.png"), cv2.cvtColor(page.screenshot(),
                                                                 cv2.COLOR_RGB2BGR))
        # The stream fills its box with a picture (not the black behind it, not one colour),
        # and it moved between the two shots.
        assert box["width"] >= 320 and box["height"] == pytest.approx(box["width"] * 0.75, 1)
        for shot in (first, second):
            assert shot.mean() > 40 and shot.std() > 20
            assert np.abs(shot[..., 0] - shot[..., 2]).mean() > 5        # in colour
        assert np.abs(first - second).mean() > 1.0
        for text in ("fps", "Stage times", "capture", "engine", "Exposure under each LED",
                     "718 nm", "807 nm", "Dropped frames", "no self-test report yet",
                     "camera settings", "exposure ms", "strobe settings", "trigger"):
            assert text in first_text, text
        assert _frame_count(second_text) > _frame_count(first_text)     # refreshed in place
        # Two frames read straight off the stream differ too.
        (_, a), (_, b) = client.mjpeg_frames(base + "/stream.mjpg", 2)
        a, b = (cv2.imdecode(np.frombuffer(x, np.uint8), cv2.IMREAD_COLOR).astype(int)
                for x in (a, b))
        assert a.shape == (96, 128, 3) and np.abs(a - b).mean() > 0.5
    finally:
        viewer.send_signal(signal.SIGTERM)
        code = viewer.wait(30)
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 0, output
    assert f"the stream and status page at {base}/" in output


def _shown_now(base):
    try:
        return client.status_json(base)["frames"]["frames"]
    except OSError:
        return 0


def _frame_count(text):
    """The frame count in the page's state line: '41.1 fps · 365 frames · latency ...'."""
    first_line = text.strip().splitlines()[0]
    return int(first_line.split("·")[1].split()[0])
