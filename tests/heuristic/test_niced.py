"""``auto`` runs HiGHS in a thread of its own, nicer than the searches (``MIP_NICE``)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from allocator.heuristic import portfolio
from allocator.heuristic.portfolio import MIP_NICE, _niced


def _own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_niced_returns_the_value_in_another_thread():
    here = threading.get_native_id()
    got = _niced(lambda a, b=0: (a + b, threading.get_native_id()), 2, b=3)
    assert got[0] == 5
    assert got[1] != here


def test_niced_raises_the_callers_exception():
    def boom() -> None:
        raise ValueError("from HiGHS's thread")

    with pytest.raises(ValueError, match="from HiGHS's thread"):
        _niced(boom)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is Linux's")
def test_only_the_mip_thread_is_niced():
    before = _own_niceness()
    inside = _niced(_own_niceness)
    assert MIP_NICE > 0
    assert inside == min(19, before + MIP_NICE)
    assert _own_niceness() == before  # the caller's thread keeps its priority


def test_niced_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(portfolio, "MIP_NICE", 0)
    before = _own_niceness() if sys.platform.startswith("linux") else None
    inside = _niced(_own_niceness) if before is not None else None
    assert inside == before
