"""Children of a parent killed outright: do they end? (the watchdog of
:func:`allocator.core.processes.watch_parent`)."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (an orphan nobody has reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def kill_and_wait(parent: subprocess.Popen, children: list[int],
                  guard_s: float = 60.0) -> list[int]:
    """SIGKILL ``parent``, then wait (at most ``guard_s``: a hang guard, not a measure) for
    ``children`` to end; returns those still alive."""
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    end = time.monotonic() + guard_s
    while any(alive(c) for c in children) and time.monotonic() < end:
        time.sleep(0.1)
    return [c for c in children if alive(c)]
