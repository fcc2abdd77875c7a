"""Run benchmark solves, each in its own spawned child process.

highspy and OR-Tools cannot share a process, and a fresh process per solve also gives
a clean peak-memory figure (:class:`TreeMemory`): every :data:`SAMPLE_EVERY_S`, each process
of the tree (the child and all its living descendants) reports its own peak resident set size
since the last sample (``VmHWM`` in ``/proc/PID/status``, which the kernel keeps between
samples, reset after each reading through ``/proc/PID/clear_refs``), and the largest sum over
the samples is the figure: an upper bound of the tree's memory at any one moment between two
samples (the processes' peaks within 0.2 s need not coincide), which misses only the last
fraction of a second of a process that ends between two samples. A child whose command line
is still its parent's has been forked and not yet exec'd (its pages are its parent's, copied
on write): it is not counted, else each worker started by a 10 GB process added 10 GB
(``zoo-indep-XL-1``: 20.2 GB reported where the tree held about 8 GB; nothing here forks
without exec). ``getrusage``'s
``ru_maxrss`` is not used: on Linux a child's ``ru_maxrss`` after fork and exec starts at its
*parent's* size, so the child's own peak plus its largest child's counted a large solving
process twice. Nor are peaks since the start (``VmHWM`` never reset): a solving process's
peak while it loads and builds, added to its children's peaks minutes later, is no moment.
The largest sum of resident sizes at a sample is kept beside it (``peak_mb_sampled``).

Each solve yields one row (a dict; see :data:`FIELDS`); rows are appended to a JSON-lines file
as they finish, so a long run can be resumed (``--resume``) and inspected while it runs.

Progress over time comes from :attr:`allocator.core.result.Result.progress` when the solver fills
it. The exact backends do not, so their logs are read instead: HiGHS's MIP table (its output
is captured at the file-descriptor level in the child) and CBC's ``Cbc0010I`` / ``Cbc0012I``
lines (the backend's temporary log file is kept for that). Log times count from the backend's
own start; they are shifted so that the backend's reported total time ends when the solve
returned, so build time is included and the times are, if anything, late.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import re
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .registry import Spec

FIELDS = (
    "instance", "family", "size", "solver", "time_limit", "status", "objective", "bound", "gap",
    "bench_sense", "bench_offset", "bench_scale", "wall_s", "build_s", "solve_s", "load_s",
    "prep_s", "peak_mb", "peak_mb_sampled", "check_ok", "violations", "n_needs", "n_pairs",
    "message", "progress",
)

DESIGN_SOLVERS = ("highs", "cbc", "highs-pulp")  # the registry's design backends

# slack on top of the time limit before a child is killed (loading L/XL, spawning, checking)
KILL_SLACK_S = {"tiny": 120.0, "orlib": 120.0, "S": 120.0, "M": 180.0, "L": 900.0, "XL": 3600.0}


# ------------------------------------------------------------------------------ child side

SAMPLE_EVERY_S = 0.2  # the process tree's memory is summed this often


class TreeMemory:
    """The largest memory of this process and all its descendants *together*: every
    ``every_s``, from creation until :meth:`stop` (which returns it, in MB), a thread adds up
    each living process's own peak resident set size since the previous sample (``VmHWM`` in
    ``/proc/PID/status``, then reset by writing ``5`` to ``/proc/PID/clear_refs``; its current
    resident size where that cannot be read) and keeps the largest sum. Where the reset is
    refused the peaks run from each process's start: still an upper bound, a looser one
    (:attr:`reset` says whether every reset worked). The current resident sizes' largest sum
    is kept too (:attr:`rss_peak`): a lower figure that a spike between two samples escapes."""

    def __init__(self, every_s: float = SAMPLE_EVERY_S) -> None:
        import threading

        import psutil

        self._me = psutil.Process()
        self._every = every_s
        self.peak = 0  # bytes: the largest sum of the processes' peaks between two samples
        self.rss_peak = 0  # bytes: the largest sum of their resident sizes at a sample
        self.reset = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-memory", daemon=True)
        self._thread.start()

    def _hwm(self, pid: int) -> int | None:
        """The process's peak resident set size in bytes since the last call (Linux), or
        None."""
        peak = None
        try:
            with open(f"/proc/{pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        peak = int(line.split()[1]) * 1024  # kB
                        break
        except (OSError, ValueError, IndexError):
            return None
        try:
            with open(f"/proc/{pid}/clear_refs", "wb") as fh:
                fh.write(b"5")  # the peak starts again from the current resident size
        except OSError:
            self.reset = False
        return peak

    def _sample(self) -> None:
        import psutil

        procs = [self._me]
        try:
            procs += self._me.children(recursive=True)
        except psutil.Error:
            pass
        cmdline: dict[int, list[str]] = {}
        for proc in procs:
            try:
                cmdline[proc.pid] = proc.cmdline()
            except psutil.Error:
                pass
        total = 0
        total_hwm = 0
        for proc in procs:
            try:
                if proc is not self._me and cmdline.get(proc.pid) == cmdline.get(proc.ppid()):
                    # forked and not yet exec'd (subprocess.Popen, for a fraction of a second
                    # while the page tables are copied): its pages are its parent's, and a
                    # 10 GB parent starting a worker would be counted twice
                    continue
                rss = proc.memory_info().rss
            except psutil.Error:  # ended between the listing and the reading
                continue
            hwm = self._hwm(proc.pid)
            total += rss
            total_hwm += max(rss, hwm or 0)
        self.rss_peak = max(self.rss_peak, total)
        self.peak = max(self.peak, total_hwm)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.peak / 2**20


@contextmanager
def _stdout_to(path: str) -> Iterator[None]:
    """Send file descriptor 1 (C libraries included) to ``path`` for the duration."""
    sys.stdout.flush()
    saved = os.dup(1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 1)
    os.close(fd)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


class _KeepLogs(types.ModuleType):
    """Stands in for ``os`` inside the PuLP backend so that CBC's log file survives the solve."""

    def __init__(self, kept: list[str]) -> None:
        super().__init__("os")
        self._kept = kept

    def unlink(self, path: str) -> None:
        self._kept.append(path)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


_HIGHS_ROW = re.compile(
    r"^\s*[A-Za-z]?\s+\S+\s+\S+\s+\S+\s+[\d.]+%\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+"
    r"\s+([\d.]+)s\s*$")
_HIGHS_TOTAL = re.compile(r"^\s*Timing\s+([\d.]+)\s*$", re.M)
_CBC_SOL = re.compile(r"Cbc00(?:04|12)I Integer solution of (\S+) found.*?\(([\d.]+) seconds\)")
_CBC_NODE = re.compile(r"Cbc0010I After .*?(\S+) best solution, best possible (\S+) \(([\d.]+) "
                       r"seconds\)")
_CBC_PARTIAL = re.compile(r"Cbc0005I Partial search - best objective (\S+) \(best possible "
                          r"(\S+)\).*?\(([\d.]+) seconds\)")
_CBC_CONT = re.compile(r"Continuous objective value is (\S+) - ([\d.]+) seconds")
_CBC_TOTAL = re.compile(r"Wallclock seconds\):\s+([\d.]+)")


def _num(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) and abs(v) < 1e29 else None


def parse_highs_log(text: str) -> tuple[list[tuple[float, float | None, float | None]], float]:
    """(time, best solution, best bound) rows of the last MIP solve in a HiGHS log, and its
    total time."""
    runs = text.split("Solving MIP model with")
    last = runs[-1] if len(runs) > 1 else text
    rows = []
    for line in last.splitlines():
        m = _HIGHS_ROW.match(line)
        if m:
            rows.append((float(m.group(3)), _num(m.group(2)), _num(m.group(1))))
    total = _HIGHS_TOTAL.findall(last)
    return rows, float(total[-1]) if total else (rows[-1][0] if rows else 0.0)


def parse_cbc_log(text: str) -> tuple[list[tuple[float, float | None, float | None]], float]:
    """(time, best solution, best bound) rows from a CBC log (objective without the model's
    constant offset), and CBC's total wall time."""
    events: list[tuple[float, str, float | None]] = []
    for m in _CBC_CONT.finditer(text):
        events.append((float(m.group(2)), "bound", _num(m.group(1))))
    for m in _CBC_SOL.finditer(text):
        events.append((float(m.group(2)), "sol", _num(m.group(1))))
    for m in _CBC_NODE.finditer(text):
        events.append((float(m.group(3)), "sol", _num(m.group(1))))
        events.append((float(m.group(3)), "bound", _num(m.group(2))))
    for m in _CBC_PARTIAL.finditer(text):
        events.append((float(m.group(3)), "sol", _num(m.group(1))))
        events.append((float(m.group(3)), "bound", _num(m.group(2))))
    events.sort(key=lambda e: e[0])
    rows = []
    best: float | None = None
    bound: float | None = None
    for t, kind, v in events:
        if v is None:
            continue
        if kind == "sol":
            best = v if best is None else min(best, v)
        else:
            bound = v if bound is None else max(bound, v)
        rows.append((t, best, bound))
    total = _CBC_TOTAL.findall(text)
    return rows, float(total[-1]) if total else (rows[-1][0] if rows else 0.0)


def _solve(problem: Any, solver: str, params: Any) -> Any:
    if problem.instance.block_bids:  # a design instance (facility location): DESIGN.md section 5
        from allocator.design.solve import DesignParams, solve_design

        return solve_design(problem.instance, DesignParams(
            solver=solver, time_limit=params.time_limit, threads=params.threads,
            seed=params.seed, verbose=params.verbose))
    from allocator.solvers import solve  # the registry's one dispatcher, CP-SAT included

    return solve(problem, params)


def solve_in_child(spec: Spec, solver: str, time_limit: float, threads: int | None,
                   seed: int, cache: Path | None = None) -> dict[str, Any]:
    """Load, solve, check (call in a fresh process). Returns one result row, without the
    parent's fields."""
    row: dict[str, Any] = {}
    t = time.perf_counter()
    instance = spec.load(cache)
    row["load_s"] = time.perf_counter() - t
    from allocator.core.check import check
    from allocator.core.params import SolveParams
    from allocator.core.problem import Problem

    t = time.perf_counter()
    problem = Problem.from_instance(instance)
    row["prep_s"] = time.perf_counter() - t
    row["n_needs"] = problem.n_needs
    row["n_pairs"] = problem.n_pairs
    bench = instance.benchmark
    if bench is not None:
        row.update(bench_sense=bench.sense, bench_offset=bench.offset, bench_scale=bench.scale)
    if instance.block_bids and solver not in DESIGN_SOLVERS:
        return {**row, "status": "not_run",
                "message": f"design instance: solved by allocator.design with "
                           f"{', '.join(DESIGN_SOLVERS)} only"}
    read_log = solver in ("highs", "highs-pulp", "cbc")
    params = SolveParams(solver=solver, time_limit=time_limit, threads=threads, seed=seed,
                         verbose=read_log and solver != "cbc")
    kept: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "solver.log")
        if solver == "cbc":
            from allocator.exact import pulp_backend

            pulp_backend.os = _KeepLogs(kept)  # type: ignore[assignment]
        t = time.perf_counter()
        if read_log and solver != "cbc":
            with _stdout_to(log_path):
                result = _solve(problem, solver, params)
        else:
            result = _solve(problem, solver, params)
        row["wall_s"] = time.perf_counter() - t
        progress = [tuple(p) for p in result.progress]
        if not progress and read_log:
            if solver == "cbc":
                text = ""
                for path in kept[-1:]:
                    text = Path(path).read_text(errors="replace")
                rows, total = parse_cbc_log(text)
                offset = problem.fixed_block_cost + problem.transfer_constant
                rows = [(tt, None if o is None else o + offset, None if b is None else b + offset)
                        for tt, o, b in rows]
            else:
                rows, total = parse_highs_log(Path(log_path).read_text(errors="replace"))
            shift = max(0.0, result.runtime_s - total)
            progress = [(tt + shift, o, b) for tt, o, b in rows]
        for path in kept:
            Path(path).unlink(missing_ok=True)
    if result.objective is not None:  # the final answer, when the solve returned
        progress.append((row["wall_s"], result.objective, result.bound))
    row.update(status=result.status.value, objective=result.objective, bound=result.bound,
               gap=result.gap, build_s=result.build_s, solve_s=result.solve_s,
               message=result.message[:300], progress=progress,
               unmet=result.terms.get("unmet") if result.terms else None)
    if result.solution is not None:
        report = check(instance, result.solution, reported=result)
        row["check_ok"] = report.ok
        row["violations"] = len(report.violations)
        if not report.ok:
            row["message"] = (row["message"] + " | check: " + report.violations[0])[:300]
    return row


def _child(conn: Any, spec: Spec, solver: str, time_limit: float, threads: int | None,
           seed: int, cache: Path | None) -> None:
    tree = TreeMemory()
    try:
        row = solve_in_child(spec, solver, time_limit, threads, seed, cache)
    except Exception as exc:  # the row says what went wrong; the suite goes on
        row = {"status": "error", "message": f"{type(exc).__name__}: {exc}",
               "traceback": traceback.format_exc()[-2000:]}
    row["peak_mb"] = tree.stop()
    row["peak_mb_sampled"] = tree.rss_peak / 2**20
    conn.send(row)
    conn.close()


def lp_bound_in_child(spec: Spec, time_limit: float, cache: Path | None = None
                      ) -> dict[str, Any]:
    """The LP relaxation bound of a generated instance with HiGHS (call in a fresh process)."""
    from allocator.core.problem import Problem
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build

    instance = spec.load(cache)
    problem = Problem.from_instance(instance)
    if problem.objective_kind != "weighted":
        return {"lp_bound": None, "lp_s": 0.0, "lp_status": "lexicographic: not computed"}
    t = time.perf_counter()
    model = build([(problem, 1.0)])
    res = highs.solve(model, SolverOptions(time_limit=time_limit), relax=True)
    return {"lp_bound": res.bound, "lp_s": time.perf_counter() - t, "lp_status": res.status.value}


def _lp_child(conn: Any, spec: Spec, time_limit: float, cache: Path | None) -> None:
    try:
        out = lp_bound_in_child(spec, time_limit, cache)
    except Exception as exc:
        out = {"lp_bound": None, "lp_s": 0.0, "lp_status": f"error: {exc}"}
    conn.send(out)
    conn.close()


# ------------------------------------------------------------------------------ parent side

def run_child(target: Callable[..., None], args: tuple, timeout: float) -> dict[str, Any] | None:
    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(send, *args))
    started = time.perf_counter()
    proc.start()
    send.close()
    out = None
    answered = recv.poll(timeout)
    if answered:
        try:
            out = recv.recv()
        except EOFError:  # the child ended without sending anything: let it finish
            out = None
            proc.join(timeout=10)
    killed = proc.is_alive()
    if killed:
        proc.kill()
    proc.join()
    if out is None:
        took = time.perf_counter() - started
        why = (f"killed by the runner after {timeout:.0f} s" if killed and not answered
               else f"exited with code {proc.exitcode} after {took:.0f} s")
        return {"status": "error", "message": f"child process {why}, without a result"}
    return out


def run_one(spec: Spec, solver: str, *, time_limit: float | None = None,
            threads: int | None = None, seed: int = 0, cache: Path | None = None
            ) -> dict[str, Any]:
    """One solve of ``spec`` by ``solver`` in a spawned child; the finished row."""
    limit = spec.time_limit if time_limit is None else time_limit
    t = time.perf_counter()
    out = run_child(_child, (spec, solver, limit, threads, seed, cache),
                     limit * 2 + KILL_SLACK_S.get(spec.size, 300.0))
    row: dict[str, Any] = {k: None for k in FIELDS}
    row.update(instance=spec.name, family=spec.family, size=spec.size, solver=solver,
               time_limit=limit, progress=[])
    row.update(out or {})
    row["child_s"] = time.perf_counter() - t
    return row


def run_lp_bound(spec: Spec, time_limit: float = 600.0, cache: Path | None = None
                 ) -> dict[str, Any]:
    """The LP bound row of a generated instance (``solver="lp"``)."""
    out = run_child(_lp_child, (spec, time_limit, cache),
                    time_limit + KILL_SLACK_S.get(spec.size, 300))
    row: dict[str, Any] = {k: None for k in FIELDS}
    row.update(instance=spec.name, family=spec.family, size=spec.size, solver="lp",
               time_limit=time_limit, progress=[], status=out.get("lp_status"),
               bound=out.get("lp_bound"), wall_s=out.get("lp_s"))
    return row


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_suite(
    specs: list[Spec],
    solvers: list[str],
    jsonl: Path,
    *,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    resume: bool = False,
    lp_bounds: bool = True,
    cache: Path | None = None,
    log: Callable[[str], None] = print,
    beyond_caps: bool = False,
) -> list[dict[str, Any]]:
    """Run every (instance, solver) pair, appending each row to ``jsonl`` as it finishes.

    Solvers above their size cap (:data:`benchmarks.registry.MAX_SIZE`) are not run, unless
    ``beyond_caps``; a row with status ``not_run`` says so. With ``resume`` the rows already
    in ``jsonl`` are kept and their pairs skipped; otherwise the file is started afresh.
    With ``cache`` every instance is generated or imported once and read back from that
    folder afterwards.
    """
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    rows = read_rows(jsonl) if resume else []
    done = {(r["instance"], r["solver"]) for r in rows}
    if not resume:
        jsonl.write_text("")

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        with jsonl.open("a") as fh:
            fh.write(json.dumps(row, default=float) + "\n")

    for spec in specs:
        if lp_bounds and spec.family == "generated" and (spec.name, "lp") not in done:
            row = run_lp_bound(spec, cache=cache)
            emit(row)
            log(f"{spec.name:>16} {'lp':>10}: bound {row['bound']} ({row['status']})")
        for solver in solvers:
            if (spec.name, solver) in done:
                continue
            if not beyond_caps and not spec.runs(solver):
                row = {k: None for k in FIELDS}
                row.update(instance=spec.name, family=spec.family, size=spec.size,
                           solver=solver, status="not_run", progress=[],
                           time_limit=spec.time_limit if time_limit is None else time_limit,
                           message=f"{solver} is not run above size {_cap(solver)}")
                emit(row)
                continue
            row = run_one(spec, solver, time_limit=time_limit, threads=threads, seed=seed,
                          cache=cache)
            emit(row)
            log(f"{spec.name:>16} {solver:>10}: {row['status']}, objective {row['objective']}, "
                f"bound {row['bound']}, {row.get('wall_s') or 0:.1f} s, "
                f"{row.get('peak_mb') or 0:.0f} MB, check {row.get('check_ok')}")
    return rows


def _cap(solver: str) -> str:
    from .registry import MAX_SIZE

    return MAX_SIZE.get(solver, "XL")
