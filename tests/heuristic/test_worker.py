"""The search's child process ends cleanly once it has answered.

Until this was found, every search child aborted at interpreter shutdown: its listener
thread was still blocked reading stdin (closed by the parent only after the child had
exited), so finalisation waited a second for stdin's lock and then died with SIGABRT
("Fatal Python error: _enter_buffered_busy"). Each solve lost that second at its end and
left a crash report behind. The checks here are on the exit status and what the child wrote
to stderr, not on time.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from orphans import alive, kill_and_wait

from allocator.core.problem import Problem
from allocator.heuristic import worker as worker_module
from allocator.heuristic.data import from_problem
from allocator.heuristic.search import SearchOptions
from allocator.heuristic.worker import Worker, end_idle_children, run_to_end

from .market import market_instance


@pytest.fixture(scope="module")
def data():
    return from_problem(Problem.from_instance(market_instance(40, 6, 2, seed=3)))


def _answer(w: Worker, within: float = 60.0) -> None:
    end = time.monotonic() + within
    while w.outcome is None and w.error is None and not w.eof and time.monotonic() < end:
        w.messages(timeout=0.1)


@pytest.mark.parametrize("kind", ["search", "lp"])
def test_child_exits_with_status_zero_after_its_answer(data, kind):
    job = {"data": data, "options": SearchOptions(seed=1),
           "deadline": time.monotonic() + 20.0}
    if kind == "lp":
        job["kind"] = "lp"
    w = Worker(job)
    try:
        _answer(w)
        assert w.error is None, w.error
        assert w.outcome is not None, w.stderr_tail()
        w.finish(timeout=30.0)
        end_idle_children()  # a child kept for the next job ends at the end of its stdin
        assert w.proc.returncode == 0, w.stderr_tail()
        assert "Fatal Python error" not in w.stderr_tail()
    finally:
        w.close()


def test_child_asked_to_stop_still_answers_and_exits_cleanly(data):
    w = Worker({"data": data, "options": SearchOptions(seed=2),
                "deadline": time.monotonic() + 600.0})
    try:
        w.stop()
        _answer(w)
        assert w.outcome is not None, w.error or w.stderr_tail()
        assert np.asarray(w.outcome["chosen"]).shape == (data.n_needs,)
        w.finish(timeout=30.0)
        end_idle_children()
        assert w.proc.returncode == 0, w.stderr_tail()
    finally:
        w.close()


def test_a_child_that_dies_is_described_by_its_signal_and_stderr(data):
    """A child killed mid-search (SIGKILL) leaves no error message: the description names
    the signal. A child that crashes in native code (SIGSEGV, sent to itself here) has
    faulthandler write its Python traceback to stderr, and the description carries it."""
    import os
    import signal

    w = Worker({"data": data, "options": SearchOptions(seed=4),
                "deadline": time.monotonic() + 600.0})
    try:
        os.kill(w.proc.pid, signal.SIGKILL)
        w.proc.wait(timeout=30)
        _answer(w)
        assert w.outcome is None and w.error is None and w.eof
        assert w.why_no_answer().startswith("the search child was ended by SIGKILL")
    finally:
        w.close()
    w = Worker({"data": data, "options": SearchOptions(seed=4),
                "deadline": time.monotonic() + 600.0})
    try:
        _first_message(w)  # the child has read its job (faulthandler is on by then)
        os.kill(w.proc.pid, signal.SIGSEGV)
        w.proc.wait(timeout=30)
        _answer(w)
        why = w.why_no_answer()
        assert why.startswith("the search child was ended by SIGSEGV: ")
        assert "Fatal Python error: Segmentation fault" in why
    finally:
        w.close()


def _first_message(w: Worker, within: float = 60.0) -> None:
    end = time.monotonic() + within
    while not w.messages(timeout=0.1) and time.monotonic() < end:
        pass


def test_run_to_end_returns_the_outcome(data):
    out = run_to_end({"data": data, "options": SearchOptions(seed=3), "budget_s": 5.0})
    assert np.asarray(out["chosen"]).shape == (data.n_needs,)


def test_polish_options_say_which_constructions_get_local_search():
    """``SearchOptions.polish``: "none" returns the start untouched (a half of the halves);
    "all" runs shift moves and ejection chains on it; after the LP, "best" polishes one
    construction where "all" polishes the rounding and the keep-in-care one. Each runs in
    the search's child process (OR-Tools and highspy never share a process)."""
    from allocator.heuristic.construct import regret_greedy
    from allocator.heuristic.state import Assignment

    instance = market_instance(300, 12, 4, seed=11)
    data = from_problem(Problem.from_instance(instance))
    assert data.pair_current.any()  # people in care: two constructions after the LP
    rng = np.random.default_rng(4)
    start = regret_greedy(data, rc=data.pair_cost * rng.uniform(0.3, 3.0, data.n_pairs))
    begin = Assignment(data, start).objective
    plain = SearchOptions(seed=1, lp=False, bounds=False, lns=False)
    out = {}
    for how in ("none", "all"):
        out[how] = run_to_end({"data": data, "start": start, "budget_s": 60.0,
                               "options": dataclasses.replace(plain, polish=how)})
    assert out["none"]["objective"] == pytest.approx(begin, rel=1e-12)
    assert out["none"]["stats"]["constructions"] == 0
    assert out["none"]["stats"]["shift_moves"] == 0
    assert out["all"]["objective"] < begin - 1e-6  # random preferences leave moves that pay
    assert out["all"]["stats"]["shift_moves"] + out["all"]["stats"]["ejection_chains"] > 0
    after_lp = {how: run_to_end({"data": data, "budget_s": 60.0, "options": SearchOptions(
        seed=1, lns=False, polish=how)}) for how in ("all", "best")}
    assert after_lp["all"]["stats"]["constructions"] == 2
    assert after_lp["best"]["stats"]["constructions"] == 1
    assert after_lp["best"]["objective"] >= after_lp["all"]["objective"] - 1e-6


_ORPHAN_PARENT = """
import time
import numpy as np
import scipy.sparse as sp
from allocator.heuristic.worker import Worker
rng = np.random.default_rng(0)
n, m = 300_000, 3_000
A = sp.csr_matrix((rng.random(3 * n), (rng.integers(0, m, 3 * n), np.repeat(np.arange(n), 3))),
                  shape=(m, n))
w = Worker({"kind": "pdlp", "c": -rng.random(n), "A": A, "row_hi": np.ones(m),
            "col_hi": np.ones(n), "offset": 0.0, "price_rows": slice(0, m), "threads": 1,
            "tolerance": 1e-14, "round_s": 600.0, "deadline": time.monotonic() + 600.0})
print(w.proc.pid, flush=True)
time.sleep(600)
"""


def test_a_child_whose_parent_is_killed_ends_at_once():
    """A parent killed outright (SIGKILL) cannot read its child's answer: the child ends
    within seconds, even in the middle of a 600 s PDLP round (a native call), instead of
    working on to its deadline on every core (51 s on ``zoo-indep-L-2`` before)."""
    import subprocess
    import sys

    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.stderr.read() if parent.stderr else line
        child = int(line)
        time.sleep(3.0)  # the child has read its job and is inside PDLP's round
        assert alive(child), "the child ended before its parent was killed"
        assert not kill_and_wait(parent, [child]), "the orphaned child is still working"
    finally:
        parent.kill()
        parent.wait()



def _outcome(job: dict) -> tuple[Worker, dict]:
    w = Worker(job)
    _answer(w)
    assert w.outcome is not None, w.error or w.stderr_tail()
    return w, w.outcome


def _same_answer(a: dict, b: dict) -> None:
    assert a["objective"] == b["objective"]
    assert np.array_equal(np.asarray(a["chosen"]), np.asarray(b["chosen"]))
    assert a["stats"]["neighbourhoods"] == b["stats"]["neighbourhoods"]


def test_a_child_that_has_answered_takes_the_next_job_and_answers_it_the_same(data):
    """A child is kept for the next job once it has answered (its imports cost 1-2 s of a
    core each time). The next job runs in it and gets the answer a fresh child gives, and a
    stop sent to the first job just after it answered does not reach the second."""
    end_idle_children()
    job = {"data": data, "options": SearchOptions(seed=6), "deadline": time.monotonic() + 60.0}
    first, fresh = _outcome(dict(job))
    assert not first.reused
    first.stop()  # too late for the first job: it has answered
    first.finish(timeout=30.0)
    assert first.proc.poll() is None  # kept, waiting for a job
    second, again = _outcome(dict(job))
    try:
        assert second.reused and second.proc.pid == first.proc.pid
        _same_answer(again, fresh)
        assert again["stats"]["neighbourhoods"] > 0  # it searched: the stale stop is gone
    finally:
        second.finish(timeout=30.0)
        codes = end_idle_children()
    assert codes == [0]


def test_children_that_failed_or_ran_a_large_job_are_not_kept(data, monkeypatch):
    end_idle_children()
    job = {"data": data, "options": "not search options", "deadline": time.monotonic() + 60.0}
    w = Worker(job)
    _answer(w)
    assert w.error is not None and w.outcome is None
    w.finish(timeout=30.0)
    assert w.proc.returncode == 0  # it reported, then ended
    monkeypatch.setattr(worker_module, "REUSE_MAX_PAIRS", data.n_pairs - 1)
    big, _ = _outcome({"data": data, "options": SearchOptions(seed=1),
                       "deadline": time.monotonic() + 60.0})
    assert not big.reused  # nothing was kept from the failed child
    big.finish(timeout=30.0)
    assert big.proc.returncode == 0  # too large to keep: it ended
    assert end_idle_children() == []


_IDLE_PARENT = """
import time
from allocator.core.problem import Problem
from allocator.heuristic.data import from_problem
from allocator.heuristic.search import SearchOptions
from allocator.heuristic.worker import Worker
from tests.heuristic.market import market_instance
data = from_problem(Problem.from_instance(market_instance(40, 6, 2, seed=3)))
w = Worker({"data": data, "options": SearchOptions(seed=1), "deadline": time.monotonic() + 60})
while w.outcome is None and w.error is None and not w.eof:
    w.messages(timeout=0.1)
w.finish(timeout=30.0)
assert w.proc.poll() is None, w.error
print(w.proc.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_idle_children_end_with_their_parent(how):
    """A kept child waits for a job that will never come once its parent has gone: it ends
    when the parent exits (end of file on its stdin) or is killed outright (its watchdog)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = _IDLE_PARENT if how == "kill" else _IDLE_PARENT.replace("time.sleep(600)", "")
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.stderr.read() if parent.stderr else line
        child = int(line)
        if how == "kill":
            assert alive(child)
            assert not kill_and_wait(parent, [child]), "the idle child outlived its parent"
        else:
            assert parent.wait(timeout=60) == 0
            end = time.monotonic() + 60.0  # a hang guard, not a measure
            while alive(child) and time.monotonic() < end:
                time.sleep(0.1)
            assert not alive(child), "the idle child outlived its parent's exit"
    finally:
        parent.kill()
        parent.wait()


def _memory_kb(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f)
                if k in ("VmRSS", "VmHWM")}


def test_a_kept_child_gives_its_jobs_memory_back(data):
    """An idle child holds about its imports, not its last job: 200 MB carried by the job
    are gone once it has answered (the job is dropped, cycles collected, the heap trimmed)."""
    end_idle_children()
    w = Worker({"data": data, "options": SearchOptions(seed=1, lns=False),
                "deadline": time.monotonic() + 60.0,
                "ballast": np.ones(25_000_000)})  # 200 MB that the search never reads
    _answer(w)
    assert w.outcome is not None, w.error or w.stderr_tail()
    w.finish(timeout=30.0)
    try:
        assert w.proc.poll() is None  # kept
        end = time.monotonic() + 30.0  # a hang guard: the child trims after its answer
        mem = _memory_kb(w.proc.pid)
        while mem["VmHWM"] - mem["VmRSS"] < 150_000 and time.monotonic() < end:
            time.sleep(0.1)
            mem = _memory_kb(w.proc.pid)
        assert mem["VmHWM"] - mem["VmRSS"] >= 150_000, mem  # at least 150 of the 200 MB freed
    finally:
        end_idle_children()


def test_finish_leaves_the_childs_last_messages_to_the_caller(data):
    """The callers stop a search, finish it, then read its last messages (its final answer
    and bound among them): finish() reads them to know whether the child may be kept, and
    must hand them on. It swallowed them when the child had answered before finish()."""
    end_idle_children()
    w = Worker({"data": data, "options": SearchOptions(seed=1),
                "deadline": time.monotonic() + 60.0})
    end = time.monotonic() + 60.0  # a hang guard: wait until the answer is in the queue
    while not any(m[0] == "done" for m in list(w._queue.queue)) and time.monotonic() < end:
        time.sleep(0.05)
    try:
        w.finish(timeout=30.0)
        kinds = [m[0] for m in w.messages()]
        assert "done" in kinds and "solution" in kinds, kinds
        assert w.outcome is not None
        assert w.messages() == []  # handed out once
    finally:
        w.close()
        end_idle_children()


class _Unreadable:
    """Pickles fine; unpickling it in the child raises (``int("not a number")``)."""

    def __reduce__(self):
        return (int, ("not a number",))


def test_a_job_the_child_cannot_read_is_reported(data):
    w = Worker({"data": data, "options": SearchOptions(seed=1),
                "deadline": time.monotonic() + 60.0, "extra": _Unreadable()})
    try:
        _answer(w)
        assert w.outcome is None
        assert w.error is not None and "the job could not be read" in w.error
        assert "ValueError" in w.error, w.error
        w.finish(timeout=30.0)
        assert w.proc.returncode == 0
    finally:
        w.close()
