"""The design solves that split the scenarios: independent, scenario groups, Benders.

The methods of :func:`allocator.design.solve.solve_design` other than the extensive form, each
taking the solve's :class:`~allocator.design.context.DesignContext`:

* :func:`solve_independent` (no awardable bid): nothing is chosen once, so the scenarios
  separate exactly; the bound is the weighted sum of the scenarios' bounds.
* :func:`solve_groups` (larger, lexicographic objective, or on request): scenario groups small
  enough for the extensive form (:func:`solve_group`, a sweep kernel); each group's design MIP
  gives a candidate and a bound; every candidate is evaluated on every scenario; the best is
  polished (:mod:`allocator.design.polish`). The bound is ``sum_g W_g * bound_g`` (none with
  the lexicographic objective).
* :func:`solve_benders` (larger, weighted objective): the cut loop over the machinery of
  :mod:`allocator.design.benders` (LP recourse sweeps, master MIP), then the final candidates:
  the best LP designs, rounded to whole beds where the lots' limits allow, evaluated exactly
  (every scenario's MIP recourse), the best polished. The bound is the larger of the master's
  and the wait-and-see LP bound.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from allocator.core.params import SolveParams
from allocator.core.processes import exit_in_words, report_crashes, watch_parent
from allocator.core.progress import muted, report
from allocator.core.result import Result, Status, gap
from allocator.design.aggregate import grouped_aggregates
from allocator.design.benders import (
    LpRecourse,
    Master,
    design_lp_bound,
    lp_recourse,
    whole_capacity,
)
from allocator.design.context import (
    Awards,
    DesignContext,
    Scored,
    evaluate,
    evaluate_many,
    expected,
    failed,
    rank,
    result,
    solve_params,
    weighted_sum,
)
from allocator.design.extensive import awards_from_values, design_problems, solve_extensive
from allocator.design.limits import limits_ok
from allocator.design.polish import polish
from allocator.design.recourse import Pool
from allocator.design.scenarios import Demand
from allocator.design.sweep import chunks
from allocator.exact.highs import stopped_when
from allocator.exact.model import build
from allocator.exact.solve import solve_model
from allocator.instance.schema import Instance

LOG = logging.getLogger("allocator.design")
MASTER_GAP = 1e-4  # relative gap of each Benders master MIP
WAIT_AND_SEE_SWEEPS = 3.0  # the wait-and-see LP bound takes about this many sweeps' time
WAIT_AND_SEE_MIN_GAIN = 0.005  # ... and is computed only when it may gain more than this
AGGREGATED_MASTER_SHARE = 0.35  # of the time limit, at most, for the aggregated master MIP
RELAXED_TOL = 2e-5  # the relaxed phase has converged: its bound within this of its best point


# --------------------------------------------------------------------------- independent


def solve_independent(ctx: DesignContext) -> Result:
    """No awardable bid: every scenario's allocation on its own, exactly."""
    outcomes = evaluate(ctx, {})
    bad = [o for o in outcomes if not o.status.has_solution]
    if bad:
        return failed(ctx, bad, ctx.common)
    bound = None
    proven = all(o.status == Status.optimal for o in outcomes)
    if ctx.kind != "lexicographic":
        recourse = weighted_sum((o.weight, o.bound) for o in outcomes)
        if recourse is not None:
            bound = ctx.base.fixed_block_cost + recourse
    elif proven:
        # Nothing is chosen once, so the scenarios separate: the least expected unmet is each
        # scenario's least unmet, and then each scenario's own lexicographic optimum is the
        # design's. With every scenario's two phases proven, the answer is its own bound.
        recourse = weighted_sum((o.weight, o.objective) for o in outcomes)
        if recourse is not None:
            bound = ctx.base.fixed_block_cost + recourse
    status = Status.optimal if proven else Status.feasible
    return result(ctx, {}, outcomes, status=status, bound=bound,
                  extra={**ctx.common, "bound_kind": "sum of the scenarios' bounds (exact: "
                                                    "nothing is chosen once)"})


# --------------------------------------------------------------------------- scenario groups


@dataclass(frozen=True)
class GroupOutcome:
    """One scenario group's design MIP (decomposition)."""

    scenarios: tuple[str | None, ...]
    weight: float
    status: Status
    awards: dict[Pool, float] | None
    objective: float | None  # of the group model (weights renormalised to sum to 1)
    bound: float | None
    runtime_s: float
    message: str = ""


@muted()  # one group's design MIP, not the design's progress
def solve_group(
    instance: Instance,
    group: Sequence[Demand],
    lot_demand: np.ndarray,
    params: SolveParams,
    kind: str,
) -> GroupOutcome:
    """The design MIP of one group of scenarios (their weights renormalised to sum to 1).

    ``lot_demand`` is the expected demand over *all* scenarios, so that every group has the
    same first-stage rules (clarification 7). A sweep kernel: plain, picklable arguments.
    """
    t0 = time.perf_counter()
    weight = float(sum(d.weight for d in group))
    problems = design_problems(instance, group)
    model = build([(p, d.weight / weight) for p, d in zip(problems, group, strict=True)],
                  design=True, expected_lot_demand=lot_demand)
    res, _ = solve_model(model, params, kind)
    ids = tuple(d.id for d in group)
    if not res.status.has_solution or res.values is None:
        return GroupOutcome(ids, weight, res.status, None, None, res.bound,
                            time.perf_counter() - t0, res.message)
    return GroupOutcome(ids, weight, res.status, awards_from_values(model, problems[0], res.values),
                        res.objective, res.bound, time.perf_counter() - t0, res.message)


def solve_groups(ctx: DesignContext) -> Result:
    """Each scenario group's design MIP, every group's design on every scenario, polish."""
    ds, params, runner = ctx.demands, ctx.params, ctx.runner
    per_demand = max(1.0, ctx.columns / len(ds))
    size = params.group_size or max(1, int(params.max_columns // per_demand))
    n_groups = math.ceil(len(ds) / size)
    groups = [list(ds[g::n_groups]) for g in range(n_groups)]  # round robin: mixed groups
    waves = math.ceil(n_groups / runner.workers)
    group_params = solve_params(ctx, max(1.0, 0.45 * ctx.left() / waves),
                                1 if runner.workers > 1 else params.threads)
    group_out: list[GroupOutcome] = runner.map(
        solve_group, [(ctx.core, g, ctx.lot_demand, group_params, ctx.kind) for g in groups])
    extra: dict[str, Any] = {**ctx.common, "groups": [
        {"scenarios": list(g.scenarios), "weight": g.weight, "status": g.status.value,
         "objective": g.objective, "bound": g.bound, "runtime_s": g.runtime_s,
         "awards": len(g.awards or {})} for g in group_out]}
    bound = None
    if ctx.kind != "lexicographic":
        bound = weighted_sum((g.weight, g.bound) for g in group_out)
    if bound is not None:
        extra["bound_kind"] = ("group bound: sum over scenario groups of weight x the group "
                               "design MIP's bound")
    else:
        extra["bound_kind"] = "none (lexicographic, or a group without a bound)"
    candidates: list[Awards] = []
    for g in group_out:
        if (g.awards is not None and g.awards not in candidates
                and limits_ok(ctx.instance, g.awards, ctx.lot_demand)):
            candidates.append(g.awards)
    if not candidates:
        status = (Status.infeasible if any(g.status == Status.infeasible for g in group_out)
                  else Status.time_limit_no_solution)
        return Result(status=status, solver=ctx.solver, bound=bound, runtime_s=ctx.elapsed(),
                      message="no scenario group found a design", extra=extra)
    scored = evaluate_many(ctx, candidates)
    history = [{"source": f"group {i + 1}", "objective": expected(ctx, a, o)}
               for i, (a, o) in enumerate(scored)]
    return _best_of(ctx, scored, history, extra=extra, bound=bound)


def _best_of(ctx: DesignContext, scored: list[Scored], history: list[dict[str, Any]], *,
             extra: dict[str, Any], bound: float | None, reserve: float = 0.0,
             rounder: Callable[[Awards], Awards] | None = None) -> Result:
    """The result of the best design of ``scored`` once polished; optimal when it meets
    ``bound`` within the gap. ``history`` (the candidates tried) goes in ``extra``."""
    feasible = [(a, o) for a, o in scored if all(x.status.has_solution for x in o)]
    if not feasible:
        return failed(ctx, [x for _, o in scored for x in o if not x.status.has_solution],
                      extra)
    best = min(feasible, key=lambda ao: rank(ctx, ao))
    best_awards, best_out = polish(ctx, best, history, reserve=reserve, rounder=rounder)
    extra["candidates"] = history
    objective = expected(ctx, best_awards, best_out)
    status = Status.feasible
    if bound is not None and (gap(objective, bound) or 0.0) <= ctx.params.gap:
        status = Status.optimal
    return result(ctx, best_awards, best_out, status=status, bound=bound, extra=extra)


# --------------------------------------------------------------------------- Benders


class _Sweep:
    """Every scenario's LP recourse at given awards, on the runner (one task per chunk).

    Each scenario's LP starts from the basis it ended with in the previous sweep; ``took`` is
    the last sweep's wall time: roughly what an exact evaluation of one design costs.
    """

    def __init__(self, ctx: DesignContext):
        runner = ctx.runner
        self.ctx = ctx
        self.parts = chunks(list(range(len(ctx.demands))),
                            2 * runner.workers if runner.workers > 1 else 1)
        self.threads = 1 if runner.workers > 1 else ctx.params.threads
        self.bases: list[bytes | None] = [None] * len(ctx.demands)
        self.token = uuid.uuid4().hex
        self.took = 0.0

    def _tasks(self, y: np.ndarray, volume: np.ndarray) -> list[tuple]:
        ctx, ds = self.ctx, self.ctx.demands
        award = np.asarray(y, dtype=float)
        return [(ctx.core, [ds[i] for i in part], ctx.lot_demand, volume,
                 [self.bases[i] for i in part], self.threads, self.token, award)
                for part in self.parts]

    def __call__(self, y: np.ndarray, volume: np.ndarray, timed: bool = True
                 ) -> list[LpRecourse]:
        """Every scenario's LP recourse at ``(y, volume)``; ``timed``: the wall time is
        ``took``."""
        start = time.perf_counter()
        tasks = self._tasks(y, volume)
        out = [r for chunk in self.ctx.runner.map(lp_recourse, tasks) for r in chunk]
        for i, r in enumerate(out):
            self.bases[i] = r.basis
        if timed:
            self.took = time.perf_counter() - start
        return out

    def beside(self, y: np.ndarray, volume: np.ndarray) -> list[LpRecourse]:
        """The same beside a master MIP: one chunk at a time, so that it keeps to one core
        (the master holds the other); ``took`` is left as it was (such a sweep is slower
        than one on every core). The results are the same as :meth:`__call__`'s."""
        out: list[LpRecourse] = []
        for task in self._tasks(y, volume):
            out.extend(self.ctx.runner.map(lp_recourse, [task])[0])
        for i, r in enumerate(out):
            self.bases[i] = r.basis
        return out

    def wait_and_see(self) -> float | None:
        """The wait-and-see LP bound: every scenario's own design LP, weighted.

        Per-scenario design MIPs share ``wait_and_see_mip_share`` of the time limit, run
        ``runner.workers`` at a time.
        """
        ctx, ds, params = self.ctx, self.ctx.demands, self.ctx.params
        mip_s = (params.wait_and_see_mip_share * params.time_limit * ctx.runner.workers
                 / max(1, len(ds)))
        ws_parts = ctx.runner.map(design_lp_bound, [
            (ctx.core, [ds[i] for i in part], ctx.lot_demand, self.threads, mip_s)
            for part in self.parts])
        ws_values = [v for part in ws_parts for v in part]
        return weighted_sum((d.weight, v) for d, v in zip(ds, ws_values, strict=True))


@dataclass
class _CutLoop:
    """The state of the Benders cut loop."""

    master: Master
    sweep: _Sweep
    wait_and_see: float | None
    candidates: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    lower: float | None = None  # the bound so far
    # the relaxed phase's best point's value (block cost plus LP recourse at fractional
    # awards): the LP relaxation of the design model is at most this, the wait-and-see LP too
    relaxed_upper: float = math.inf

    def raise_bound(self, *values: float | None) -> float | None:
        """The bound so far, raised to any of ``values`` (proven bounds) above it: a bound
        never falls, and the wait-and-see LP's and the relaxed phase's keep holding."""
        known = [v for v in (*values, self.wait_and_see, self.lower) if v is not None]
        self.lower = max(known) if known else None
        return self.lower


class _Beside:
    """The sweeps of a master-MIP iteration that need not wait for it: beside the master.

    The master MIP (HiGHS, one thread) leaves a core idle while it solves (4-8 s an
    iteration on the paper's targets at 180 s, about 50 s for the first master of the
    new-beds reading). With more than one worker a thread of this process sweeps there
    meanwhile, one chunk at a time (the runner's workers run them in their own processes),
    in this order:

    1. the previous iteration's in-out point, if any;
    2. the first ``designs`` improving designs HiGHS finds in this master (its callback),
       other than designs already swept.

    :meth:`finish` waits for them all (what the thread has not started is swept then, on
    every worker) and puts the cuts into the master: the master solving meanwhile is without
    them, the next ones hold them. An improving design is also a candidate for the final
    stage, at its LP value (first stage plus the weighted LP recourse), as the master's own
    designs are. The points and their order do not depend on timing (HiGHS on one thread is
    deterministic), so one worker (everything swept in :meth:`finish`), local processes and
    dask give the same cuts.
    """

    def __init__(self, loop: _CutLoop, inout: tuple[np.ndarray, np.ndarray] | None,
                 designs: int, threaded: bool):
        import threading

        self.loop = loop
        self.has_inout = inout is not None
        self.designs = designs
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.todo: list[tuple[str, np.ndarray, np.ndarray]] = []
        if inout is not None:
            self.todo.append(("inout", *inout))
        self.offered = 0
        self.stopping = False
        self.swept: list[tuple[str, np.ndarray, np.ndarray, list[LpRecourse]]] = []
        self.seen = {_key(c[1], loop.master.capacity(c[2])) for c in loop.candidates}
        self.error: BaseException | None = None
        self.thread = None
        if threaded:
            self.thread = threading.Thread(target=self._run, name="benders-beside", daemon=True)
            self.thread.start()

    def offer(self, y: np.ndarray, volume: np.ndarray) -> None:
        """HiGHS found an improving design (called from its callback)."""
        if self.offered >= self.designs:
            return
        y = np.asarray(y, dtype=bool)
        volume = np.asarray(volume, dtype=float)
        key = _key(y, self.loop.master.capacity(volume))
        if key in self.seen:
            return
        self.seen.add(key)
        self.offered += 1
        with self.lock:
            self.todo.append(("design", y, volume))
        self.wake.set()

    def _take(self) -> tuple[str, np.ndarray, np.ndarray] | None | Literal[False]:
        """The next point to sweep; None: none yet; False: stop (the master is done)."""
        with self.lock:
            if self.stopping:
                return False
            return self.todo.pop(0) if self.todo else None

    def _sweep(self, kind: str, y: np.ndarray, volume: np.ndarray, serial: bool) -> None:
        at = volume if kind == "inout" else self.loop.master.capacity(volume)
        sweep = self.loop.sweep
        results = sweep.beside(y, at) if serial else sweep(y, at, timed=False)
        self.swept.append((kind, y, volume, results))

    def _run(self) -> None:
        try:
            while True:
                task = self._take()
                if task is False:
                    return
                if task is None:
                    self.wake.wait(0.05)
                    self.wake.clear()
                    continue
                self._sweep(*task, serial=True)
        except BaseException as exc:  # re-raised in the main thread by finish()
            self.error = exc

    def abandon(self) -> None:
        """Stop after the sweep under way; nothing more is swept or put in."""
        with self.lock:
            self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join()

    def finish(self, final: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[int, int, list[LpRecourse] | None]:
        """Wait for the sweep under way, sweep what is left, put the cuts into the master.
        Returns (new in-out cuts, improving designs swept, the sweep of ``final`` if one was
        made here: the master's own design, left to the caller, which would otherwise sweep
        it again and find no new cut there)."""
        self.abandon()
        if self.error is not None:
            raise self.error
        for task in self.todo:
            self._sweep(*task, serial=False)
        self.todo = []
        master, inout, designs = self.loop.master, 0, 0
        final_key = None if final is None else _key(final[0], master.capacity(final[1]))
        own = None
        for kind, y, volume, results in self.swept:
            if kind == "inout":
                inout += master.add_cuts(volume, results, y)
                continue
            cap = master.capacity(volume)
            if _key(y, cap) == final_key:
                own = results
                continue
            master.add_cuts(cap, results, y)
            value = master.first_stage(y, volume) + float(
                master.weights @ [r.objective for r in results])
            self.loop.candidates.append((value, y, volume))
            designs += 1
        self.loop.candidates.sort(key=lambda c: c[0])
        self.swept = []
        return inout, designs, own


def _key(y: np.ndarray, cap: np.ndarray) -> bytes:
    return np.asarray(y, dtype=bool).tobytes() + np.round(np.asarray(cap, dtype=float),
                                                          6).tobytes()


def solve_benders(ctx: DesignContext, *, extensive_after: bool = True) -> Result:
    """The L-shaped method of :mod:`allocator.design.benders`, then exact evaluation (and,
    with ``extensive_after``, the extensive form in the time left where it fits)."""
    aggregates = grouped_aggregates(ctx.core, ctx.demands, ctx.lot_demand,
                                    ctx.params.aggregate_groups)
    if not any(len(m.rows_of("award capacity")) for _, m in aggregates):
        # No offer exists only with an award: the master of cuts alone, as measured best on
        # the Staffordshire designs without such offers (models/lot_design.md)
        aggregates = []
    master = Master(ctx.instance, ctx.base, ctx.lot_demand, [d.weight for d in ctx.demands],
                    aggregates, whole_capacity(ctx.instance, ctx.base, ctx.demands))
    sweep = _Sweep(ctx)
    relaxed = ctx.params.lp_phase_share > 0
    # The relaxed phase converges to a bound at least the wait-and-see LP's; that one is only
    # computed first without it, or afterwards when the relaxed phase ran out of time.
    loop = _CutLoop(master, sweep, None if relaxed else sweep.wait_and_see())
    if not relaxed:
        LOG.info("benders: wait-and-see LP bound %s at %.1f s", loop.wait_and_see,
                 ctx.elapsed())
    # First cuts at no volume and at every bid's full volume: the recourse only falls as
    # volume grows, so the second also bounds every theta_s from below from the start.
    for y0, volume in ((np.zeros(master.nb), np.zeros(master.nb)),
                       (np.ones(master.nb), master.vmax.copy())):
        cap = master.capacity(volume)
        master.add_cuts(cap, sweep(y0, cap), y0)
    LOG.info("benders: first sweep done at %.1f s", ctx.elapsed())
    if relaxed and not _relaxed_phase(ctx, loop):
        # The relaxed phase ran out of its time. The wait-and-see LP (every scenario's own
        # design LP, about three sweeps' time) only when that time and the final stage's
        # are left (at a 10 s limit it alone took 17 s past the deadline), and only when it
        # can raise the bound by more than WAIT_AND_SEE_MIN_GAIN: it is at most the LP
        # relaxation, so at most the relaxed phase's best point.
        if ctx.left() > WAIT_AND_SEE_SWEEPS * sweep.took + _final_stage_s(ctx, sweep.took) \
                and _wait_and_see_may_pay(loop):
            loop.wait_and_see = sweep.wait_and_see()
            loop.raise_bound()
            LOG.info("benders: wait-and-see LP bound %s at %.1f s", loop.wait_and_see,
                     ctx.elapsed())
        if loop.lower is None:  # no relaxed master solved yet: its LP is a bound, at once
            solved = master.solve_relaxed(max(1.0, ctx.left()), ctx.params.threads)
            loop.raise_bound(None if solved is None else solved[2])
    infeasible = _iterate(ctx, loop)
    if infeasible is not None:
        return infeasible
    extra: dict[str, Any] = {
        **ctx.common, "bound_kind": "the largest of the Benders master bound (LP recourse "
        "cuts, and the aggregated demand where the master held it), the relaxed master's "
        "(the LP relaxation of the whole model, at convergence) "
        "and, when computed, the wait-and-see LP bound (each scenario's own design LP)",
        "wait_and_see_bound": loop.wait_and_see, "iterations": loop.history}
    if not loop.candidates:
        return Result(status=Status.time_limit_no_solution, solver=ctx.solver, bound=loop.lower,
                      runtime_s=ctx.elapsed(), extra=extra)
    res = _bound_after(ctx, loop, _final_candidates(ctx, loop, extra))
    return _extensive_after(ctx, res, ctx.params.max_columns) if extensive_after else res


def solve_benders_extensive(ctx: DesignContext) -> Result:
    """``auto`` where the extensive form fits: Benders and the extensive form at once, the
    better design and the larger bound kept.

    Neither method holds on every market. The extensive form's MIP alone can sit on a poor
    design for the whole limit where the capacities bind (``xcapbound``: 45,558 at 60 s, 12%
    above its bound, where Benders' exact evaluation found 40,583); Benders alone proves only
    its LP recourse where that is far below the MIP's (``xkitchen``: 291,028 against
    321,320), and on others the extensive form simply does better (``xbeds`` at 60 s: 0.38%
    against Benders' 1.11%). Splitting the limit between them (Benders first, then the
    extensive form started from its design) lost to the better method alone at 60 s on three
    of six markets: each had too little of the limit. So the extensive form runs in a process
    of its own (one thread, :func:`extensive_beside`) for the whole limit while Benders runs
    here; both answers are designs of the same model and both bounds bound the same optimum
    (:func:`_keep_better`). Benders' answer alone is returned when it is proven (optimal, or
    no design meets the limits) or when the other process is late; when that process fails
    without an answer, the time Benders left goes to the extensive form here
    (:func:`_extensive_after`).
    """
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    child = spawn.Process(target=extensive_beside, name="allocator-extensive",
                          args=(send, ctx.instance, ctx.params, time.time() + ctx.left()),
                          daemon=True)
    child.start()
    send.close()  # the child's end: a child that dies leaves the parent an EOF, not a wait
    # the child's answer is read as soon as it comes: an optimum proven there stops Benders
    # (its ctx then has no time left), rather than Benders running its whole course
    stop = threading.Event()
    box: dict[str, Any] = {}
    ended: int | None = None  # the process's exit code when it ended by itself

    def watch() -> None:
        box["answer"] = _receive(receive, ctx.left() + EXTENSIVE_GRACE_S)
        ext_ = box["answer"][0]
        if ext_ is not None and ext_.status == Status.optimal:
            stop.set()

    watcher = threading.Thread(target=watch, name="allocator-extensive-watch", daemon=True)
    watcher.start()
    try:
        res = solve_benders(replace(ctx, stop=stop), extensive_after=False)
        if res.status in (Status.optimal, Status.infeasible) and not stop.is_set():
            return replace(res, extra={**res.extra, "extensive_beside": "stopped: Benders' "
                                       f"answer is {res.status.value}"})
        if "answer" not in box and res.status.has_solution:
            # the loop ended before the deadline (no cut was new): this core would wait idle
            # for the other process, so the extensive form runs here too, on one thread,
            # started from the loop's design (as ``--method benders`` does), and stops when
            # the other process proves the optimum first
            res = _extensive_after(replace(ctx, stop=stop), res, ctx.params.hybrid_columns,
                                   threads=1)
            if res.status == Status.optimal:
                return res
        watcher.join(timeout=max(0.0, ctx.left()) + EXTENSIVE_GRACE_S + 1.0)
        ext, note = box.get("answer", (None, f"no answer {EXTENSIVE_GRACE_S:g} s after the "
                                             "deadline"))
    finally:
        if child.is_alive():
            child.terminate()
        else:  # it ended by itself: how, for the note (not when ended here)
            ended = child.exitcode
        child.join(timeout=5)
        # the watcher sees the dead child's EOF; closing the pipe under a watcher still in
        # recv() had it fail inside multiprocessing (a TypeError, seen in CI)
        watcher.join(timeout=5)
        receive.close()
    if ext is None and ended not in (None, 0):
        note += f"; the process {exit_in_words(ended)}"
    if ext is None:
        LOG.warning("benders: the extensive form beside it gave no answer (%s)", note)
        res = replace(res, extra={**res.extra, "extensive_beside": note})
        # the time Benders left goes to the extensive form here, as with --method benders
        # (seen in CI: the process beside died without an answer, Benders had stopped at
        # 0.1 s of 30 s on its LP recourse's bound, 32% below the optimum)
        return _extensive_after(ctx, res, ctx.params.max_columns)
    info = {"status": ext.status.value, "objective": ext.objective, "bound": ext.bound,
            "seconds": ext.runtime_s}
    LOG.info("benders: extensive form beside the loop: %s", info)
    if not res.status.has_solution or res.objective is None:  # no design from Benders
        bounds = [b for b in (res.bound, ext.bound) if b is not None]
        bound = max(bounds) if bounds else None
        status = ext.status
        if ext.objective is not None and bound is not None:
            bound = min(bound, ext.objective)
            if ext.status.has_solution:  # Benders' bound may close the extensive form's gap
                status = Status.optimal if (gap(ext.objective, bound) or 0.0) <= \
                    ctx.params.gap else Status.feasible
        return replace(ext, bound=bound, status=status, runtime_s=ctx.elapsed(),
                       extra={**ext.extra, **ctx.common, "extensive_beside": info,
                              "benders_first": {"status": res.status.value,
                                                "bound": res.bound}})
    return _keep_better(ctx, res, ext, "extensive_beside", info,
                        "the extensive form, beside the Benders loop")


# seconds after the deadline the parent waits for the extensive form's process to answer
EXTENSIVE_GRACE_S = 5.0


def extensive_beside(conn: Any, instance: Instance, params: Any, wall_deadline: float) -> None:
    """The extensive form of ``instance`` (its scenarios) on one thread until
    ``wall_deadline`` (``time.time()``), its :class:`Result` sent on ``conn`` (or the error's
    text). Run in a spawned process by :func:`solve_benders_extensive`."""
    from allocator.design.solve import solve_design

    # ended with this process's parent (a kill -9 there), not at its own time limit
    watch_parent()
    # a crash in a native library (a signal) leaves its Python traceback on stderr: a CI run
    # once saw this process end with no answer and nothing in the log
    report_crashes()
    try:
        # to send the answer back in time (its solve may run a little over: 2.6 s at 300 s)
        left = wall_deadline - time.time()
        left -= 0.5 + min(2.0, 0.05 * max(0.0, left))
        mine = params.model_copy(update={"method": "extensive", "threads": 1,
                                         "time_limit": max(0.5, left)})
        with muted():
            conn.send(("ok", solve_design(instance, mine)))
    except Exception as error:  # the parent keeps Benders' answer and says why
        conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        conn.close()


def _receive(conn: Any, timeout: float) -> tuple[Result | None, str]:
    """The extensive form's answer from its process, or None and why not."""
    try:
        if not conn.poll(max(0.0, timeout)):
            return None, f"no answer {EXTENSIVE_GRACE_S:g} s after the deadline"
        kind, payload = conn.recv()
    except (EOFError, OSError) as error:
        return None, f"its process ended without an answer ({type(error).__name__})"
    if kind != "ok":
        return None, str(payload)
    return payload, ""


# the extensive form is only started after the loop with at least this much time left
EXTENSIVE_AFTER_MIN_S = 1.0


def _extensive_after(ctx: DesignContext, res: Result, max_columns: int,
                     threads: int | None = None) -> Result:
    """The time the loop left, to the extensive form when it fits (``max_columns``), started
    from the loop's design.

    Benders' cuts come from the LP recourse, so the loop ends once no cut is new even where the
    LP recourse is far below the MIP recourse (a few lumpy needs against small capacities):
    on tiny random markets an explicit ``--method benders`` stopped within 2 s of a 60 s
    limit with designs up to 8.2% above the optimum (an independent check, 60 markets). When
    the model fits the extensive form and time is left, that MIP gets it; the better design
    is kept and the larger of the two bounds (both are bounds on the same optimum).
    """
    if res.objective is None or not res.status.has_solution or res.status == Status.optimal \
            or ctx.columns > max_columns or ctx.left() < EXTENSIVE_AFTER_MIN_S:
        return res
    started = ctx.elapsed()
    if threads is not None:
        ctx = replace(ctx, params=ctx.params.model_copy(update={"threads": threads}))
    halt = ctx.stop
    with muted(), stopped_when(lambda: halt is not None and halt.is_set()):
        # muted: its incumbents may be dearer than the loop's design, shown already
        ext = solve_extensive(ctx, start=res)
    info = {"status": ext.status.value, "objective": ext.objective, "bound": ext.bound,
            "seconds": ctx.elapsed() - started}
    LOG.info("benders: extensive form after the loop: %s", info)
    return _keep_better(ctx, res, ext, "extensive_after", info,
                        "the extensive form, after the Benders loop")


def _keep_better(ctx: DesignContext, res: Result, ext: Result, key: str,
                 info: dict[str, Any], source: str) -> Result:
    """Benders' answer ``res`` or the extensive form's ``ext``, whichever is cheaper, with
    its own allocations, and the larger of the two bounds (both bound the same optimum)."""
    assert res.objective is not None
    better = (ext.status.has_solution and ext.objective is not None
              and ext.objective < res.objective - 1e-9 * max(1.0, abs(res.objective)))
    best = ext if better else res
    assert best.objective is not None
    bounds = [b for b in (res.bound, ext.bound) if b is not None]
    bound = min(max(bounds), best.objective) if bounds else None
    status = Status.optimal if bound is not None and (
        gap(best.objective, bound) or 0.0) <= ctx.params.gap else Status.feasible
    extra = {**res.extra, key: info}
    if better:  # the allocations of the design returned (the scenario tables read them)
        extra["outcomes"] = ext.extra["outcomes"]
        extra["design_from"] = source
    runtime = ctx.elapsed()
    return replace(best, bound=bound, status=status, extra=extra, runtime_s=runtime,
                   solve_s=runtime - (best.build_s or 0.0))


def _bound_after(ctx: DesignContext, loop: _CutLoop, res: Result) -> Result:
    """More master iterations for the bound alone, in the time the final stage left.

    The cut loop stops at ``benders_share`` of the limit, or earlier to leave the final
    stage (exact evaluation and polishing) its time; what that stage does not use is spent
    here: master MIP (its bound), a sweep at its design, the cuts. Their designs are not
    evaluated (no time is left for it), so only the bound can change. An iteration starts
    only when 1.5 times the last one's master and sweep time is left, and counts towards
    ``max_iterations``. On the paper's targets at 180 s the final stage returned 18 s early
    (one run).
    """
    if res.objective is None or not res.status.has_solution:
        return res
    params, master, sweep = ctx.params, loop.master, loop.sweep
    timed = [h for h in loop.history if "master_s" in h]
    if not timed:
        return res
    last = timed[-1]["master_s"] + timed[-1]["sweep_s"]
    start = loop.lower
    done = 0
    while ctx.left() > 1.5 * last and len(loop.history) < params.max_iterations:
        if loop.lower is not None and (gap(res.objective, loop.lower) or 0.0) <= params.gap:
            break
        t = time.perf_counter()
        mparams = solve_params(ctx, max(0.01, ctx.left() - 1.2 * sweep.took),
                               params.threads).model_copy(update={"gap": MASTER_GAP})
        status, y, volume, _, bound = master.solve(mparams, loop.candidates[0][1:])
        if y is None or volume is None:
            break
        lower = loop.raise_bound(min(bound, res.objective) if bound is not None else None)
        master_s = time.perf_counter() - t
        if ctx.left() < 1.2 * sweep.took:
            break
        cap = master.capacity(volume)
        results = sweep(y, cap)
        added = master.add_cuts(cap, results, y)
        done += 1
        loop.history.append({"iteration": len(loop.history) + 1, "phase": "bound only",
                             "lower_bound": lower, "master_s": master_s,
                             "sweep_s": sweep.took, "seconds": ctx.elapsed()})
        LOG.info("benders bound-only iteration: bound %s, master %.1f s, sweep %.1f s, at "
                 "%.1f s", lower, master_s, sweep.took, ctx.elapsed())
        last = master_s + sweep.took
        if added == 0:
            break
    if done == 0 or loop.lower is None or (start is not None and loop.lower <= start):
        return res
    bound = min(loop.lower, res.objective)
    status = Status.optimal if (gap(res.objective, bound) or 0.0) <= params.gap \
        else res.status
    extra = {**res.extra, "bound_only_iterations": done}
    runtime = ctx.elapsed()
    return replace(res, bound=bound, status=status, extra=extra, runtime_s=runtime,
                   solve_s=runtime - (res.build_s or 0.0))


def _wait_and_see_may_pay(loop: _CutLoop) -> bool:
    """Whether the wait-and-see LP bound could raise the bound so far by more than
    WAIT_AND_SEE_MIN_GAIN of the relaxed phase's best point.

    That bound (each scenario its own fractional design) is at most the LP relaxation of the
    design model, which is at most the value of any fractional design: the relaxed phase's
    best point. Where the relaxed master's bound is already that close it cannot pay for its
    three sweeps, and every master MIP's bound is at least the relaxed master's (its root
    LP). On the 15/70/15 proposal at 224 s the relaxed phase ended 0.20% from its best point
    and the wait-and-see LP took 28 s of the 224 to prove 468,009, below the relaxed
    master's 468,472; without it, the Staffordshire comparison (same machine, same day) went
    from 1.13% to 0.41% on the proposal and from 6.17% to 2.84% on the new-beds reading."""
    if loop.lower is None or not math.isfinite(loop.relaxed_upper):
        return True
    return loop.relaxed_upper - loop.lower > WAIT_AND_SEE_MIN_GAIN * max(
        1.0, abs(loop.relaxed_upper))


def _relaxed_phase(ctx: DesignContext, loop: _CutLoop) -> bool:
    """Cuts at the master's LP relaxation first (y in [0, 1]), stabilised ("in-out").

    A relaxed master is an LP, solved in a fraction of the MIP master's time, and its cuts
    hold for every (y, V): this phase converges to the LP relaxation of the whole design
    model (every scenario with the same fractional awards), a bound the wait-and-see LP
    (each scenario its own awards) cannot reach, and leaves the integer master those cuts to
    start from. Each cut is taken at a point between the relaxed master's solution and the
    best point so far (Ben-Ameur and Neto's in-out separation), which keeps the master from
    jumping between the corners of the box. True when it converged (to ``RELAXED_TOL``).
    """
    params, master, sweep = ctx.params, loop.master, loop.sweep
    stop = ctx.t0 + params.lp_phase_share * params.time_limit
    weights = master.weights
    center: tuple[np.ndarray, np.ndarray] | None = None
    upper = math.inf
    alpha = 0.5
    # max_iterations counts both phases; the master MIP keeps at least one (its designs are
    # the only integral ones)
    for it in range(params.max_iterations - 1):
        if time.perf_counter() + sweep.took > stop:
            break
        solved = master.solve_relaxed(max(1.0, ctx.left()), params.threads)
        if solved is None:
            break
        y, volume, lp_bound = solved
        loop.raise_bound(lp_bound)
        if center is None:
            py, pv = y, volume
        else:
            py = alpha * center[0] + (1 - alpha) * y
            pv = alpha * center[1] + (1 - alpha) * volume
        results = sweep(py, pv)
        value = master.first_stage(py, pv) + float(weights @ [r.objective for r in results])
        if value < upper:
            upper, center = value, (py, pv)
            loop.relaxed_upper = upper
        added = master.add_cuts(pv, results, py)
        if added == 0 and center is not None:
            # nothing new between the two points: separate at the master's own solution
            # (in-out's fallback); nothing new there either means it has converged
            results = sweep(y, volume)
            value = master.first_stage(y, volume) + float(
                weights @ [r.objective for r in results])
            if value < upper:
                upper, center = value, (y, volume)
                loop.relaxed_upper = upper
            added = master.add_cuts(volume, results, y)
        loop.history.append({"iteration": it + 1, "phase": "relaxed", "lower_bound": loop.lower,
                             "relaxed_bound": lp_bound, "lp_value": value,
                             "best_lp_value": upper, "sweep_s": sweep.took,
                             "seconds": ctx.elapsed()})
        LOG.info("benders relaxed %d: master LP %.2f, point %.2f, best %.2f, sweep %.1f s, "
                 "at %.1f s", it + 1, lp_bound, value, upper, sweep.took, ctx.elapsed())
        if upper - lp_bound <= RELAXED_TOL * max(1.0, abs(upper)) or added == 0:
            return True
    return False


def _iterate(ctx: DesignContext, loop: _CutLoop) -> Result | None:
    """Master, sweep, cuts until the gap closes, the time share runs out or no cut is new.

    Returns the (infeasible) result when the master proves no awards meet the lots' limits.
    """
    relaxed = sum(1 for h in loop.history if h.get("phase") == "relaxed")
    core: tuple[np.ndarray, np.ndarray] | None = None  # in-out's core point (master_inout)
    beside: list[_Beside] = []  # the sweeps running beside the master MIP, if any
    try:
        return _iterate_loop(ctx, loop, relaxed, core, beside)
    finally:
        for b in beside:  # left by an error: let its thread end, sweep nothing more
            b.abandon()


def _iterate_loop(ctx: DesignContext, loop: _CutLoop, relaxed: int,
                  core: tuple[np.ndarray, np.ndarray] | None, beside: list[_Beside]
                  ) -> Result | None:
    params, master, sweep = ctx.params, loop.master, loop.sweep
    stop = ctx.t0 + params.benders_share * params.time_limit
    weights = master.weights
    inout: tuple[np.ndarray, np.ndarray] | None = None  # the last in-out point, not yet swept
    for it in range(max(1, params.max_iterations - relaxed)):
        left = max(1.0, ctx.left())
        master_start = time.perf_counter()
        # the master to MASTER_GAP: its bound (the MIP's own) is what counts, and proving
        # the last 1e-4 of every master took most of an iteration's time
        mparams = solve_params(ctx, min(left, params.recourse_time_limit),
                               params.threads).model_copy(update={"gap": MASTER_GAP})
        warm = None if not loop.candidates else loop.candidates[0][1:]
        status, y, volume, bound = Status.time_limit_no_solution, None, None, None
        aggregated = master.gated and (params.aggregated_masters is None
                                       or it < params.aggregated_masters)
        if aggregated:
            # Where offers exist only with an award, the master MIP holds the aggregated
            # demands: it sees what an award's capacity does to the allocation (a cut, linear
            # in y, cannot). It is slow (40-50 s on the Staffordshire designs, where a master
            # of cuts takes 3-17 s): without such offers it found no better design there and
            # its bound trailed the cuts', so it is not used there. Each solve gets at most
            # AGGREGATED_MASTER_SHARE of the time limit; without an answer in it, the master
            # of cuts is solved instead. Only the first ``aggregated_masters`` (default 1)
            # hold it: on the paper's targets + new beds the later masters of cuts (4-6 s
            # each) raised the bound further in the same time (414,596 against 413,989
            # after a second aggregated master, 180 s), and proposed no better design.
            aparams = mparams.model_copy(update={"time_limit": max(
                0.01, min(mparams.time_limit, AGGREGATED_MASTER_SHARE * params.time_limit))})
        # the last in-out point and the master's first improving designs are swept beside
        # the master MIP, on the core it leaves (with more than one worker; with one, after it)
        beside.append(_Beside(loop, inout, params.beside_designs if aggregated else 0,
                              threaded=ctx.runner.workers > 1))
        on_design, inout = beside[-1].offer, None
        if aggregated:
            status, y, volume, _, bound = master.solve(aparams, warm, aggregated=True,
                                                       on_design=on_design)
            loop.raise_bound(bound)
        if (y is None or volume is None) and status != Status.infeasible:
            status, y, volume, _, bound = master.solve(mparams, warm, on_design=on_design)
        master_s = time.perf_counter() - master_start
        side_designs, own = 0, None
        if beside:  # the cuts swept beside this master
            had_inout = beside[-1].has_inout
            final = None if y is None or volume is None else (y, volume)
            cuts, side_designs, own = beside.pop().finish(final)
            if had_inout and loop.history:  # the previous iteration's in-out point
                loop.history[-1]["inout_cuts"] = cuts
        if y is None or volume is None:  # the master returns both or neither
            if status == Status.infeasible:
                return Result(status=Status.infeasible, solver=ctx.solver,
                              runtime_s=ctx.elapsed(),
                              message="no awards meet the lots' limits", extra=ctx.common)
            break
        lower = loop.raise_bound(bound)
        if ctx.left() < sweep.took + _final_stage_s(ctx, sweep.took):
            # no time to sweep this design and still evaluate one exactly: the first master
            # design goes to the exact evaluation as it is, a later one is left
            if not loop.candidates:
                loop.candidates.append((math.inf, y, volume))
            LOG.info("benders: stopped at %.1f s, before sweeping master design %d",
                     ctx.elapsed(), it + 1)
            break
        # the recourse at the capacity the design can use (floor(V) where only whole
        # placements draw on a bid): the master's W there, at its optimum
        cap = master.capacity(volume)
        results = sweep(y, cap) if own is None else own  # own: swept beside the master
        value = master.first_stage(y, volume) + float(weights @ [r.objective for r in results])
        loop.candidates.append((value, y, volume))
        loop.candidates.sort(key=lambda c: c[0])
        best = loop.candidates[0][0]
        loop.history.append({"iteration": it + 1, "aggregated": aggregated,
                             "lower_bound": lower, "lp_value": value,
                             "best_lp_value": best,
                             "integral": all(r.integral for r in results),
                             "master_s": master_s, "sweep_s": sweep.took,
                             "beside_designs": side_designs, "seconds": ctx.elapsed()})
        report(ctx.elapsed(), best, lower, "benders")
        LOG.info("benders iteration %d: bound %s, LP value %.2f, best %.2f, master %.1f s, "
                 "sweep %.1f s, at %.1f s", it + 1, lower, value, best, master_s, sweep.took,
                 ctx.elapsed())
        if lower is not None and best - lower <= params.gap * max(1.0, abs(best)):
            break
        # stop in time to evaluate the best design exactly (about two sweeps) and polish it;
        # the sweep's cuts go in first either way (the bound-only iterations after the final
        # stage start from them)
        late = time.perf_counter() + 3 * sweep.took > ctx.deadline
        if master.add_cuts(cap, results, y) == 0 or time.perf_counter() > stop or late:
            break
        if params.master_inout > 0:
            core, inout = _inout_point(ctx, loop, core, y, volume)  # swept beside the next
    if inout is not None:  # max_iterations reached with no next master: swept now, as before
        loop.history[-1]["inout_cuts"] = master.add_cuts(inout[1], sweep(*inout), inout[0])
    return None


def _final_stage_s(ctx: DesignContext, took: float) -> float:
    """Seconds the least final stage takes: one design evaluated exactly (about two sweeps:
    each scenario's LP and RENS) and polished (about a sweep)."""
    return 3.0 * took


def _inout_point(ctx: DesignContext, loop: _CutLoop,
                 core: tuple[np.ndarray, np.ndarray] | None, y: np.ndarray, volume: np.ndarray
                 ) -> tuple[tuple[np.ndarray, np.ndarray],
                            tuple[np.ndarray, np.ndarray] | None]:
    """Where a master-MIP iteration's second cut is taken (Fischetti, Ljubic and Sinnl 2017's
    in-out separation for a MIP master): ``a core + (1 - a) (y, V)``, ``a`` the
    ``master_inout`` weight, the core point starting at the best design's awards and moving
    half-way to each master design. The cut is valid (the LP recourse is convex over the
    whole box) and, taken between the designs the master proposes and the best one, it bounds
    theta where the next masters look. Returns the new core point and the cut's point
    ``(y, V)``, None when it is the master's design itself or within four sweeps of the
    deadline. With more than one worker the sweep there runs while the next master solves
    (:class:`_Beside`): the master MIP uses one core, and sweeping after it cost about a third
    of an iteration; it may end past the cut loop's share of the time (the loop then stops):
    keeping it inside that share cost the new-beds design 0.4 points of gap at 180 s (one
    run)."""
    a, sweep = ctx.params.master_inout, loop.sweep
    yv = (np.asarray(y, dtype=float), np.asarray(volume, dtype=float))
    if core is None:
        core = (np.asarray(loop.candidates[0][1], dtype=float), loop.candidates[0][2])
    py = a * core[0] + (1 - a) * yv[0]
    pv = a * core[1] + (1 - a) * yv[1]
    far = not (np.allclose(py, yv[0]) and np.allclose(pv, yv[1]))
    point = (py, pv) if far and time.perf_counter() + 4 * sweep.took <= ctx.deadline else None
    return (0.5 * (core[0] + yv[0]), 0.5 * (core[1] + yv[1])), point


def _final_candidates(ctx: DesignContext, loop: _CutLoop, extra: dict[str, Any]) -> Result:
    """The best LP designs (as many as time allows, at most ``final_candidates``), in whole
    beds where the lots' limits allow, evaluated exactly; the best polished."""
    master, took = loop.master, loop.sweep.took
    top: list[Awards] = []
    # an exact evaluation costs at least a sweep's time twice over and, when the recourse
    # LPs are fractional, a second per scenario MIP (recourse_params' least), runner.workers
    # at a time: evaluate no more designs than the time left holds
    workers = max(1, ctx.runner.workers)
    per_design = max(2 * took, math.ceil(len(ctx.demands) / workers) * 1.0)
    room = int(ctx.left() / max(per_design, 1e-9))
    for _, cy, cv in loop.candidates[:max(1, min(ctx.params.final_candidates, room))]:
        rounded = master.whole_beds(cy, cv)
        awards = master.awards(cy, cv if rounded is None else rounded)
        if not limits_ok(ctx.instance, awards, ctx.lot_demand):
            awards = master.awards(cy, cv)
        if awards not in top:
            top.append(awards)
    scored = evaluate_many(ctx, top)
    LOG.info("benders: %d design(s) evaluated exactly at %.1f s", len(top), ctx.elapsed())
    found = [{"source": f"Benders design {i + 1}", "objective": expected(ctx, a, o)}
             for i, (a, o) in enumerate(scored)]

    def whole_beds(awards: Awards) -> Awards:
        y = np.array([k in awards for k in master.keys])
        v = np.array([awards.get(k, 0.0) for k in master.keys])
        rounded = master.whole_beds(y, v)
        return awards if rounded is None else master.awards(y, rounded)

    return _best_of(ctx, scored, found, extra=extra, bound=loop.lower, reserve=3 * took,
                    rounder=whole_beds)
