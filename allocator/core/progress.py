"""Live progress of a long solve: best objective and bound as they improve.

A solver that learns something new (a better answer, a better bound) calls :func:`report`;
whoever wants to show it (the CLI's progress line, a web page) listens for the duration of a
solve with :func:`listening`. Without a listener :func:`report` costs one list lookup. The
same figures end up in ``Result.progress`` when the solve returns; this is the live view.

Listeners run in the process and thread that reports (the portfolio's and the regions'
coordinators, the design decomposition's loop); an exception in a listener is swallowed, so
that showing progress can never break a solve.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """One improvement.

    elapsed
        Seconds since the solve started (as the solver counts them).
    objective
        Best objective known (None before the first answer).
    bound
        Best proven lower bound (None when there is none yet).
    source
        Who reported it (``portfolio``, ``regions``, ``benders``, ...).
    """

    elapsed: float
    objective: float | None
    bound: float | None
    source: str = ""

    @property
    def gap(self) -> float | None:
        """(objective - bound) / max(1, |objective|), the gap of :mod:`allocator.core.result`."""
        if self.objective is None or self.bound is None:
            return None
        if not (math.isfinite(self.objective) and math.isfinite(self.bound)):
            return None
        return max(0.0, self.objective - self.bound) / max(1.0, abs(self.objective))


Listener = Callable[[Progress], None]
_LISTENERS: list[Listener] = []


def active() -> bool:
    """True when someone listens (solvers skip the work of reporting otherwise)."""
    return bool(_LISTENERS)


def report(elapsed: float, objective: float | None, bound: float | None,
           source: str = "") -> None:
    """Tell the listeners (if any) that the best objective or bound improved."""
    if not _LISTENERS:
        return
    event = Progress(float(elapsed), None if objective is None else float(objective),
                     None if bound is None else float(bound), source)
    for listener in list(_LISTENERS):
        with contextlib.suppress(Exception):
            listener(event)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call ``listener`` with every :class:`Progress` reported inside the block."""
    _LISTENERS.append(listener)
    try:
        yield
    finally:
        _LISTENERS.remove(listener)


class Throttle:
    """Pass on at most one event per ``every`` seconds (always the latest), for slow displays."""

    def __init__(self, listener: Listener, every: float = 0.5) -> None:
        self.listener = listener
        self.every = every
        self.last = -math.inf

    def __call__(self, event: Progress) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.listener(event)
