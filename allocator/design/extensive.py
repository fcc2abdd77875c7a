"""The extensive form (deterministic equivalent) of the design model: one MIP.

Every scenario's x, u, b and the shared y, V in one model (:func:`allocator.exact.model.build`
with ``design=True``, each scenario weighted), solved by the same solver layer as an
allocation. :func:`solve_extensive` is the ``extensive`` method of
:func:`allocator.design.solve.solve_design` (chosen up to ``DesignParams.max_columns``
columns); its bound is the MIP's. :func:`design_problems` and :func:`awards_from_values` are
the pieces the decomposition reuses on scenario groups and when re-choosing awards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from allocator.core.evaluate import chosen_from_solution
from allocator.core.problem import Problem
from allocator.core.result import Result
from allocator.design.context import Awards, DesignContext, result, solution_of, solve_params
from allocator.design.recourse import (
    Outcome,
    Pool,
    design_holders,
    holder_keys,
    outcome_of,
    with_awards,
)
from allocator.design.scenarios import Demand
from allocator.exact.model import MatrixModel, build, chosen_from_values, values_from_chosen
from allocator.exact.solve import solve_model
from allocator.instance.schema import Instance


def solve_extensive(ctx: DesignContext, start: Result | None = None) -> Result:
    """Solve the design model over all of ``ctx.demands`` as one MIP.

    ``start``: a design solved on every demand (a result of another method on ``ctx``), the
    MIP's first incumbent.
    """
    ds = ctx.demands
    problems = design_problems(ctx.instance, ds)
    model = build([(p, d.weight) for p, d in zip(problems, ds, strict=True)], design=True,
                  expected_lot_demand=ctx.lot_demand)
    build_s = ctx.elapsed()
    sp = solve_params(ctx, max(0.01, ctx.left()), ctx.params.threads)
    warm = None if start is None else start_values(model, problems, start)
    res, phases = solve_model(model, sp, ctx.kind, warm_start=warm)
    extra = {**ctx.common, "build_s": build_s, "columns": model.n_cols, "rows": model.n_rows,
             "phases": [{"phase": n, "status": r.status.value, "objective": r.objective,
                         "bound": r.bound, "runtime_s": r.runtime_s} for n, r in phases],
             "bound_kind": "MIP bound of the extensive form"}
    if not res.status.has_solution or res.values is None:
        return Result(status=res.status, solver=ctx.solver, bound=res.bound,
                      message=res.message, runtime_s=ctx.elapsed(), build_s=build_s,
                      extra=extra)
    awards = awards_from_values(model, problems[0], res.values)
    chosen = chosen_from_values(model, res.values)
    outcomes = []
    for p, d, ch in zip(problems, ds, chosen, strict=True):
        fixed = with_awards(p, awards)
        outcomes.append(outcome_of(fixed, d, ch, res.status, None, 0.0, res.message))
    return result(ctx, awards, outcomes, status=res.status, bound=res.bound, extra=extra,
                  build_s=build_s)


def start_values(model: MatrixModel, problems: Sequence[Problem],
                 start: Result) -> np.ndarray | None:
    """The extensive form's column values of a design result and its allocations (``start``,
    with its outcomes as :func:`allocator.design.context.result` makes them), or None when it
    carries no solution on every demand."""
    outcomes = start.extra.get("outcomes") or []
    if start.solution is None or len(outcomes) != len(problems) or any(
            o.solution is None for o in outcomes):
        return None
    return scored_values(model, problems, start.solution.awards or {}, outcomes)


def scored_values(model: MatrixModel, problems: Sequence[Problem],
                  awards: Mapping[Pool, float], outcomes: Sequence[Outcome]) -> np.ndarray:
    """Every column of the extensive form (y, V, and each demand's x, u, b) for ``awards`` and
    the demands' allocations under them (``outcomes``, one per problem, each with a
    solution)."""
    keys = holder_keys(problems[0])
    chosen = [chosen_from_solution(p, solution_of(o))
              for p, o in zip(problems, outcomes, strict=True)]
    return values_from_chosen(model, chosen,
                              volume=np.array([awards.get(k, 0.0) for k in keys]),
                              award=np.array([1.0 if k in awards else 0.0 for k in keys]))


def design_problems(instance: Instance, ds: Sequence[Demand]) -> list[Problem]:
    """The design problem of each demand of ``ds`` (its needs, its scenario id)."""
    return [Problem.from_instance(instance, mode="design", needs=d.needs, scenario=d.id)
            for d in ds]


def awards_from_values(model: MatrixModel, problem: Problem, values: np.ndarray) -> Awards:
    """(provider, lot) -> V for every bid with y = 1, V clipped to the bid's volume range."""
    keys = holder_keys(problem)
    nb = len(keys)
    if nb == 0 or model.y0 < 0:
        return {}
    y = values[model.y0:model.y0 + nb] > 0.5
    v = values[model.y0 + nb:model.y0 + 2 * nb]
    bids = problem.instance.block_bids
    out = {}
    for j, h in enumerate(design_holders(problem)):
        if not y[j]:
            continue
        bid = bids[int(problem.holder_bid[h])]
        out[keys[j]] = round(float(min(max(v[j], bid.min_volume), bid.max_volume)), 6)
    return out

