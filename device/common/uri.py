"""The `scheme://target?key=value&...` URIs that pick a backend for each hardware role."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Uri:
    """A URI split once: backends read its parts and quote `text` in their messages."""
    scheme: str
    target: str                      # "/dev/video0", "jetson", "out.mp4", a GStreamer pipeline...
    params: dict[str, str] = field(default_factory=dict)
    text: str = ""                   # as the config wrote it


def split_uri(text: str) -> Uri | None:
    """`text` split into scheme, target and parameters; None when it is not `scheme://...`."""
    if "://" not in text:
        return None
    scheme, rest = text.split("://", 1)
    if scheme == "gst":  # a pipeline is taken whole: its own syntax may contain '?' or '&'
        return Uri(scheme, rest, {}, text)
    target, _, query = rest.partition("?")
    return Uri(scheme, target, dict(parse_qsl(query, keep_blank_values=True)), text)
