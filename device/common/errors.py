"""The one error type users see."""


class UserError(Exception):
    """A mistake in a file or option: one sentence naming it, shown without a traceback."""
