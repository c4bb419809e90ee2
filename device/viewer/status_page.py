"""The `http://` display's page: the stream beside the figures, as plain HTML.

The figures are rendered here, on the device, from the status JSON (device.viewer.run_status)
without knowing its keys beyond the headings below: any block, row or column added there shows
up as it is named. The page's one script only fetches /stats each second and swaps it in (and
restarts the stream after the server came back, as it does on a config reload); without
scripts the page still shows the stream and the figures of its load. Every value is escaped.
"""
from __future__ import annotations

import html
import socket
from typing import Mapping

from device.viewer.run_status import JsonValue

# The blocks in the order shown, with their headings; others follow under their own names.
HEADINGS = {
    "frames": "Frame rate",
    "stage_ms": "Stage times (ms per frame, mean over the run)",
    "exposures": "Exposure under each LED (last frame)",
    "dropped": "Dropped frames",
    "run": "Run",
    "conditions": "Conditions",
    "selftest": "Last self-test",
    "stream": "This stream",
    "settings": "Settings",                # one block per config section: "camera settings"
}
WIDE = ("selftest",)                       # blocks across the whole stats column
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src 'self'; script-src 'self'; "
                           "style-src 'unsafe-inline'; connect-src 'self'")
STALL_S = 2.0                              # no frame for this long: said in red

STYLE = """
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: #111; background: #f3f3f3; }
header { display: flex; gap: 1.5em; align-items: baseline; padding: 8px 16px;
         background: #1d1d1d; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; }
#offline { display: none; color: #ffb4b4; font-weight: 600; }
body.offline #offline { display: inline; }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; align-items: flex-start; }
#view { margin: 0; flex: 0 1 640px; min-width: 320px; background: #000; }
#view img { display: block; width: 100%; height: auto; }
#stats { flex: 1 1 480px; display: grid; gap: 12px;
         grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); }
#stats > p.state { grid-column: 1 / -1; margin: 0; font-size: 20px; font-weight: 600; }
section { background: #fff; border: 1px solid #d6d6d6; border-radius: 4px; padding: 8px 12px; }
section.wide { grid-column: 1 / -1; }
h2 { margin: 0 0 6px; font-size: 15px; }
h3 { margin: 8px 0 2px; font-size: 14px; color: #444; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 2px 8px 2px 0; text-align: left; vertical-align: top; }
th { color: #444; font-weight: 600; border-bottom: 1px solid #ddd; }
td { overflow-wrap: anywhere; }
td:first-child { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.kv td + td { text-align: right; }
tr + tr td { border-top: 1px solid #f0f0f0; }
.bad { color: #b00020; font-weight: 600; }
.good { color: #17692a; font-weight: 600; }
.quiet { color: #666; }
"""

SCRIPT = """\"use strict\";
// Swap in fresh figures each second; after the server was away (a config reload restarts
// it), restart the stream too.
(function () {
  var stats = document.getElementById("stats");
  var img = document.getElementById("stream");
  var lost = false;
  function later() { setTimeout(poll, 1000); }
  function poll() {
    fetch(stats.dataset.src, {cache: "no-store"}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.text();
    }).then(function (text) {
      stats.innerHTML = text;
      document.body.classList.remove("offline");
      if (lost) {
        var src = img.dataset.src;
        img.src = src + (src.indexOf("?") < 0 ? "?" : "&") + "t=" + Date.now();
        lost = false;
      }
    }).catch(function () {
      lost = true;
      document.body.classList.add("offline");
    }).then(later);
  }
  later();
})();
"""


def page(status: Mapping[str, JsonValue], query: str) -> str:
    """The whole page; `query` ("?token=..." or "") goes on every address it loads."""
    q = html.escape(query)
    return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>nightcolor: live view</title><style>{STYLE}</style></head>\n<body>"
            f"<header><h1>nightcolor: live view</h1><span>{html.escape(socket.gethostname())}"
            f"</span><span id=\"offline\">the viewer is not answering; retrying</span>"
            f"</header>\n<main>"
            f"<figure id=\"view\"><img id=\"stream\" src=\"/stream.mjpg{q}\" "
            f"data-src=\"/stream.mjpg{q}\" alt=\"the viewer's live color frames\"></figure>\n"
            f"<div id=\"stats\" data-src=\"/stats{q}\">{stats(status)}</div></main>\n"
            f"<script src=\"/page.js{q}\"></script></body></html>\n")


def stats(status: Mapping[str, JsonValue]) -> str:
    """The figures: a one-line state, then one block per key of `status` (the settings: one
    per config section)."""
    keys = [k for k in HEADINGS if k in status] + [k for k in status if k not in HEADINGS]
    blocks = [state_line(status.get("frames"))]
    for key in keys:
        value = status[key]
        if key == "settings" and isinstance(value, dict):
            blocks += [block(f"settings-{name}", f"{label(name)} settings", value_html(section))
                       for name, section in value.items()]
            continue
        body = selftest(value) if key == "selftest" else value_html(value)
        blocks.append(block(key, HEADINGS.get(key, label(key)), body, key in WIDE))
    return "\n".join(blocks)


def block(key: str, heading: str, body: str, wide: bool = False) -> str:
    attributes = f" id=\"{html.escape(key)}\"" + (" class=\"wide\"" if wide else "")
    return f"<section{attributes}><h2>{html.escape(heading)}</h2>{body}</section>"


def state_line(frames: JsonValue) -> str:
    """The viewer at a glance: its frame rate and count, or that it shows nothing."""
    if not isinstance(frames, dict) or not frames.get("frames"):
        return "<p class=\"state quiet\">waiting for the first frame</p>"
    since = frames.get("seconds_since_last_frame")
    if isinstance(since, (int, float)) and since > STALL_S:
        return f"<p class=\"state bad\">no frame for {since:.0f} s</p>"
    fps, latency = frames.get("fps"), frames.get("latency_ms")
    return (f"<p class=\"state\">{number(fps)} fps · {number(frames.get('frames'))} frames · "
            f"latency {number(latency)} ms</p>")


def selftest(block: JsonValue) -> str:
    """The last self-test report: its file, when it was written, and its JSON as tables; or
    why there is none."""
    if not isinstance(block, dict):
        return value_html(block)
    path = html.escape(str(block.get("path", "")))
    if "error" in block:
        return f"<p class=\"bad\">{path}: {html.escape(str(block['error']))}</p>"
    if block.get("report") is None:
        return f"<p class=\"quiet\">no self-test report yet ({path})</p>"
    written = html.escape(str(block.get("written", "")))
    return f"<p class=\"quiet\">{path}, written {written}</p>{value_html(block['report'])}"


def value_html(value: JsonValue) -> str:
    """Any JSON value as HTML. An object: a table of label and value for its plain entries,
    then each nested entry under its own subheading; an object of flat objects, or a list of
    objects: one row each, their keys as columns."""
    if isinstance(value, dict) and value:
        if all(is_flat(v) for v in value.values()):
            return records([(k, v) for k, v in value.items()])
        plain = [(k, v) for k, v in value.items() if not is_nested(v)]
        rows = "".join(f"<tr><td>{html.escape(label(k))}</td>{cell(k, v)}</tr>"
                       for k, v in plain)
        nested = "".join(f"<h3>{html.escape(label(k))}</h3>{value_html(v)}"
                         for k, v in value.items() if is_nested(v))
        return (f"<table class=\"kv\">{rows}</table>" if rows else "") + nested
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return records([("", v) for v in value], named=False)
    if isinstance(value, list) and value:
        return "<ul>" + "".join(f"<li>{html.escape(text(v))}</li>" for v in value) + "</ul>"
    if value in ({}, []):
        return "<p class=\"quiet\">none</p>"
    return f"<p>{html.escape(text(value))}</p>"


def records(rows: list[tuple[str, JsonValue]], named: bool = True) -> str:
    """Objects as one table, a row each (led by its name if `named`), a column per key in
    the order the keys first appear."""
    columns: list[str] = []
    for _, row in rows:
        if isinstance(row, dict):
            columns += [k for k in row if k not in columns]
    head = ("<th></th>" if named else "") + "".join(f"<th>{html.escape(label(c))}</th>"
                                                    for c in columns)
    body = ""
    for name, row in rows:
        fields = row if isinstance(row, dict) else {}
        body += ("<tr>" + (f"<td>{html.escape(name)}</td>" if named else "")
                 + "".join(cell(c, fields.get(c)) for c in columns) + "</tr>")
    return f"<table><tr>{head}</tr>{body}</table>"


def is_flat(value: JsonValue) -> bool:
    """An object whose values are all plain (no object or list with anything in it)."""
    return isinstance(value, dict) and not any(is_nested(v) or isinstance(v, dict) and v
                                               for v in value.values())


def is_nested(value: JsonValue) -> bool:
    """Shown under its own subheading: an object holding objects or lists, or a list of
    objects."""
    if isinstance(value, list):
        return any(isinstance(v, dict) for v in value)
    return isinstance(value, dict) and any(isinstance(v, (dict, list)) and v
                                           for v in value.values())


def cell(key: str, value: JsonValue) -> str:
    """One table cell: numbers right-aligned; a verdict (pass, fail, or true/false under a
    key such as "passed") in green or red."""
    verdict = verdict_of(key, value)
    kind = ("good" if verdict else "bad") if verdict is not None else \
        "n" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
    attribute = f" class=\"{kind}\"" if kind else ""
    return f"<td{attribute}>{html.escape(text(value))}</td>"


VERDICTS = {"pass": True, "passed": True, "ok": True, "fail": False, "failed": False}
VERDICT_KEYS = ("pass", "passed", "ok", "success")


def verdict_of(key: str, value: JsonValue) -> bool | None:
    if isinstance(value, str):
        return VERDICTS.get(value.lower())
    if isinstance(value, bool) and key.lower() in VERDICT_KEYS:
        return value
    return None


def text(value: JsonValue) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return number(value)
    if isinstance(value, list):
        return ", ".join(text(v) for v in value) or "–"
    if isinstance(value, dict):
        return ", ".join(f"{label(k)} {text(v)}" for k, v in value.items()) or "–"
    return value


def number(value: JsonValue) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–" if value is None else str(value)
    if isinstance(value, int):
        return str(value)
    digits = 2 if abs(value) < 1 else 1 if abs(value) < 100 else 0
    return f"{value:.{digits}f}"


def label(key: str) -> str:
    """A JSON key as a label: underscores as spaces ("latency_ms" -> "latency ms")."""
    return key.replace("_", " ")
