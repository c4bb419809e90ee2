"""A hardware role's backends by URI scheme: `v4l2:///dev/video0` -> the function that opens it.

Each role (camera, LEDs, display, engine) has one `BackendTable[Options, Role]`: every factory
in it has the same signature, `(uri, options) -> role`, where `uri` is the URI parsed once here
and `options` is that role's own options object (jetson-inference's `videoOptions` idea: one
object with what any backend of the role may need). A backend is registered with the URI form
it takes and a few words on what it is; that pair is its usage, shown in `device run --help`
and in the refusal of an unknown scheme (as jetson-inference's `Usage()` does).

Tables are filled by the package that owns each backend when it is imported (see
docs/viewer-architecture.md): `device.viewer.backends` and `device.engines.engine` for the real
hardware, `device.simulated` for the simulated rig.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from device.common.errors import UserError
from device.common.uri import Uri, split_uri

O = TypeVar("O")    # the role's options
R = TypeVar("R")    # the role: what a factory returns


@dataclass(frozen=True)
class Backend(Generic[O, R]):
    form: str                          # the URI it takes, e.g. "v4l2:///dev/videoN"
    summary: str                       # what it is, a few words without a full stop
    factory: Callable[[Uri, O], R]
    simulated: bool = False            # lives in this process only: no hardware outlasts it
    check: Callable[[Uri], None] | None = None   # refuses a bad URI (UserError) at config load

    @property
    def scheme(self) -> str:
        return self.form.split("://", 1)[0]


class BackendTable(Generic[O, R]):
    def __init__(self, role: str) -> None:
        self.role = role               # the config key, e.g. "camera.uri"
        self._backends: dict[str, Backend[O, R]] = {}

    def register(self, form: str, summary: str, factory: Callable[[Uri, O], R], *,
                 simulated: bool = False, check: Callable[[Uri], None] | None = None) -> None:
        """Add the backend for `form`'s scheme; a scheme registered twice is a programming
        error (two packages claiming one scheme), so it raises. `check`, if given, refuses a
        URI of this scheme the config must not start with (raising UserError), when the
        config is read rather than when the backend opens."""
        backend = Backend(form, summary, factory, simulated, check)
        if "://" not in form or not backend.scheme:
            raise ValueError(f"{self.role}: {form!r} is not a URI form (scheme://...)")
        if backend.scheme in self._backends:
            raise ValueError(f"{self.role}: {backend.scheme}:// is registered twice")
        self._backends[backend.scheme] = backend

    @property
    def schemes(self) -> tuple[str, ...]:
        return tuple(self._backends)

    def backends(self) -> tuple[Backend[O, R], ...]:
        """Every backend, the real hardware's first, each group in registration order."""
        return tuple(sorted(self._backends.values(), key=lambda b: b.simulated))

    def get(self, scheme: str) -> Backend[O, R] | None:
        return self._backends.get(scheme)

    def expected(self) -> str:
        """The usage of every scheme, as the end of a refusal."""
        return "one of " + ", ".join(f"{b.form} ({b.summary})" for b in self.backends())

    def usage(self) -> str:
        """One line per scheme, for --help."""
        width = max((len(b.form) for b in self.backends()), default=0)
        return "\n".join([f"{self.role}:"] + [f"  {b.form.ljust(width)}  {b.summary}"
                                              for b in self.backends()])

    def parse(self, text: str, registered: bool = True) -> Uri:
        """The URI, or a UserError naming the role and the usage of its schemes, or the
        backend's own refusal (its `check`). With `registered` False only the form is checked,
        not that this process has the scheme nor what its backend would refuse."""
        uri = split_uri(text)
        if uri is None:
            raise UserError(f"{self.role} '{text}' is not a URI; expected {self.expected()}.")
        if registered and uri.scheme not in self._backends:
            raise UserError(f"{self.role} '{text}' has unknown scheme '{uri.scheme}'; expected "
                            f"{self.expected()}.")
        check = self._backends[uri.scheme].check if registered else None
        if check is not None:
            check(uri)
        return uri

    def open(self, text: str, options: O) -> R:
        """Parse `text` (once) and call its scheme's factory with (uri, options)."""
        uri = self.parse(text)
        return self._backends[uri.scheme].factory(uri, options)
