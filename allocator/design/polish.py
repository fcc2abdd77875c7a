"""Polishing a design found by decomposition: re-choose the awards, re-solve the scenarios.

With every scenario's assignment fixed, the awards and volumes are re-chosen (the extensive
form's MIP over y, V, b with x and u fixed at the current assignments: :class:`Reaward`), then
every scenario is re-solved exactly under the new awards; :func:`polish` alternates the two
while that lowers the expected cost (or, lexicographically, the expected unmet need first).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from allocator.core.problem import Problem
from allocator.core.progress import muted
from allocator.design.context import (
    Awards,
    DesignContext,
    Scored,
    evaluate,
    expected,
    rank,
    solve_params,
)
from allocator.design.extensive import awards_from_values, design_problems, scored_values
from allocator.design.limits import limits_ok
from allocator.exact.model import MatrixModel, build
from allocator.exact.solve import solve_model

LOG = logging.getLogger("allocator.design")


def polish(ctx: DesignContext, best: Scored, history: list[dict[str, Any]], *,
           reserve: float = 0.0, rounder: Callable[[Awards], Awards] | None = None) -> Scored:
    """Alternate: re-choose the awards for the current assignments, re-solve the scenarios.

    ``best`` is the design to start from and its outcomes; every design tried is appended to
    ``history``. A round starts only with more than ``reserve`` seconds left before the
    deadline; ``rounder`` (awards -> awards) tidies the re-chosen volumes (whole beds) first.
    Returns the best design found and its outcomes.
    """
    reaward = Reaward(ctx)
    for r in range(ctx.params.improve_rounds):
        if time.perf_counter() + reserve > ctx.deadline:
            break
        new = reaward(best)
        if new is not None and rounder is not None:
            new = rounder(new)
        if new is None or new == best[0] or not limits_ok(ctx.instance, new, ctx.lot_demand):
            break
        outs = evaluate(ctx, new)
        value = expected(ctx, new, outs)
        history.append({"source": f"re-award {r + 1}", "objective": value})
        LOG.info("polish %d: %s", r + 1, value)
        if not all(o.status.has_solution for o in outs):
            break
        if rank(ctx, (new, outs)) < rank(ctx, best):
            best = (new, outs)
        else:
            break
    return best


@dataclass
class Reaward:
    """Best awards and volumes for the scenarios' current assignments (x fixed).

    The extensive form over every demand of ``ctx`` is built on the first call and reused.
    """

    ctx: DesignContext
    _built: tuple[list[Problem], MatrixModel] | None = field(default=None, init=False)

    def __call__(self, current: Scored) -> Awards | None:
        """The awards that serve ``current``'s assignments best; None without a solution."""
        ctx = self.ctx
        awards, outcomes = current
        problems, model = self._model()
        start = scored_values(model, problems, awards, outcomes)
        lo, hi = model.col_lo.copy(), model.col_hi.copy()
        for d in model.demands:
            n = d.problem.n_pairs + d.problem.n_needs  # x then u: fixed at the current assignment
            lo[d.x0:d.x0 + n] = start[d.x0:d.x0 + n]
            hi[d.x0:d.x0 + n] = start[d.x0:d.x0 + n]
        fixed = replace(model, col_lo=lo, col_hi=hi)
        sp = solve_params(ctx, max(1.0, min(ctx.params.recourse_time_limit, ctx.left())),
                          ctx.params.threads)
        with muted():  # its bound is of the fixed assignments, not the design's
            res, _ = solve_model(fixed, sp, ctx.kind, warm_start=start)
        if not res.status.has_solution or res.values is None:
            return None
        return awards_from_values(model, problems[0], res.values)

    def _model(self) -> tuple[list[Problem], MatrixModel]:
        if self._built is None:
            ctx = self.ctx
            problems = design_problems(ctx.instance, ctx.demands)
            model = build([(p, d.weight) for p, d in zip(problems, ctx.demands, strict=True)],
                          design=True, expected_lot_demand=ctx.lot_demand)
            self._built = (problems, model)
        return self._built

