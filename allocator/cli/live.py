"""Live progress of a long solve or design run on standard error (rich).

Standard output carries only what the command prints (a summary, ``--json``); the progress
line goes to standard error: on a terminal a spinner with the best objective, the bound and
the gap as they improve (:mod:`allocator.core.progress`), redrawn in place and gone when the
solve ends; into a log file one line per improvement, at most every ``LOG_EVERY_S`` seconds.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator

from rich.console import Console

from allocator.core.progress import Progress, listening
from allocator.core.reasons import money

LOG_EVERY_S = 5.0


def describe(event: Progress, currency: str = "GBP") -> str:
    """``best £3,213.00 · bound £3,100.00 · gap 3.52%`` (what is known so far)."""
    parts = []
    if event.objective is not None:
        parts.append(f"best {money(event.objective, currency)}")
    if event.bound is not None:
        parts.append(f"bound {money(event.bound, currency)}")
    if event.gap is not None:
        parts.append(f"gap {100 * event.gap:.2f}%")
    return " · ".join(parts) or "searching"


@contextlib.contextmanager
def live_progress(what: str, *, show: bool, currency: str = "GBP",
                  console: Console | None = None) -> Iterator[None]:
    """Show ``what`` and the solve's progress on standard error while the block runs."""
    if not show:
        yield
        return
    console = console or Console(stderr=True, highlight=False)
    if not console.is_terminal:
        console.print(f"{what} ...", highlight=False)
        last = [-math.inf]
        held: list[Progress] = []  # the newest event not printed (within LOG_EVERY_S)

        def line(event: Progress) -> None:
            if event.objective is None and event.bound is None:
                return  # nothing known yet: no line
            now = time.monotonic()
            held[:] = [event]
            if now - last[0] >= LOG_EVERY_S:
                last[0] = now
                held.clear()
                console.print(f"  {event.elapsed:7.1f} s  {describe(event, currency)}",
                              highlight=False)

        try:
            with listening(line):
                yield
        finally:
            # the last improvement is printed even when it came within LOG_EVERY_S of the
            # line before: the log's last line is where the solve ended, not 5 s before
            for event in held:
                console.print(f"  {event.elapsed:7.1f} s  {describe(event, currency)}",
                              highlight=False)
        return
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"),
               TextColumn("[cyan]{task.fields[status]}"), TimeElapsedColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        task = bar.add_task(what, total=None, status="")

        def update(event: Progress) -> None:
            bar.update(task, status=describe(event, currency))

        with listening(update):
            yield
