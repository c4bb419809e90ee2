"""A hardware role's backends by URI scheme: `v4l2://...` -> the function that opens it.

Each role (camera, LEDs, display, engine) keeps one `Backends` table in its own module. A table
names each factory as "module:function" and imports it only when a URI asks for it, so the
config can check a scheme without importing any backend (TensorRT, GPIO, a simulator...), and
a backend's module may import the role's base classes without a cycle. Adding a backend is one
line in its role's table.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from device.common.uri import Uri, parse_uri


@dataclass(frozen=True)
class Backends:
    role: str                          # the config key, e.g. "camera.uri"
    factories: Mapping[str, str]       # scheme -> "package.module:function"

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(self.factories)

    def parse(self, text: str) -> Uri:
        """The URI, or a UserError naming the role and the schemes it knows."""
        return parse_uri(text, self.role, self.schemes)

    def factory(self, scheme: str) -> Callable[..., Any]:
        module, _, name = self.factories[scheme].partition(":")
        return getattr(importlib.import_module(module), name)

    def open(self, text: str, *args: Any) -> Any:
        """Parse `text` and call its scheme's factory with (uri, *args)."""
        uri = self.parse(text)
        return self.factory(uri.scheme)(uri, *args)
