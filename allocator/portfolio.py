"""The solver portfolio behind ``--solver heuristic`` and ``--solver auto`` (the default).

``heuristic``
    The search of :mod:`allocator.heuristic` (LP relaxation per component, rounding, local
    search, LNS on OR-Tools) in a child process, with the proven bound it computes.
``auto``
    The same search first; on instances small enough to profit (at most
    :data:`MIP_MAX_PAIRS` eligible pairs) HiGHS then runs in this process on the exact model,
    warm-started from the search's best assignment so far, while the search goes on in its
    child on the other core. The better of the two answers is returned with the best of the
    bounds (the search's LP / Lagrangian bound, HiGHS's MIP bound).

Every answer is evaluated exactly (:func:`allocator.evaluate.evaluate`) and carries a bound, so
its gap is known; ``Result.extra["bound_method"]`` says where the bound came from (``lp``: the
LP relaxation of every component; ``lagrangian``: the subgradient method; ``lp+lagrangian``:
both, where some component's LP did not finish; ``mip``: HiGHS's branch and bound).
``Result.progress`` lists (seconds since the start, best objective, best bound) at every
improvement of either.

Lexicographic objective (DESIGN.md section 4): the search multiplies the unmet penalties by a
large factor (:func:`allocator.heuristic.data.lexicographic_scale`), which puts the unmet term
first in practice but is not a proof that it is minimal. The bound reported is then the
LP bound of the *weighted* objective, computed here with HiGHS: the lexicographic optimum is a
feasible assignment, so its full objective is never below it. ``auto`` then runs the exact
two-phase lexicographic solve of :mod:`allocator.solve` warm-started from the search, where
the instance is small enough.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .evaluate import Evaluation, evaluate, to_solution
from .heuristic.data import SearchData, from_problem, to_problem_chosen
from .heuristic.search import SearchOptions
from .problem import Problem
from .result import Result, Status

SOLVERS = ("heuristic", "auto")
MIP_MAX_PAIRS = 150_000  # auto hands the search's answer to HiGHS up to this size
MIP_START_SHARE = 0.3  # auto starts HiGHS at the latest after this share of the time
LP_MAX_PAIRS_MAIN = 3_000_000  # lexicographic: weighted LP bound in this process up to this


def solve(problem: Problem, params: Any) -> Result:
    """Solve with the heuristic or the portfolio (``params.solver``: ``heuristic``, ``auto``).

    ``params`` is an :class:`allocator.solve.SolveParams`: its time limit is the wall time of
    the whole call, its seed makes the search reproducible, its gap ends the search early.
    """
    if params.solver not in SOLVERS:
        raise ValueError(f"unknown solver {params.solver!r}; the portfolio runs "
                         f"{', '.join(SOLVERS)}")
    if problem.mode != "allocation":
        raise ValueError("the heuristic solves the allocation model (DESIGN.md section 4); "
                         "design mode goes through allocator.design with an exact solver")
    return _Portfolio(problem, params).run()


class _Portfolio:
    def __init__(self, problem: Problem, params: Any) -> None:
        self.problem = problem
        self.params = params
        self.t0 = time.monotonic()
        self.deadline = self.t0 + float(params.time_limit)
        self.lexicographic = (params.objective or problem.objective_kind) == "lexicographic"
        self.progress: list[tuple[float, float | None, float | None]] = []
        self.best_obj: float | None = None  # true objective of the best known answer
        self.best_chosen: np.ndarray | None = None  # search pairs
        self.bound: float | None = None
        self.bound_method = "none"
        self.extra: dict[str, Any] = {"objective_kind": "lexicographic" if self.lexicographic
                                      else "weighted"}

    # ------------------------------------------------------------------ bookkeeping

    def _t(self, at: float | None = None) -> float:
        return round((time.monotonic() if at is None else at) - self.t0, 4)

    def _note(self, at: float, objective: float | None = None, bound: float | None = None,
              method: str | None = None) -> None:
        changed = False
        if objective is not None and (self.best_obj is None or objective < self.best_obj):
            self.best_obj = objective
            changed = True
        if bound is not None and np.isfinite(bound) and (self.bound is None or bound > self.bound):
            self.bound = bound
            self.bound_method = method or self.bound_method
            changed = True
        if changed:
            self.progress.append((self._t(at), self.best_obj, self.bound))

    def _take(self, messages: list[tuple]) -> None:
        for msg in messages:
            if msg[0] == "solution":
                _, t, _obj, true_obj, chosen = msg
                self._note(t, objective=true_obj)
                if chosen is not None:
                    self.best_chosen = chosen
            elif msg[0] == "bound" and not self.lexicographic:
                _, t, value, method = msg
                self._note(t, bound=value, method=method)

    # ------------------------------------------------------------------ the run

    def run(self) -> Result:
        from .heuristic.worker import Worker

        p, params = self.problem, self.params
        data = self.data = from_problem(p, lexicographic=self.lexicographic)
        build_s = time.monotonic() - self.t0
        total = float(params.time_limit)
        # keep time to evaluate and write the answer at the end
        margin = min(0.1 * total, 1.0 + 2e-6 * data.n_pairs)
        options = SearchOptions(seed=int(params.seed), gap=float(params.gap))
        job = {"data": data, "options": options, "deadline": self.deadline - margin}
        worker = Worker(job)
        mip: tuple[Evaluation, float | None, str] | None = None
        try:
            if self.lexicographic:
                self._weighted_bound(data_for_bound=from_problem(p), until=self.deadline - margin)
            use_mip = params.solver == "auto" and data.n_pairs <= MIP_MAX_PAIRS
            if use_mip:
                mip = self._mip_after_search(worker, margin)
            self._wait(worker, self.deadline - margin)
        finally:
            worker.stop()
            worker.finish(timeout=max(5.0, 0.05 * total))
            self._take(worker.messages())
            error = worker.error
            stderr = worker.stderr_tail() if worker.outcome is None else ""
            worker.close()
        return self._result(data, worker.outcome, mip, build_s, error or stderr)

    def _wait(self, worker: Any, until: float) -> None:
        while worker.outcome is None and worker.error is None:
            left = until - time.monotonic()
            if left <= 0 or worker.proc.poll() is not None and worker._queue.empty():
                break
            msgs = worker.messages(timeout=min(0.2, max(0.01, left)))
            self._take(msgs)
            if any(m[0] == "eof" for m in msgs):
                break
            if self._closed():
                break

    def _closed(self) -> bool:
        return (self.best_obj is not None and self.bound is not None
                and self.best_obj - self.bound <= self.params.gap * max(1.0, abs(self.best_obj)))

    def _weighted_bound(self, data_for_bound: SearchData, until: float) -> None:
        """Lexicographic: the weighted LP bound, with HiGHS in this process."""
        from .heuristic.data import components
        from .heuristic.lp import lp_bound

        if data_for_bound.n_pairs > LP_MAX_PAIRS_MAIN:
            from .heuristic.lp import free_values

            value = data_for_bound.constant + float(free_values(data_for_bound).sum())
            self._note(time.monotonic(), bound=value, method="relaxed rows")
            return
        n_comp, labels = components(data_for_bound)
        res = lp_bound(data_for_bound, labels, n_comp,
                       time_limit=max(0.05, 0.5 * (until - time.monotonic())),
                       max_pairs=LP_MAX_PAIRS_MAIN)
        self._note(time.monotonic(), bound=res.bound,
                   method="lp (weighted)" if res.exact_components == n_comp
                   else "lp (weighted, partly relaxed rows)")

    def _mip_after_search(self, worker: Any, margin: float
                          ) -> tuple[Evaluation, float | None, str] | None:
        """HiGHS on the exact model, warm-started from the search's best assignment."""
        from .model import build, chosen_from_values, values_from_chosen
        from .solve import solve_model

        p, params = self.problem, self.params
        start_by = self.t0 + MIP_START_SHARE * float(params.time_limit)
        # wait for the search's LP rounding (the first answer after its bound) or start_by
        bound_seen = False
        while time.monotonic() < start_by and worker.outcome is None and not self._closed():
            msgs = worker.messages(timeout=0.1)
            self._take(msgs)
            rounded = False
            for m in msgs:
                if m[0] == "bound":
                    bound_seen = True
                elif m[0] == "solution" and m[4] is not None and bound_seen:
                    rounded = True
            if rounded or any(m[0] == "eof" for m in msgs):
                break
        if self._closed() or self.best_chosen is None:
            return None
        left = self.deadline - margin - time.monotonic()
        if left < 0.5:
            return None
        model = build([(p, 1.0)])
        start = values_from_chosen(model, [to_problem_chosen(self.data, self.best_chosen)])
        mip_params = params.model_copy(update={
            "solver": "highs", "time_limit": left,
            "threads": params.threads or 1,
        })
        res, _phases = solve_model(model, mip_params,
                                   "lexicographic" if self.lexicographic else "weighted",
                                   warm_start=start)
        self._take(worker.messages())
        if not res.status.has_solution or res.values is None:
            return None
        ev = evaluate(p, chosen_from_values(model, res.values)[0])
        if not ev.feasible:
            return None
        bound = res.bound
        self._note(time.monotonic(), objective=ev.objective,
                   bound=None if self.lexicographic and res.status != Status.optimal else bound,
                   method="mip")
        if self.lexicographic and res.bound is not None:
            # phase 2's bound holds for the lexicographic optimum's full objective
            self._note(time.monotonic(), bound=res.bound, method="mip (lexicographic phase 2)")
        if res.status == Status.optimal:
            worker.stop()
        return ev, bound, res.status.value

    # ------------------------------------------------------------------ the answer

    def _result(self, data: SearchData, outcome: dict | None,
                mip: tuple[Evaluation, float | None, str] | None, build_s: float,
                error: str) -> Result:
        p, params = self.problem, self.params
        candidates: list[tuple[Evaluation, str]] = []
        extra = dict(self.extra)
        if outcome is not None:
            ev = evaluate(p, to_problem_chosen(data, outcome["chosen"]))
            candidates.append((ev, "search"))
            extra["search"] = outcome["stats"]
            if not self.lexicographic and np.isfinite(outcome["bound"]):
                self._note(outcome["t"], bound=float(outcome["bound"]),
                           method=outcome["bound_method"])
        elif self.best_chosen is not None:
            candidates.append((evaluate(p, to_problem_chosen(data, self.best_chosen)),
                               "search (interrupted)"))
        if mip is not None:
            candidates.append((mip[0], "mip"))
            extra["mip_status"] = mip[2]
        if not candidates:
            # the child failed before sending anything: construct here (numpy only)
            from .heuristic.construct import regret_greedy
            from .heuristic.local_search import shift
            from .heuristic.state import Assignment

            st = Assignment(data, regret_greedy(data))
            shift(st, deadline=time.monotonic() + 5.0)
            candidates.append((evaluate(p, to_problem_chosen(data, st.chosen)), "fallback"))
            extra["fallback"] = "the search process failed: greedy construction here"
        feasible = [(ev, src) for ev, src in candidates if ev.feasible]
        runtime = time.monotonic() - self.t0
        if not feasible:
            why = "; ".join(candidates[0][0].violations[:3])
            return Result(status=Status.error, solver=params.solver, runtime_s=runtime,
                          build_s=build_s, solve_s=runtime - build_s,
                          message=f"no feasible answer: {why}", extra=extra)

        def key(item: tuple[Evaluation, str]) -> tuple[float, float]:
            ev = item[0]
            if self.lexicographic:
                unmet = ev.terms["unmet"]
                return (round(unmet / (1e-6 * max(1.0, abs(unmet)) + 1e-9)), ev.objective)
            return (0.0, ev.objective)

        best, source = min(feasible, key=key)
        objective = best.objective
        self._note(time.monotonic(), objective=objective)
        bound = self.bound
        if bound is not None:
            bound = min(bound, objective)
        closed = bound is not None and objective - bound <= params.gap * max(1.0, abs(objective))
        status = Status.optimal if closed and not self.lexicographic else Status.feasible
        extra.update({"bound_method": self.bound_method if bound is not None else "none",
                      "answer_from": source})
        if self.lexicographic:
            extra["lexicographic"] = (
                f"unmet penalties scaled by {data.unmet_scale:.3g} in the search; the bound is "
                "the weighted LP bound (valid, not tight for the lexicographic order)")
        message = ""
        if error and outcome is None:
            message = f"search process: {error.strip().splitlines()[-1] if error.strip() else ''}"
        return Result(status=status, solver=params.solver, objective=objective, bound=bound,
                      runtime_s=runtime, terms=best.terms, solution=to_solution(p, best),
                      build_s=build_s, solve_s=runtime - build_s, message=message,
                      progress=tuple(self.progress), extra=extra)
