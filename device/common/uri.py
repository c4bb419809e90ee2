"""The `scheme://target?key=value&...` URIs that pick a backend for each hardware role."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from device.common.errors import UserError


@dataclass(frozen=True)
class Uri:
    scheme: str
    target: str                      # "/dev/video0", "jetson", "out.mp4", a GStreamer pipeline...
    params: dict[str, str] = field(default_factory=dict)


def parse_uri(text: str, role: str, schemes: tuple[str, ...]) -> Uri:
    """Split `text` and check its scheme is one `role` knows; one sentence when it is not."""
    if "://" not in text:
        raise UserError(f"{role} '{text}' is not a URI; expected one of "
                        + ", ".join(f"{s}://..." for s in schemes) + ".")
    scheme, rest = text.split("://", 1)
    if scheme not in schemes:
        raise UserError(f"{role} '{text}' has unknown scheme '{scheme}'; expected one of "
                        + ", ".join(f"{s}://" for s in schemes) + ".")
    if scheme == "gst":  # a pipeline is taken whole: its own syntax may contain '?' or '&'
        return Uri(scheme, rest, {})
    target, _, query = rest.partition("?")
    return Uri(scheme, target, dict(parse_qsl(query, keep_blank_values=True)))
