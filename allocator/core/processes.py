"""Child processes that end without an answer: how they ended, and a crash report.

Used by the search's child processes (:mod:`allocator.heuristic.worker`) and by the design's
extensive-form process (:mod:`allocator.design.decomposition`). Standard library only: the
search's child imports it before anything else.
"""

from __future__ import annotations

import faulthandler
import signal


def report_crashes() -> None:
    """Have a native crash (SIGSEGV, SIGABRT, ...) write this process's Python traceback to
    stderr. A process without a usable stderr (a service with it closed) goes on without."""
    try:
        faulthandler.enable()
    except (AttributeError, OSError, RuntimeError, ValueError):
        pass


def exit_in_words(code: int) -> str:
    """A process's exit code in words: a negative one is the signal that ended it."""
    if code < 0:
        try:
            return f"was ended by {signal.Signals(-code).name}"
        except ValueError:
            return f"was ended by signal {-code}"
    return f"exited with code {code}"
