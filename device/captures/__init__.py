"""The capture-set file format (manifest + 16-bit PNGs) that rigs write and `train` reads."""
from device.captures.files import UserError, atomic_output

__all__ = ["UserError", "atomic_output"]
