"""The search in a child process: OR-Tools must never share a process with highspy.

The parent starts ``python -m allocator.heuristic.worker`` (a fresh interpreter, so nothing of
the parent's ``__main__`` is re-imported, unlike multiprocessing's spawn) and writes a
pickled job to its stdin: the :class:`~.data.SearchData` arrays (never the pydantic instance),
the options and the deadline. A child that has answered waits for its next job on the same
stdin (:class:`Worker` keeps it when the job was not large), and ends at the end of its stdin.
The child answers on its stdout with pickled messages:

* ``("solution", t, objective, true_objective, chosen | None)`` on every improvement (the
  assignment itself for the first three, then at most once a second, and only for instances
  small enough to use it);
* ``("bound", t, bound, method)`` on every better proven bound;
* ``("done", outcome)`` at the end, with the best assignment; or ``("error", text)``.

A job ``{"kind": "lp", ...}`` (:mod:`allocator.heuristic.regional`'s first pass) instead
solves the LP relaxation alone and answers one ``("done", ...)`` with its bound and row loads.
A job ``{"kind": "pdlp", ...}`` (the same pass where the regions' cut is thick) runs PDLP on
the LP of the whole market, given as its matrices, in rounds, and sends the row prices after
each round: ``("prices", t, prices, iterations, primal | None)``, the primal being the shares
of the first ``primal_cols`` columns (float32) when the job asks for them.

``t`` is a :func:`time.monotonic` instant (the clock is system-wide on Linux, so parent and
child agree). Writing ``("stop",)`` (or closing stdin) asks the child to finish early. The
child sends its messages from a writer thread, so it never waits on a parent that is busy
(for example in a HiGHS solve); C libraries that print to stdout are moved to stderr, which
the parent collects in a temporary file for error reports.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

SEND_EVERY_S = 1.0  # at most one assignment a second in the stream
SEND_MAX_NEEDS = 200_000  # larger assignments only travel at the end


# ------------------------------------------------------------------------------ parent side

REUSE_MAX_PAIRS = 400_000  # a child that searched more pairs than this ends with its job
_IDLE: list[_Child] = []  # children that have answered their job and wait for another
_IDLE_LOCK = threading.Lock()
_IDLE_PID = [os.getpid()]  # the process whose children these are (a fork starts afresh)


def _max_idle() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass
class Message:
    kind: str
    t: float
    payload: tuple


class _Child:
    """One child process (``python -m allocator.heuristic.worker``) and the thread reading
    its stream. Its messages go to the queue of the job it is running."""

    def __init__(self) -> None:
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "allocator.heuristic.worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
        )
        self._inbox: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def route(self, inbox: queue.Queue) -> None:
        """Send what the child says from now on to ``inbox`` (the next job's)."""
        with self._lock:
            self._inbox = inbox

    def _read(self) -> None:
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            try:
                msg = pickle.load(stream)
            except (EOFError, pickle.UnpicklingError, OSError):
                break
            with self._lock:
                self._inbox.put(msg)
        with self._lock:
            self._inbox.put(("eof",))

    def send(self, obj: Any) -> None:
        """Write one pickled message on the child's stdin (nothing if it has gone)."""
        try:
            assert self.proc.stdin is not None
            pickle.dump(obj, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def stderr_size(self) -> int:
        return os.fstat(self.stderr.fileno()).st_size

    def end(self, timeout: float) -> None:
        """Close its stdin (end of file: finish and exit), wait up to ``timeout`` seconds,
        then kill it."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5.0)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()


def _take_idle() -> _Child | None:
    """An idle child of this process still alive, if there is one."""
    with _IDLE_LOCK:
        if _IDLE_PID[0] != os.getpid():  # forked: those children belong to our parent
            _IDLE.clear()
            _IDLE_PID[0] = os.getpid()
        while _IDLE:
            child = _IDLE.pop()
            if child.proc.poll() is None:
                return child
            child.kill()
    return None


def _give_back(child: _Child) -> bool:
    """Keep ``child`` for the next job, if there is room; False when it must end."""
    with _IDLE_LOCK:
        if _IDLE_PID[0] != os.getpid() or len(_IDLE) >= _max_idle():
            return False
        _IDLE.append(child)
        return True


def end_idle_children(timeout: float = 10.0) -> list[int]:
    """End every idle child (end of file on its stdin; it exits with status 0), and return
    their exit codes. Called at exit; tests call it to see how the children end."""
    with _IDLE_LOCK:
        idle = list(_IDLE) if _IDLE_PID[0] == os.getpid() else []
        _IDLE.clear()
    codes = []
    for child in idle:
        child.end(timeout)
        codes.append(int(child.proc.returncode))
        child.stderr.close()
    return codes


atexit.register(end_idle_children)


class Worker:
    """One job in a child process: a search, an LP or a PDLP run.

    A child that has answered its job (``("done", ...)``) is kept, when its job was not
    large, for the next :class:`Worker` of this process: starting a child costs its imports
    (NumPy, SciPy, OR-Tools with pandas: 1-2 s of a core), a cost every search of a small
    market paid again, two or three times per lexicographic solve. At most one idle child
    per core is kept; one that has failed, been stopped before answering or run a large job
    ends as before. Idle children end when this process ends (end of file on their stdin;
    the watchdog if it is killed).

    Parameters
    ----------
    job
        ``{"data": SearchData, "options": SearchOptions, "deadline": monotonic instant,
        "start": optional assignment}``.
    """

    def __init__(self, job: dict[str, Any]) -> None:
        data = job.get("data")
        self._reusable = (job.get("kind") in (None, "lp") and data is not None
                          and int(getattr(data, "n_pairs", REUSE_MAX_PAIRS + 1))
                          <= REUSE_MAX_PAIRS)
        self._queue: queue.Queue = queue.Queue()
        self.outcome: dict | None = None
        self.error: str | None = None
        self.eof = False  # the child's stream has ended
        self._released = False  # the child went back to the idle ones
        self._held: list[tuple] = []  # messages finish() read, for the next messages()
        child = _take_idle()
        self.reused = child is not None
        if child is None:
            child = _Child()
        self._child = child
        self._stderr_from = child.stderr_size()
        child.route(self._queue)
        child.send(job)  # a child that died at start: the reader reports it

    @property
    def proc(self) -> subprocess.Popen:
        return self._child.proc

    def messages(self, timeout: float | None = None) -> list[tuple]:
        """Messages received so far (waiting up to ``timeout`` for the first one)."""
        out, self._held = self._held, []  # read by finish(), not yet handed out
        try:
            if not out:
                out.append(self._queue.get(timeout=timeout) if timeout
                           else self._queue.get_nowait())
            while True:
                out.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        for msg in out:
            if msg[0] == "done":
                self.outcome = msg[1]
            elif msg[0] == "error":
                self.error = msg[1]
            elif msg[0] == "eof":
                self.eof = True
        return out

    def stop(self) -> None:
        """Ask the child to finish now (it still sends its best)."""
        if not self._released:
            self._child.send(("stop",))

    def finish(self, timeout: float) -> None:
        """Let the child go: back to the idle ones when it has answered and may be reused,
        else wait up to ``timeout`` seconds for it to end and kill it after that.

        Its stdin is closed first: the child reads it for ``("stop",)`` until the end, and
        end of file is the same request."""
        if self._released:
            return
        self._held = self.messages()  # whether it has answered; the caller still gets them
        if (self._reusable and self.outcome is not None and self.error is None
                and not self.eof and self.proc.poll() is None):
            self._child.route(queue.Queue())  # nothing more of it reaches this job
            if _give_back(self._child):
                self._released = True
                return
        self._child.end(timeout)

    def _stderr_text(self) -> str:
        f = self._child.stderr
        if f.closed:
            return ""
        f.seek(self._stderr_from)
        return f.read().decode(errors="replace")

    def stderr_tail(self, limit: int = 2000) -> str:
        return self._stderr_text()[-limit:]

    def why_no_answer(self) -> str:
        """For a child that ended without an answer: its exit code (a signal by name) and the
        end of what it wrote on stderr (a native crash leaves its traceback there)."""
        from allocator.core.processes import exit_in_words

        code = self.proc.poll()
        how = "the search child " + ("had not ended" if code is None else exit_in_words(code))
        text = self._stderr_text()
        crash = text.find("Fatal Python error")  # faulthandler's report: its head first
        tail = (text[crash:crash + 2000] if crash >= 0 else text[-2000:]).strip()
        return f"{how}: {tail}" if tail else f"{how}, with nothing on stderr"

    def close(self) -> None:
        if self._released:
            return
        self._child.kill()


def run_to_end(job: dict[str, Any], grace_s: float = 30.0) -> dict[str, Any]:
    """Run one job in a child process and wait for its outcome (for remote workers).

    The job carries ``budget_s`` (seconds) instead of a ``deadline``: a monotonic instant
    means nothing on another machine, so the deadline is set here, when the job starts. Used
    by the regions on a ``dask.distributed`` cluster (:mod:`allocator.heuristic.regional`):
    each task runs its search in a child of the dask worker, as a local region would, so
    OR-Tools never shares a process with whatever the dask worker has loaded. Raises
    ``RuntimeError`` with the child's error when it fails.
    """
    job = dict(job)
    budget = float(job.pop("budget_s"))
    end = time.monotonic() + budget
    job["deadline"] = end
    w = Worker(job)
    try:
        while w.outcome is None and w.error is None and not w.eof:
            w.messages(timeout=0.2)
            if time.monotonic() > end + grace_s:
                w.stop()
                break
        w.finish(timeout=grace_s)
        w.messages()
        if w.outcome is None:
            raise RuntimeError(w.error or f"no answer: {w.why_no_answer()}")
        return w.outcome
    finally:
        w.close()


# ------------------------------------------------------------------------------ child side

def _child() -> None:
    from allocator.core.processes import report_crashes, watch_parent

    watch_parent()  # forked before this module starts its threads (the writer, the listener)
    report_crashes()  # a native crash (a signal) leaves its Python traceback on stderr
    # the protocol owns the real stdout; anything C libraries print goes to stderr
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    out = os.fdopen(proto_fd, "wb")
    inp = sys.stdin.buffer
    outbox: queue.Queue = queue.Queue()
    jobs: queue.Queue = queue.Queue()

    def write() -> None:
        while True:
            msg = outbox.get()
            if msg is None:
                break
            try:
                pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
                out.flush()
            except (BrokenPipeError, OSError):
                break

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    stopped = threading.Event()

    def listen() -> None:
        """Jobs and stop requests, in the order the parent wrote them. A job clears the
        stop of the job before it (a stop the parent sent just as that one answered), so
        only a stop written after a job reaches it. End of file stops the job running and
        ends the child once it has answered."""
        while True:
            try:
                msg = pickle.load(inp)
            except (EOFError, OSError):  # the parent is gone or done
                break
            except Exception:  # a job that cannot be read: the parent hears why
                import traceback

                jobs.put(traceback.format_exc())
                break
            if isinstance(msg, dict):
                stopped.clear()
                jobs.put(msg)
            elif msg and msg[0] == "stop":
                stopped.set()
            del msg  # the job is the main loop's alone: it drops it once answered
        stopped.set()
        jobs.put(None)

    threading.Thread(target=listen, daemon=True).start()
    while True:
        job = jobs.get()
        if job is None:
            break
        if isinstance(job, str):
            outbox.put(("error", f"the job could not be read:\n{job}"))
            break
        try:
            _run(job, outbox, stopped)
        except BaseException:  # report, never hang the parent; a failed child is not reused
            import traceback

            outbox.put(("error", traceback.format_exc()))
            break
        del job
        _give_memory_back()
    outbox.put(None)
    writer.join(timeout=60.0)
    out.close()
    # End here, not through the interpreter's shutdown: the listener thread may still be
    # blocked reading stdin (the parent closes it only after we exit), and finalisation then
    # waits a second for stdin's lock and aborts ("could not acquire lock for <stdin> at
    # interpreter shutdown", SIGABRT): a second lost at the end of every search and a crash
    # report each time. Everything the parent needs has been written and flushed above.
    sys.stderr.flush()
    os._exit(0)


def _give_memory_back() -> None:
    """Between two jobs: free what the last one left (its arrays, cycles among its objects)
    and hand the heap's free pages back to the system (glibc's ``malloc_trim``), so that an
    idle child holds about its imports rather than its largest job."""
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the pages stay with the process
        pass


def _run(job: dict, outbox: queue.Queue, stopped: threading.Event) -> None:
    if job.get("kind") == "lp":
        outbox.put(("done", _relaxation(job)))
        return
    if job.get("kind") == "pdlp":
        outbox.put(("done", _pdlp_prices(job, outbox, stopped)))
        return
    from allocator.heuristic.search import search

    data = job["data"]
    scale = float(data.unmet_scale)
    last_sent = [-np.inf]
    sent = [0]

    def true_objective(objective: float, chosen: np.ndarray) -> float:
        if scale == 1.0:
            return objective
        unmet = float(data.unmet_cost[chosen < 0].sum())
        return objective - unmet + unmet / scale

    def report(kind: str, info: dict) -> None:
        if kind == "solution":
            chosen = info["chosen"]
            send = None
            now = time.monotonic()
            # the first answers (construction, LP rounding) always travel: auto starts
            # HiGHS from them; later ones at most once a second
            if data.n_needs <= SEND_MAX_NEEDS and (sent[0] < 3
                                                   or now - last_sent[0] >= SEND_EVERY_S):
                send = chosen.copy()
                last_sent[0] = now
                sent[0] += 1
            outbox.put(("solution", info["t"], info["objective"],
                        true_objective(info["objective"], chosen), send))
        elif kind == "bound":
            outbox.put(("bound", info["t"], info["bound"], info["method"]))

    outcome = search(data, deadline=job["deadline"], options=job.get("options"),
                     report=report, stop=stopped.is_set, start=job.get("start"),
                     guide=job.get("guide"))
    outbox.put(("done", {
        "chosen": outcome.chosen, "objective": outcome.objective,
        "true_objective": true_objective(outcome.objective, outcome.chosen),
        "bound": outcome.bound, "bound_method": outcome.bound_method,
        "stats": outcome.stats, "t": time.monotonic(),
        "guide": outcome.guide if job.get("want_guide") else None,
    }))


def _relaxation(job: dict) -> dict:
    """The job ``{"kind": "lp", "data", "deadline"}``: the LP relaxation of every component
    (simplex whatever the size; a component not solved in time keeps zero prices). Answers
    the proven bound ``L(lambda)`` at the LP prices, the prices, and the load the LP solution
    puts on each row (a fundable pair counts its quantity on its holder's row)."""
    from allocator.heuristic.data import components
    from allocator.heuristic.lagrangian import dual_value
    from allocator.heuristic.relaxation import solve_relaxation

    data = job["data"]
    n_comp, labels = components(data)
    relax = solve_relaxation(data, labels, n_comp, deadline=job["deadline"],
                             max_pairs=job.get("max_pairs", 10**9))
    bound = dual_value(data, relax.lam)[0]
    x = relax.x
    load = np.bincount(data.pair_rows.ravel(), weights=(data.pair_w * x[:, None]).ravel(),
                       minlength=data.n_rows + 1)
    m = data.pair_holder >= 0
    load += np.bincount(data.holder_row[data.pair_holder[m]], weights=data.pair_q[m] * x[m],
                        minlength=data.n_rows + 1)
    return {"bound": float(bound), "load": load[:-1], "lam": relax.lam,
            "solved": f"{relax.solved_components}/{relax.components}",
            "exact": bool(np.isfinite(relax.value)), "lp_s": round(relax.runtime_s, 3),
            "t": time.monotonic()}


def _pdlp_prices(job: dict, outbox: queue.Queue, stopped: threading.Event) -> dict:
    """The job ``{"kind": "pdlp", "c", "A", "row_hi", "col_hi", "offset", "price_rows",
    "deadline", "round_s"}``: PDLP (OR-Tools' first-order LP method) on
    ``min c.x + offset, A x <= row_hi, 0 <= x <= col_hi``, in rounds of at most ``round_s``
    seconds, each started from the previous round's primal and dual answer. After each round
    the prices of the rows ``price_rows`` (a slice: the capacity rows), ``max(0, -dual)``,
    are sent, with the shares of the first ``primal_cols`` columns when the job has that key;
    the parent makes the prices a bound (``L(lambda)`` is valid for any prices, however
    far PDLP is from converging) and rounds the shares. Rounds end at the deadline, on a
    stop, or when PDLP reports the LP solved within its tolerance."""
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp

    qp = pdlp.QuadraticProgram()
    qp.objective_vector = job["c"]
    qp.objective_offset = float(job["offset"])
    qp.constraint_matrix = job["A"]
    qp.constraint_lower_bounds = np.full(len(job["row_hi"]), -np.inf)
    qp.constraint_upper_bounds = job["row_hi"]
    qp.variable_lower_bounds = np.zeros(len(job["c"]))
    qp.variable_upper_bounds = job["col_hi"]
    del job["A"]
    rows = job["price_rows"]
    start = None
    rounds = iterations = 0
    reason = "not started"
    while not stopped.is_set():
        left = job["deadline"] - time.monotonic()
        if left < 1.0:
            break
        params = solvers_pb2.PrimalDualHybridGradientParams()
        params.num_threads = int(job.get("threads", 2))
        params.num_shards = int(job.get("shards", 0))  # 0: PDLP's default
        params.termination_criteria.time_sec_limit = min(float(job["round_s"]), left)
        crit = params.termination_criteria.simple_optimality_criteria
        crit.eps_optimal_relative = crit.eps_optimal_absolute = float(job.get("tolerance", 1e-5))
        res = pdlp.primal_dual_hybrid_gradient(qp, params, initial_solution=start)
        rounds += 1
        iterations += int(res.solve_log.iteration_count)
        reason = solve_log_pb2.TerminationReason.Name(res.solve_log.termination_reason)
        dual = np.asarray(res.dual_solution)
        if len(dual) == len(job["row_hi"]) and np.isfinite(dual).all():
            primal = None
            n_primal = int(job.get("primal_cols", 0))
            if n_primal:  # the first columns' shares, for a rounding in the parent
                primal = np.asarray(res.primal_solution)[:n_primal].astype(np.float32)
                if not np.isfinite(primal).all():
                    primal = None
            outbox.put(("prices", time.monotonic(), np.maximum(0.0, -dual[rows]), iterations,
                        primal))
        if res.solve_log.termination_reason == solve_log_pb2.TERMINATION_REASON_OPTIMAL:
            break
        if res.solve_log.termination_reason != solve_log_pb2.TERMINATION_REASON_TIME_LIMIT:
            break  # numerical trouble or infeasibility: no round after it would help
        start = pdlp.PrimalAndDualSolution()
        start.primal_solution = res.primal_solution
        start.dual_solution = res.dual_solution
    return {"rounds": rounds, "iterations": iterations, "reason": reason,
            "t": time.monotonic()}


if __name__ == "__main__":
    _child()
