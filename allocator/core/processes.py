"""Child processes that end without an answer: how they ended, and a crash report.

Used by the search's child processes (:mod:`allocator.heuristic.worker`) and by the design's
extensive-form process (:mod:`allocator.design.decomposition`) and sweep workers
(:mod:`allocator.design.sweep`). Standard library only: the search's child imports it before
anything else.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time


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


PARENT_WATCH_S = 0.5  # how often the watchdog looks for the parent's end


def watch_parent() -> None:
    """Fork a watchdog that kills this process when the process that started it is gone.

    Call it first thing in a child process, before the child starts threads of its own.

    A parent killed outright (``kill -9``, the out-of-memory killer, a web server stopped
    hard) can no longer read a child's answer, yet the child worked on: a search child
    notices the end of its stdin only between two steps of its search, a native call in
    progress runs on to its end (51 s on both cores for stage 1's PDLP on ``zoo-indep-L-2``;
    at XL a PDLP round of 720 s holding 5 GB), and a design's extensive form or sweep
    worker runs its MIP or LP to its own time limit. A thread cannot watch for it: OR-Tools'
    PDLP binding holds the GIL for its whole round. So a small process does. It closes every
    file descriptor it inherited, so it holds none of the child's pipes (a parent waiting
    for a pipe's end still sees it when the child ends), and uses only ``os``, ``time`` and
    ``open``: every ``PARENT_WATCH_S`` it reads this process's parent in ``/proc`` and, once
    that is no longer the parent that started it, sends SIGKILL (nothing is lost: nobody
    can read an answer). It ends by itself when this process ends. Linux only (``/proc``);
    elsewhere there is no watchdog."""
    if not sys.platform.startswith("linux"):
        return
    parent, me = os.getppid(), os.getpid()
    if os.fork() != 0:
        return
    try:  # the watchdog: never returns
        os.closerange(0, os.sysconf("SC_OPEN_MAX") if hasattr(os, "sysconf") else 65536)
        stat = f"/proc/{me}/stat"
        while True:
            time.sleep(PARENT_WATCH_S)
            if os.getppid() != me:  # the process watched has ended: the watchdog was handed on
                break
            with open(stat) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                os.kill(me, signal.SIGKILL)
                break
    except BaseException:  # noqa: BLE001 - the watchdog never reports, it only ends
        pass
    os._exit(0)
