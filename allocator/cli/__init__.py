"""The command line: ``allocator`` (a thin layer over the library)."""

from allocator.cli.main import app, main

__all__ = ["app", "main"]
