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
import contextvars
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
# True inside :func:`muted`: a solve nested in another (a design's master MIP, a scenario's
# recourse, a polishing MIP) has figures of its own problem, not of the solve being watched
_MUTED: contextvars.ContextVar[bool] = contextvars.ContextVar("progress_muted", default=False)


def active() -> bool:
    """True when someone listens and the reporting code is not inside :func:`muted`
    (solvers skip the work of reporting otherwise)."""
    return bool(_LISTENERS) and not _MUTED.get()


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Nothing reported inside the block (in this thread) reaches the listeners.

    For solves nested in another: a Benders master MIP's best and bound are those of the
    master, not of the design, and a scenario's recourse MIP is one week of one scenario. Shown
    as the design's, they made its progress jump (a master's own bound below the design's,
    a polishing MIP's "gap 0.01%") on the command line and on the web job's chart. HiGHS
    subscribes its progress callbacks only when :func:`active`, so a muted solve costs nothing.
    """
    token = _MUTED.set(True)
    try:
        yield
    finally:
        _MUTED.reset(token)


def report(elapsed: float, objective: float | None, bound: float | None,
           source: str = "") -> None:
    """Tell the listeners (if any, and unless :func:`muted`) that the best objective or bound
    improved."""
    if not _LISTENERS or _MUTED.get():
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
