"""Sub-commands of `device`, one module each; every module exposes `register(subparsers)`
which adds its parser and sets `func` (args -> exit code)."""
