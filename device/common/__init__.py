"""Basics every package may import: the user-facing error, atomic files, the CLI runner, URIs."""
