"""What every method of a design solve shares: :class:`DesignContext` and its helpers.

:func:`allocator.design.solve.solve_design` resolves the instance, its demands and the
parameters once, into one frozen :class:`DesignContext`, and hands it to the method it picks
(:mod:`allocator.design.extensive` or :mod:`allocator.design.decomposition`). The helpers here
take that context and do what the methods have in common:

* solver parameters with the time left (:func:`solve_params`, :func:`recourse_params`);
* exact evaluation of designs on every scenario, in parallel on the context's runner
  (:func:`evaluate`, :func:`evaluate_many`), and their expected cost and rank
  (:func:`expected`, :func:`rank`);
* the :class:`~allocator.core.result.Result` of a design solve (:func:`result`,
  :func:`failed`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import TERMS, Result, Solution, Status
from allocator.design.recourse import Outcome, Pool, award_cost, recourse_batch
from allocator.design.scenarios import Demand
from allocator.design.sweep import Runner, chunks
from allocator.exact.solve import EXACT_SOLVERS
from allocator.instance.schema import Instance

if TYPE_CHECKING:
    from allocator.design.solve import DesignParams

Awards = dict[Pool, float]  # (provider id, lot id) -> awarded volume V
Scored = tuple[Awards, list[Outcome]]  # a design and its exact outcome on every demand

# the least time of one exact recourse in a batch (recourse_params): with less, a weighted
# recourse on HiGHS is its LP and RENS only (an evaluation of 50 scenarios on 2 workers took
# 25 s at the old floor of a second each, past a 60 s limit by 20 s)
MIN_RECOURSE_S = 0.1


@dataclass(frozen=True)
class DesignContext:
    """One design solve: what its methods read, resolved once by ``solve_design``."""

    instance: Instance  # the design instance, with the scenarios solved over
    core: Instance  # the same without scenarios: what the per-scenario kernels get
    base: Problem  # the design problem of the instance's own needs (first stage)
    demands: tuple[Demand, ...]  # the scenarios' demands (or the instance's needs), weighted
    lot_demand: np.ndarray  # D[l]: each lot's expected demand (clarification 7)
    params: DesignParams
    kind: str  # the objective: "weighted" or "lexicographic"
    runner: Runner  # where independent solves run
    solver: str  # the solver name results carry
    t0: float  # time.perf_counter() at the start of the solve
    deadline: float  # time.perf_counter() by which the solve should end
    columns: int  # the extensive form's estimated column count
    common: Mapping[str, Any]  # the ``extra`` every result of the solve carries
    # set when another method solving the same design beside this one has proven its optimum
    # (``auto``'s extensive form beside Benders): from then on no time is left
    stop: threading.Event | None = None

    def elapsed(self) -> float:
        """Seconds since the solve started."""
        return time.perf_counter() - self.t0

    def left(self) -> float:
        """Seconds left before the deadline (negative once past it, or once ``stop`` is
        set)."""
        if self.stop is not None and self.stop.is_set():
            return min(-1.0, self.deadline - time.perf_counter())
        return self.deadline - time.perf_counter()


def solve_params(ctx: DesignContext, time_limit: float, threads: int | None) -> SolveParams:
    """Solver parameters of one solve of the design: ``ctx.params`` at this time limit."""
    params = ctx.params
    if params.solver not in EXACT_SOLVERS:  # pragma: no cover - DesignParams restricts it
        raise ValueError(f"unknown solver {params.solver!r}")
    return SolveParams(solver=params.solver, objective=params.objective,
                       time_limit=max(0.01, time_limit), gap=min(params.gap, 1e-4),
                       threads=threads, verbose=params.verbose, seed=params.seed)


def recourse_params(ctx: DesignContext, solves: int = 1) -> SolveParams:
    """Solver parameters of one exact recourse among ``solves`` to be run on ``ctx.runner``.

    Each gets its share of the time left (the solves run ``runner.workers`` at a time), at
    least :data:`MIN_RECOURSE_S` and at most ``recourse_time_limit``: giving each the whole
    time left let a batch of hard recourse MIPs overrun the deadline many times over. With
    less than a second each, a weighted recourse on HiGHS is its LP and RENS (each with a
    floor of its own, :mod:`allocator.design.recourse`) and no MIP after them; the other
    recourses keep a second each.
    """
    params, workers = ctx.params, ctx.runner.workers
    left = max(MIN_RECOURSE_S, ctx.left())
    rounds = max(1, math.ceil(solves / max(1, workers)))
    return solve_params(ctx, max(MIN_RECOURSE_S, min(params.recourse_time_limit, left / rounds)),
                        1 if workers > 1 else params.threads)


def evaluate(ctx: DesignContext, awards: Mapping[Pool, float]) -> list[Outcome]:
    """Every demand's exact recourse under ``awards``."""
    return evaluate_many(ctx, [dict(awards)])[0][1]


def evaluate_many(ctx: DesignContext, candidates: Sequence[Awards]) -> list[Scored]:
    """Every candidate on every demand, in one parallel map; [(awards, outcomes)]."""
    runner = ctx.runner
    params = recourse_params(ctx, len(ctx.demands) * len(candidates))
    parts = chunks(list(ctx.demands), 2 * runner.workers if runner.workers > 1 else 1)
    tasks = [(ctx.core, part, cand, params) for cand in candidates for part in parts]
    results = runner.map(recourse_batch, tasks)
    out = []
    for k, cand in enumerate(candidates):
        outs = [o for r in results[k * len(parts):(k + 1) * len(parts)] for o in r]
        out.append((cand, outs))
    return out


def expected(ctx: DesignContext, awards: Mapping[Pool, float],
             outcomes: Sequence[Outcome]) -> float | None:
    """Expected weekly cost of a design: first stage plus the weighted recourse (None when a
    demand has no objective)."""
    recourse = weighted_sum((o.weight, o.objective) for o in outcomes)
    if recourse is None:
        return None
    return ctx.base.fixed_block_cost + award_cost(ctx.instance, awards) + recourse


def rank(ctx: DesignContext, scored: Scored) -> tuple[float, float]:
    """Sort key of a design evaluated on every demand: smaller is better.

    With the lexicographic objective the expected unmet quantity first, then the expected cost.

    Raises
    ------
    ValueError
        When a demand has no solution: only designs solved on every demand are ranked.
    """
    awards, outcomes = scored
    total = expected(ctx, awards, outcomes)
    if total is None:
        raise ValueError("cannot rank a design that has a scenario without a solution")
    if ctx.kind == "lexicographic":
        unmet = sum(o.weight * o.terms["unmet"] for o in outcomes)
        return (round(unmet, 6), total)
    return (0.0, total)


def weighted_sum(pairs: Iterable[tuple[float, float | None]]) -> float | None:
    """sum(weight * value) over ``pairs``; None when any value is None."""
    total = 0.0
    for weight, value in pairs:
        if value is None:
            return None
        total += weight * value
    return total


def failed(ctx: DesignContext, bad: Sequence[Outcome], extra: Mapping[str, Any]) -> Result:
    """The result of a solve whose design could not be evaluated: the first failure's."""
    first = bad[0]
    status = (Status.infeasible if first.status == Status.infeasible
              else Status.time_limit_no_solution if first.status == Status.time_limit_no_solution
              else Status.error)
    return Result(status=status, solver=ctx.solver, runtime_s=ctx.elapsed(),
                  message=f"scenario {first.scenario}: {first.status.value} {first.message}",
                  extra=extra)


def result(ctx: DesignContext, awards: Mapping[Pool, float], outcomes: Sequence[Outcome], *,
           status: Status, bound: float | None, extra: Mapping[str, Any],
           build_s: float = 0.0) -> Result:
    """The result of a design (``awards``) and every demand's allocation under it.

    The objective is the exact expected cost; a bound above it is lowered to it, and an
    outcome in error makes the status an error.

    Raises
    ------
    ValueError
        When an outcome has no solution (the methods pass only designs solved everywhere), or
        a scenario outcome has no scenario id.
    """
    terms = dict.fromkeys(TERMS, 0.0)
    for o in outcomes:
        for t in TERMS:
            terms[t] += o.weight * o.terms.get(t, 0.0)
    terms["block"] = ctx.base.fixed_block_cost + award_cost(ctx.instance, awards)
    objective = float(sum(terms.values()))
    if any(o.status == Status.error for o in outcomes):
        status = Status.error
    if bound is not None:
        bound = min(float(bound), objective)
    if ctx.instance.scenarios:
        solution = Solution(assignment={}, awards=dict(awards),
                            scenarios={_scenario_id(o): solution_of(o) for o in outcomes})
    else:
        only = solution_of(outcomes[0])
        solution = Solution(assignment=only.assignment, block=only.block, awards=dict(awards))
    runtime = ctx.elapsed()
    return Result(status=status, solver=ctx.solver, objective=objective, bound=bound,
                  runtime_s=runtime, terms=terms, solution=solution, build_s=build_s,
                  solve_s=runtime - build_s,
                  message="; ".join(sorted({o.message for o in outcomes if o.status ==
                                            Status.error})),
                  extra={**extra, "outcomes": list(outcomes)})


def solution_of(outcome: Outcome) -> Solution:
    """``outcome.solution``, which the caller knows is there (ValueError if not)."""
    if outcome.solution is None:
        raise ValueError(f"scenario {outcome.scenario}: a {outcome.status.value} outcome has "
                         "no solution")
    return outcome.solution


def _scenario_id(outcome: Outcome) -> str:
    if outcome.scenario is None:
        raise ValueError("an outcome of a solve over scenarios has no scenario id")
    return outcome.scenario
