"""Choosing the awards: the design model of DESIGN.md section 5 over demand scenarios.

One entry point, :func:`solve_design`, with its :class:`DesignParams`. It resolves the instance,
its demands and the parameters once into a :class:`~allocator.design.context.DesignContext`
and runs one method on it. ``models/lot_design.md`` states the model and the methods; in short
(``DesignParams.method``, ``auto`` picks):

* **extensive** (at most ``max_columns`` columns; :mod:`allocator.design.extensive`): every
  scenario's x, u, b and the shared y, V in one MIP (:func:`allocator.exact.model.build` with
  ``design=True``), solved by the same solver layer as an allocation. The bound is the MIP's.
* **independent** (no awardable bid; :mod:`allocator.design.decomposition`): nothing is chosen
  once, so the scenarios separate exactly; the bound is the weighted sum of the scenarios'
  bounds.
* **benders** (larger, weighted objective; :mod:`allocator.design.decomposition` over the
  machinery of :mod:`allocator.design.benders`): fix the design, solve every scenario's LP
  recourse independently (value and subgradient in V), improve the design with a master MIP
  over (y, V, theta) and the cuts; then evaluate the best designs exactly (every scenario's
  MIP recourse under fixed awards) and polish. The bound reported is the larger of the
  master's (valid: the LP recourse is at most the MIP recourse) and the wait-and-see LP bound
  (each scenario's own design LP, weighted).
* **benders+extensive** (``auto`` only: weighted objective, bids to award, at most
  ``hybrid_columns`` columns): Benders as above here, and the extensive form on one thread
  in a process of its own, both for the whole limit; the better design and the larger bound
  are kept. Neither alone holds on every structure: the
  extensive form's MIP can keep a poor design for the whole limit where capacities bind, and
  Benders proves only its LP recourse where that is far below the MIP's.
* **groups** (larger, lexicographic objective, or on request;
  :mod:`allocator.design.decomposition`): scenario groups small enough for the extensive form;
  each group's design MIP gives a candidate and a bound; every candidate is evaluated on every
  scenario; the best is polished. The bound reported is ``sum_g W_g * bound_g`` (none with the
  lexicographic objective).

Polishing (:mod:`allocator.design.polish`) alternates: with every scenario's assignment fixed,
re-choose the awards and volumes (a MIP over y, V, b), then re-solve every scenario under the
new awards, while that lowers the expected cost. The objective reported is always the exactly
evaluated expected cost of the design returned (:mod:`allocator.design.context`). Before any
solve, :mod:`allocator.design.limits` checks that the awardable bids can meet the lots' limits
and the design targets at all.

The names other modules use from here (``GroupOutcome``, ``solve_group``,
``awards_from_values``, ``limits_ok``, ``target_problems``, once defined here) stay importable.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Result, Status
from allocator.design.context import DesignContext
from allocator.design.decomposition import (
    GroupOutcome,
    solve_benders,
    solve_benders_extensive,
    solve_group,
    solve_groups,
    solve_independent,
)
from allocator.design.extensive import awards_from_values, solve_extensive
from allocator.design.limits import limits_ok, target_problems, unreachable_limits
from allocator.design.recourse import design_holders
from allocator.design.scenarios import Demand, demands, with_scenarios
from allocator.design.sweep import Runner, SerialRunner
from allocator.instance.schema import Instance, Scenario
from allocator.solvers import certify

__all__ = [
    "DesignParams",
    "GroupOutcome",
    "awards_from_values",
    "expected_lot_demand",
    "limits_ok",
    "solve_design",
    "solve_group",
    "target_problems",
]

# the method that solves a design, by the name ``extra["method"]`` reports
METHODS: dict[str, Callable[[DesignContext], Result]] = {
    "extensive": solve_extensive,
    "independent": solve_independent,
    "benders": solve_benders,
    "benders+extensive": solve_benders_extensive,
    "groups": solve_groups,
}


class DesignParams(BaseModel):
    """Parameters of :func:`solve_design` (validated; loadable from JSON/TOML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    solver: Literal["highs", "cbc", "highs-pulp"] = "highs"
    objective: Literal["weighted", "lexicographic"] | None = None  # None: the instance's policy
    time_limit: float = Field(300.0, gt=0)  # the whole design solve, seconds
    gap: float = Field(1e-6, ge=0)  # relative gap at which a design counts as optimal
    threads: int | None = Field(None, ge=1)
    seed: int = 0
    verbose: bool = False
    method: Literal["auto", "extensive", "benders", "groups"] = "auto"
    max_columns: int = Field(20_000, ge=1)  # auto: extensive form up to this many columns
    # auto, weighted, with bids: Benders and, in a process of its own, the extensive form at
    # once, up to this many columns
    hybrid_columns: int = Field(80_000, ge=0)
    recourse_time_limit: float = Field(60.0, gt=0)  # one scenario under fixed awards
    improve_rounds: int = Field(4, ge=0)  # polishing: re-award for fixed assignments, re-solve
    # benders
    benders_share: float = Field(0.75, gt=0, le=1)  # of the time limit, for the cut loop
    max_iterations: int = Field(200, ge=1)  # both phases together (relaxed, then master MIP)
    # share of the time limit for the cut loop on the master's LP relaxation first
    lp_phase_share: float = Field(0.6, ge=0, le=1)
    final_candidates: int = Field(2, ge=1)  # best LP designs evaluated exactly
    # master MIP phase: a second cut per iteration at this weight of the core point (the
    # best design's awards, moving towards each master design) and the rest of the master's
    # design (in-out separation as in the relaxed phase; 0: cuts at the master's design only)
    master_inout: float = Field(0.5, ge=0, lt=1)
    # groups of scenarios whose aggregated demand the master holds beside its cuts (partial
    # Benders, allocator.design.aggregate); 0: cuts only
    aggregate_groups: int = Field(1, ge=0)
    # how many master MIPs (the first ones) hold the aggregated demand where it applies (the
    # later ones are cuts only: 3-6 s a master where the aggregated ones take 40-50 s); None:
    # every one
    aggregated_masters: int | None = Field(1, ge=0)
    # improving designs of an aggregated master MIP (the first ones HiGHS finds) swept beside
    # it for their cuts (and as candidates); 0: none
    beside_designs: int = Field(4, ge=0)
    # share of the time limit for the wait-and-see bound's per-scenario design MIPs (0: LP
    # only). Off by default: on the Staffordshire comparison at 0.2 it raised no bound (the
    # short MIPs proved no more than their LPs) and took time from the Benders iterations.
    wait_and_see_mip_share: float = Field(0.0, ge=0, lt=1)
    # groups
    group_size: int | None = Field(None, ge=1)  # scenarios per group


def solve_design(
    instance: Instance,
    params: DesignParams | None = None,
    scenarios: Sequence[Scenario] | None = None,
    *,
    runner: Runner | None = None,
) -> Result:
    """Choose the awards (y, V) of DESIGN.md section 5 and every scenario's allocation.

    Parameters
    ----------
    instance
        A validated design instance (lots with block rules, block bids, contracts in force).
    params
        :class:`DesignParams` (defaults when None).
    scenarios
        Demand scenarios replacing the instance's own (e.g. from
        :func:`allocator.design.scenarios.generate_scenarios`); the instance's scenarios when
        None, and with none of those, its own needs as the one demand.
    runner
        Where independent solves run (:mod:`allocator.design.sweep`); in-process when None.

    Returns
    -------
    Result
        ``solution.awards`` maps (provider, lot) to the awarded volume; ``solution.scenarios``
        each scenario's allocation (with no scenarios, the allocation is ``solution`` itself).
        ``objective`` is the expected weekly cost (block cost once, the recourse terms weighted
        by scenario); ``bound`` a proven lower bound or None; ``extra`` has ``method``,
        ``bound_kind``, ``outcomes`` (one :class:`~allocator.design.recourse.Outcome` per
        scenario), ``dropped_bids`` and the decomposition's groups and candidates.
    """
    params = params or DesignParams()
    runner = runner or SerialRunner()
    t0 = time.perf_counter()
    deadline = t0 + params.time_limit
    if scenarios is not None:
        instance = with_scenarios(instance, scenarios)
    ds = demands(instance)
    kind = params.objective or instance.policy.objective
    base = Problem.from_instance(instance, mode="design")
    lot_demand = expected_lot_demand(instance, ds)
    solver = f"{params.solver}-design"
    dropped = [
        {"provider": instance.block_bids[i].provider, "lot": instance.block_bids[i].lot,
         "reason": reason}
        for i, reason in base.dropped_bids
    ]
    n_bids = len(design_holders(base))
    infeasible = unreachable_limits(instance, base, lot_demand)
    if infeasible:
        return Result(status=Status.infeasible, solver=solver, message=infeasible,
                      runtime_s=time.perf_counter() - t0,
                      extra={"method": "none", "dropped_bids": dropped})
    columns = _estimated_columns(base, ds, n_bids)
    if n_bids == 0:
        method = "independent"
    elif params.method == "auto":
        method = ("benders+extensive" if kind == "weighted" and columns <= params.hybrid_columns
                  else "extensive" if columns <= params.max_columns
                  else "benders" if kind == "weighted" else "groups")
    elif params.method == "benders" and kind != "weighted":
        method = "groups"  # Benders cuts need the weighted objective
    else:
        method = params.method
    common: dict[str, Any] = {"method": method, "dropped_bids": dropped,
                              "estimated_columns": columns}
    if params.method == "benders" and method == "groups":
        common["method_note"] = (f"method {params.method} asked; {method} used: Benders cuts "
                                 f"need the weighted objective and this design is {kind}")
    ctx = DesignContext(
        instance=instance, core=instance.model_copy(update={"scenarios": ()}), base=base,
        demands=tuple(ds), lot_demand=lot_demand, params=params, kind=kind, runner=runner,
        solver=solver, t0=t0, deadline=deadline, columns=columns,
        common=common)
    # The rules every answer obeys (optimal only within the requested gap; objective_kind),
    # applied by the solver registry as for allocation solves.
    return certify(METHODS[method](ctx), SolveParams(gap=params.gap), kind)


def expected_lot_demand(instance: Instance, ds: Sequence[Demand]) -> np.ndarray:
    """D[l] of clarification 7: the weighted expectation of each lot's demand over ``ds``."""
    cell_lot = {}
    for li, lot in enumerate(instance.lots):
        for z in lot.zones:
            for s in lot.services:
                for c in lot.complexities:
                    cell_lot[(z, s, c)] = li
    D = np.zeros(len(instance.lots))
    for d in ds:
        for n in d.needs:
            cell = cell_lot.get((n.zone, n.service, n.complexity))
            if cell is not None:
                D[cell] += d.weight * n.quantity
    return D


def _estimated_columns(base: Problem, ds: Sequence[Demand], n_bids: int) -> int:
    per_need = (base.n_pairs + base.n_needs) / max(1, base.n_needs)
    return int(2 * n_bids + sum(per_need * len(d.needs) for d in ds))
