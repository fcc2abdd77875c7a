"""Choosing the awards: the design model of DESIGN.md section 5 over demand scenarios.

One entry point, :func:`solve_design`. ``models/lot_design.md`` states the model and the
methods; in short (``DesignParams.method``, ``auto`` picks):

* **extensive** (at most ``max_columns`` columns): every scenario's x, u, b and the shared y, V
  in one MIP (:func:`allocator.exact.model.build` with ``design=True``), solved by the same solver
  layer as an allocation. The bound is the MIP's.
* **independent** (no awardable bid): nothing is chosen once, so the scenarios separate
  exactly; the bound is the weighted sum of the scenarios' bounds.
* **benders** (larger, weighted objective; :mod:`allocator.design.benders`): fix the design,
  solve every scenario's LP recourse independently (value and subgradient in V), improve the
  design with a master MIP over (y, V, theta) and the cuts; then evaluate the best designs
  exactly (every scenario's MIP recourse under fixed awards) and polish. The bound reported is
  the larger of the master's (valid: the LP recourse is at most the MIP recourse) and the
  wait-and-see LP bound (each scenario's own design LP, weighted).
* **groups** (larger, lexicographic objective, or on request): scenario groups small enough for
  the extensive form; each group's design MIP gives a candidate and a bound; every candidate
  is evaluated on every scenario; the best is polished. The bound reported is
  ``sum_g W_g * bound_g`` (none with the lexicographic objective).

Polishing alternates: with every scenario's assignment fixed, re-choose the awards and volumes
(a MIP over y, V, b), then re-solve every scenario under the new awards, while that lowers the
expected cost. The objective reported is always the exactly evaluated expected cost of the
design returned.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import TERMS, Result, Solution, Status, gap
from allocator.design.benders import LpRecourse, Master, design_lp_bound, lp_recourse
from allocator.design.recourse import (
    Outcome,
    Pool,
    award_cost,
    award_volumes,
    design_holders,
    holder_keys,
    outcome_of,
    recourse_batch,
)
from allocator.design.scenarios import Demand, demands, with_scenarios
from allocator.design.sweep import Runner, SerialRunner, chunks
from allocator.exact.model import MatrixModel, build, chosen_from_values, values_from_chosen
from allocator.exact.solve import EXACT_SOLVERS, solve_model
from allocator.instance.schema import Instance, Scenario

LOG = logging.getLogger("allocator.design")


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
    recourse_time_limit: float = Field(60.0, gt=0)  # one scenario under fixed awards
    improve_rounds: int = Field(4, ge=0)  # polishing: re-award for fixed assignments, re-solve
    # benders
    benders_share: float = Field(0.7, gt=0, le=1)  # of the time limit, for the cut loop
    max_iterations: int = Field(200, ge=1)
    final_candidates: int = Field(2, ge=1)  # best LP designs evaluated exactly
    # groups
    group_size: int | None = Field(None, ge=1)  # scenarios per group


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
    infeasible = _unreachable_limits(instance, base, lot_demand)
    if infeasible:
        return Result(status=Status.infeasible, solver=solver, message=infeasible,
                      runtime_s=time.perf_counter() - t0,
                      extra={"method": "none", "dropped_bids": dropped})
    columns = _estimated_columns(base, ds, n_bids)
    if n_bids == 0:
        method = "independent"
    elif params.method == "auto":
        method = ("extensive" if columns <= params.max_columns
                  else "benders" if kind == "weighted" else "groups")
    elif params.method == "benders" and kind != "weighted":
        method = "groups"  # Benders cuts need the weighted objective
    else:
        method = params.method
    common = {"method": method, "dropped_bids": dropped, "estimated_columns": columns}
    if method == "extensive":
        return _extensive(instance, ds, lot_demand, params, kind, t0, deadline, solver, common)
    core = instance.model_copy(update={"scenarios": []})
    if method == "independent":
        outcomes = _evaluate(runner, core, ds, {}, _recourse_params(params, deadline, runner))
        bad = [o for o in outcomes if not o.status.has_solution]
        if bad:
            return _failed(bad, solver, t0, common)
        bound = None
        if kind != "lexicographic" and all(o.bound is not None for o in outcomes):
            bound = base.fixed_block_cost + sum(o.weight * o.bound for o in outcomes)
        status = Status.optimal if all(o.status == Status.optimal for o in outcomes) else (
            Status.feasible)
        return _result(instance, base, {}, outcomes, status, bound, solver, t0,
                       {**common, "bound_kind": "sum of the scenarios' bounds (exact: nothing "
                                                "is chosen once)"})
    if method == "benders":
        return _benders(instance, core, ds, lot_demand, params, runner, t0, deadline, base,
                        solver, common)
    return _groups(instance, core, ds, lot_demand, params, kind, runner, t0, deadline,
                   base, solver, common, columns)


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
            li = cell_lot.get((n.zone, n.service, n.complexity))
            if li is not None:
                D[li] += d.weight * n.quantity
    return D


# --------------------------------------------------------------------------- extensive form


def _extensive(instance, ds, lot_demand, params, kind, t0, deadline, solver, common) -> Result:
    problems = [Problem.from_instance(instance, mode="design", needs=d.needs, scenario=d.id)
                for d in ds]
    model = build([(p, d.weight) for p, d in zip(problems, ds, strict=True)], design=True,
                  expected_lot_demand=lot_demand)
    build_s = time.perf_counter() - t0
    sp = _solve_params(params, max(0.01, deadline - time.perf_counter()), params.threads)
    res, phases = solve_model(model, sp, kind)
    extra = {**common, "build_s": build_s, "columns": model.n_cols, "rows": model.n_rows,
             "phases": [{"phase": n, "status": r.status.value, "objective": r.objective,
                         "bound": r.bound, "runtime_s": r.runtime_s} for n, r in phases],
             "bound_kind": "MIP bound of the extensive form"}
    if not res.status.has_solution or res.values is None:
        return Result(status=res.status, solver=solver, bound=res.bound, message=res.message,
                      runtime_s=time.perf_counter() - t0, build_s=build_s, extra=extra)
    awards = awards_from_values(model, problems[0], res.values)
    chosen = chosen_from_values(model, res.values)
    outcomes = []
    for p, d, ch in zip(problems, ds, chosen, strict=True):
        fixed = replace(p, holder_volume=award_volumes(p, awards))
        outcomes.append(outcome_of(fixed, d, ch, res.status, None, 0.0, res.message))
    return _result(instance, problems[0], awards, outcomes, res.status, res.bound, solver, t0,
                   extra, build_s=build_s)


def awards_from_values(model: MatrixModel, problem: Problem, values: np.ndarray) -> dict:
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


# --------------------------------------------------------------------------- decomposition


def solve_group(
    instance: Instance,
    group: Sequence[Demand],
    lot_demand: np.ndarray,
    params: SolveParams,
    kind: str,
) -> GroupOutcome:
    """The design MIP of one group of scenarios (their weights renormalised to sum to 1).

    ``lot_demand`` is the expected demand over *all* scenarios, so that every group has the
    same first-stage rules (clarification 7).
    """
    t0 = time.perf_counter()
    weight = float(sum(d.weight for d in group))
    problems = [Problem.from_instance(instance, mode="design", needs=d.needs, scenario=d.id)
                for d in group]
    model = build([(p, d.weight / weight) for p, d in zip(problems, group, strict=True)],
                  design=True, expected_lot_demand=lot_demand)
    res, _ = solve_model(model, params, kind)
    ids = tuple(d.id for d in group)
    if not res.status.has_solution or res.values is None:
        return GroupOutcome(ids, weight, res.status, None, None, res.bound,
                            time.perf_counter() - t0, res.message)
    return GroupOutcome(ids, weight, res.status, awards_from_values(model, problems[0], res.values),
                        res.objective, res.bound, time.perf_counter() - t0, res.message)


def _groups(instance, core, ds, lot_demand, params, kind, runner, t0, deadline, base, solver,
            common, columns) -> Result:
    per_demand = max(1.0, columns / len(ds))
    size = params.group_size or max(1, int(params.max_columns // per_demand))
    n_groups = math.ceil(len(ds) / size)
    groups = [list(ds[g::n_groups]) for g in range(n_groups)]  # round robin: mixed groups
    waves = math.ceil(n_groups / runner.workers)
    left = deadline - time.perf_counter()
    group_params = _solve_params(params, max(1.0, 0.45 * left / waves),
                                 1 if runner.workers > 1 else params.threads)
    group_out: list[GroupOutcome] = runner.map(
        solve_group, [(core, g, lot_demand, group_params, kind) for g in groups])
    extra = {**common, "groups": [
        {"scenarios": list(g.scenarios), "weight": g.weight, "status": g.status.value,
         "objective": g.objective, "bound": g.bound, "runtime_s": g.runtime_s,
         "awards": len(g.awards or {})} for g in group_out]}
    bound = None
    if kind != "lexicographic" and all(g.bound is not None for g in group_out):
        bound = float(sum(g.weight * g.bound for g in group_out))
        extra["bound_kind"] = ("group bound: sum over scenario groups of weight x the group "
                               "design MIP's bound")
    else:
        extra["bound_kind"] = "none (lexicographic, or a group without a bound)"
    candidates: list[dict[Pool, float]] = []
    for g in group_out:
        if (g.awards is not None and g.awards not in candidates
                and limits_ok(instance, g.awards, lot_demand)):
            candidates.append(g.awards)
    if not candidates:
        status = (Status.infeasible if any(g.status == Status.infeasible for g in group_out)
                  else Status.time_limit_no_solution)
        return Result(status=status, solver=solver, bound=bound,
                      runtime_s=time.perf_counter() - t0,
                      message="no scenario group found a design", extra=extra)
    rparams = _recourse_params(params, deadline, runner)
    scored = _evaluate_many(runner, core, ds, candidates, rparams)
    history = [{"source": f"group {i + 1}", "objective": _expected(instance, base, a, o)}
               for i, (a, o) in enumerate(scored)]
    feasible = [(a, o) for a, o in scored if all(x.status.has_solution for x in o)]
    if not feasible:
        return _failed([x for _, o in scored for x in o if not x.status.has_solution], solver,
                       t0, extra)
    best_awards, best = min(feasible, key=lambda ao: _key(instance, base, ao[0], ao[1], kind))
    best_awards, best = _polish(instance, core, ds, lot_demand, params, kind, runner, deadline,
                                base, best_awards, best, history)
    extra["candidates"] = history
    objective = _expected(instance, base, best_awards, best)
    status = Status.feasible
    if bound is not None and (gap(objective, bound) or 0.0) <= params.gap:
        status = Status.optimal
    return _result(instance, base, best_awards, best, status, bound, solver, t0, extra)


def _polish(instance, core, ds, lot_demand, params, kind, runner, deadline, base, best_awards,
            best, history, reserve: float = 0.0, rounder=None):
    """Alternate: re-choose the awards for the current assignments, re-solve the scenarios.

    A round starts only with more than ``reserve`` seconds left before the deadline;
    ``rounder`` (awards -> awards) tidies the re-chosen volumes (whole beds) first.
    """
    cache: dict[str, object] = {}
    for r in range(params.improve_rounds):
        if time.perf_counter() + reserve > deadline:
            break
        new = _reaward(instance, ds, lot_demand, best_awards, best, params, kind, deadline,
                       cache)
        if new is not None and rounder is not None:
            new = rounder(new)
        if new is None or new == best_awards or not limits_ok(instance, new, lot_demand):
            break
        outs = _evaluate(runner, core, ds, new, _recourse_params(params, deadline, runner))
        value = _expected(instance, base, new, outs)
        history.append({"source": f"re-award {r + 1}", "objective": value})
        LOG.info("polish %d: %s", r + 1, value)
        if not all(o.status.has_solution for o in outs):
            break
        if _key(instance, base, new, outs, kind) < _key(instance, base, best_awards, best, kind):
            best_awards, best = new, outs
        else:
            break
    return best_awards, best


def _benders(instance, core, ds, lot_demand, params, runner, t0, deadline, base, solver,
             common) -> Result:
    """The L-shaped method of :mod:`allocator.design.benders`, then exact evaluation."""
    master = Master(instance, base, lot_demand, [d.weight for d in ds])
    parts = chunks(list(range(len(ds))), 2 * runner.workers if runner.workers > 1 else 1)
    threads = 1 if runner.workers > 1 else params.threads
    bases: list[bytes | None] = [None] * len(ds)

    token = uuid.uuid4().hex

    took = [0.0]  # the last sweep's wall time: what an exact evaluation costs, roughly

    def sweep(volume: np.ndarray) -> list[LpRecourse]:
        start = time.perf_counter()
        tasks = [(core, [ds[i] for i in part], lot_demand, volume, [bases[i] for i in part],
                  threads, token) for part in parts]
        out = [r for chunk in runner.map(lp_recourse, tasks) for r in chunk]
        for i, r in enumerate(out):
            bases[i] = r.basis
        took[0] = time.perf_counter() - start
        return out

    stop = t0 + params.benders_share * params.time_limit
    # The wait-and-see LP bound: every scenario's own design LP (a sweep of its own).
    ws_parts = runner.map(design_lp_bound, [(core, [ds[i] for i in part], lot_demand, threads)
                                            for part in parts])
    ws_values = [v for part in ws_parts for v in part]
    wait_and_see = (None if any(v is None for v in ws_values)
                    else float(sum(d.weight * v for d, v in zip(ds, ws_values, strict=True))))
    LOG.info("benders: wait-and-see LP bound %s at %.1f s", wait_and_see,
             time.perf_counter() - t0)
    # First cuts at no volume and at every bid's full volume: the recourse only falls as
    # volume grows, so the second also bounds every theta_s from below from the start.
    for volume in (np.zeros(master.nb), master.vmax.copy()):
        master.add_cuts(volume, sweep(volume))
    LOG.info("benders: first sweep done at %.1f s", time.perf_counter() - t0)
    weights = master.weights
    candidates: list[tuple[float, np.ndarray, np.ndarray]] = []
    history: list[dict] = []
    lower = None
    for it in range(params.max_iterations):
        left = max(1.0, deadline - time.perf_counter())
        master_start = time.perf_counter()
        mparams = _solve_params(params, min(left, params.recourse_time_limit), params.threads)
        status, y, volume, _, bound = master.solve(
            mparams, warm=None if not candidates else candidates[0][1:])
        if y is None:
            if status == Status.infeasible:
                return Result(status=Status.infeasible, solver=solver,
                              runtime_s=time.perf_counter() - t0,
                              message="no awards meet the lots' limits", extra=common)
            break
        lower = bound if wait_and_see is None or bound is None else max(bound, wait_and_see)
        master_s = time.perf_counter() - master_start
        results = sweep(volume)
        value = master.first_stage(y, volume) + float(weights @ [r.objective for r in results])
        candidates.append((value, y, volume))
        candidates.sort(key=lambda c: c[0])
        best = candidates[0][0]
        history.append({"iteration": it + 1, "lower_bound": lower, "lp_value": value,
                        "best_lp_value": best, "integral": all(r.integral for r in results),
                        "master_s": master_s, "sweep_s": took[0],
                        "seconds": time.perf_counter() - t0})
        LOG.info("benders iteration %d: bound %s, LP value %.2f, best %.2f, master %.1f s, "
                 "sweep %.1f s, at %.1f s", it + 1, lower, value, best, master_s, took[0],
                 time.perf_counter() - t0)
        if lower is not None and best - lower <= params.gap * max(1.0, abs(best)):
            break
        # stop in time to evaluate the best design exactly (about two sweeps) and polish it
        late = time.perf_counter() + 3 * took[0] > deadline
        if time.perf_counter() > stop or late or master.add_cuts(volume, results) == 0:
            break
    extra = {**common, "bound_kind": "the larger of the Benders master bound (LP recourse "
             "cuts) and the wait-and-see LP bound (each scenario's own design LP)",
             "wait_and_see_bound": wait_and_see, "iterations": history}
    if not candidates:
        return Result(status=Status.time_limit_no_solution, solver=solver, bound=lower,
                      runtime_s=time.perf_counter() - t0, extra=extra)
    top: list[dict[Pool, float]] = []
    room = int((deadline - time.perf_counter()) / max(2 * took[0], 1e-9))
    for _, cy, cv in candidates[:max(1, min(params.final_candidates, room))]:
        rounded = master.whole_beds(cy, cv)
        awards = master.awards(cy, cv if rounded is None else rounded)
        if not limits_ok(instance, awards, lot_demand):
            awards = master.awards(cy, cv)
        if awards not in top:
            top.append(awards)
    rparams = _recourse_params(params, deadline, runner)
    scored = _evaluate_many(runner, core, ds, top, rparams)
    LOG.info("benders: %d design(s) evaluated exactly at %.1f s", len(top),
             time.perf_counter() - t0)
    found = [{"source": f"Benders design {i + 1}", "objective": _expected(instance, base, a, o)}
             for i, (a, o) in enumerate(scored)]
    feasible = [(a, o) for a, o in scored if all(x.status.has_solution for x in o)]
    if not feasible:
        return _failed([x for _, o in scored for x in o if not x.status.has_solution], solver,
                       t0, extra)
    best_awards, best_out = min(feasible, key=lambda ao: _key(instance, base, ao[0], ao[1],
                                                              "weighted"))
    def whole_beds(awards: dict[Pool, float]) -> dict[Pool, float]:
        y = np.array([k in awards for k in master.keys])
        v = np.array([awards.get(k, 0.0) for k in master.keys])
        rounded = master.whole_beds(y, v)
        return awards if rounded is None else master.awards(y, rounded)

    best_awards, best_out = _polish(instance, core, ds, lot_demand, params, "weighted", runner,
                                    deadline, base, best_awards, best_out, found,
                                    reserve=3 * took[0], rounder=whole_beds)
    extra["candidates"] = found
    objective = _expected(instance, base, best_awards, best_out)
    status = Status.feasible
    if lower is not None and (gap(objective, lower) or 0.0) <= params.gap:
        status = Status.optimal
    return _result(instance, base, best_awards, best_out, status, lower, solver, t0, extra)


def _reaward(instance, ds, lot_demand, awards, outcomes, params, kind, deadline,
             cache) -> dict[Pool, float] | None:
    """Best awards and volumes for the scenarios' current assignments (x fixed)."""
    from allocator.core.evaluate import chosen_from_solution

    if "model" not in cache:
        problems = [Problem.from_instance(instance, mode="design", needs=d.needs, scenario=d.id)
                    for d in ds]
        cache["problems"] = problems
        cache["model"] = build([(p, d.weight) for p, d in zip(problems, ds, strict=True)],
                               design=True, expected_lot_demand=lot_demand)
    problems = cache["problems"]
    model: MatrixModel = cache["model"]  # type: ignore[assignment]
    chosen = [chosen_from_solution(p, o.solution) for p, o in zip(problems, outcomes, strict=True)]
    keys = holder_keys(problems[0])
    volume = np.array([awards.get(k, 0.0) for k in keys])
    y = np.array([1.0 if k in awards else 0.0 for k in keys])
    start = values_from_chosen(model, chosen, volume=volume, award=y)
    lo, hi = model.col_lo.copy(), model.col_hi.copy()
    for d in model.demands:
        n = d.problem.n_pairs + d.problem.n_needs  # x then u: fixed at the current assignment
        lo[d.x0:d.x0 + n] = start[d.x0:d.x0 + n]
        hi[d.x0:d.x0 + n] = start[d.x0:d.x0 + n]
    fixed = replace(model, col_lo=lo, col_hi=hi)
    sp = _solve_params(params, max(1.0, min(params.recourse_time_limit,
                                            deadline - time.perf_counter())), params.threads)
    res, _ = solve_model(fixed, sp, kind, warm_start=start)
    if not res.status.has_solution or res.values is None:
        return None
    return awards_from_values(model, problems[0], res.values)


# --------------------------------------------------------------------------- helpers


def _evaluate(runner: Runner, core: Instance, ds: Sequence[Demand], awards: Mapping[Pool, float],
              params: SolveParams) -> list[Outcome]:
    return _evaluate_many(runner, core, ds, [dict(awards)], params)[0][1]


def _evaluate_many(runner, core, ds, candidates, params):
    """Every candidate on every demand, in one parallel map; [(awards, outcomes)]."""
    parts = chunks(list(ds), 2 * runner.workers if runner.workers > 1 else 1)
    tasks = [(core, part, cand, params) for cand in candidates for part in parts]
    results = runner.map(recourse_batch, tasks)
    out = []
    for k, cand in enumerate(candidates):
        outs = [o for r in results[k * len(parts):(k + 1) * len(parts)] for o in r]
        out.append((cand, outs))
    return out


def _expected(instance: Instance, base: Problem, awards, outcomes) -> float | None:
    if not all(o.objective is not None for o in outcomes):
        return None
    return (base.fixed_block_cost + award_cost(instance, awards)
            + sum(o.weight * o.objective for o in outcomes))


def _key(instance, base, awards, outcomes, kind) -> tuple[float, float]:
    total = _expected(instance, base, awards, outcomes)
    if kind == "lexicographic":
        unmet = sum(o.weight * o.terms["unmet"] for o in outcomes)
        return (round(unmet, 6), total)
    return (0.0, total)


def _solve_params(params: DesignParams, time_limit: float, threads: int | None) -> SolveParams:
    if params.solver not in EXACT_SOLVERS:  # pragma: no cover - DesignParams restricts it
        raise ValueError(f"unknown solver {params.solver!r}")
    return SolveParams(solver=params.solver, objective=params.objective,
                       time_limit=max(0.01, time_limit), gap=min(params.gap, 1e-4),
                       threads=threads, verbose=params.verbose, seed=params.seed)


def _recourse_params(params: DesignParams, deadline: float, runner: Runner) -> SolveParams:
    left = max(1.0, deadline - time.perf_counter())
    return _solve_params(params, min(params.recourse_time_limit, left),
                         1 if runner.workers > 1 else params.threads)


def _estimated_columns(base: Problem, ds: Sequence[Demand], n_bids: int) -> int:
    per_need = (base.n_pairs + base.n_needs) / max(1, base.n_needs)
    return int(2 * n_bids + sum(per_need * len(d.needs) for d in ds))


def _unreachable_limits(instance: Instance, base: Problem, lot_demand: np.ndarray) -> str:
    """Why no design can meet the lots' limits with the awardable bids, or ''."""
    volumes: dict[int, list[float]] = {}
    for h in design_holders(base):
        bid = instance.block_bids[int(base.holder_bid[h])]
        volumes.setdefault(int(base.holder_lot[h]), []).append(bid.max_volume)
    for li, lot in enumerate(instance.lots):
        rules = lot.block
        if rules is None:
            continue
        mine = sorted(volumes.get(li, []), reverse=True)
        if len(mine) < rules.min_providers:
            return (f"lot {lot.id} needs at least {rules.min_providers} block provider(s) but "
                    f"has {len(mine)} awardable bid(s)")
        most = sum(mine if rules.max_providers is None else mine[:rules.max_providers])
        need = rules.min_share * lot_demand[li]
        if lot_demand[li] > 0 and most < need - 1e-9:
            return (f"lot {lot.id}: min_share {rules.min_share:g} x expected demand "
                    f"{lot_demand[li]:g} = {need:g} exceeds the most volume that "
                    f"{'its' if rules.max_providers is None else rules.max_providers} "
                    f"largest bid(s) can offer ({most:g})")
    return ""


def limits_ok(instance: Instance, awards: Mapping[Pool, float], lot_demand: np.ndarray,
              tol: float = 1e-6) -> bool:
    """Whether ``awards`` keep every bid's volume range and every lot's limits."""
    bids = {(b.provider, b.lot): b for b in instance.block_bids}
    for key, v in awards.items():
        bid = bids.get(key)
        if bid is None or not (bid.min_volume - tol * max(1, bid.min_volume) <= v
                               <= bid.max_volume + tol * max(1, bid.max_volume)):
            return False
    for li, lot in enumerate(instance.lots):
        rules = lot.block
        if rules is None:
            continue
        mine = [v for (_, lid), v in awards.items() if lid == lot.id]
        if len(mine) < rules.min_providers or (rules.max_providers is not None
                                               and len(mine) > rules.max_providers):
            return False
        d = lot_demand[li]
        if d > 0:
            low, high = rules.min_share * d, rules.max_share * d
            if not low - tol * max(1, low) <= sum(mine) <= high + tol * max(1, high):
                return False
    return True


def _failed(bad: Sequence[Outcome], solver: str, t0: float, extra: dict) -> Result:
    first = bad[0]
    status = (Status.infeasible if first.status == Status.infeasible
              else Status.time_limit_no_solution if first.status == Status.time_limit_no_solution
              else Status.error)
    return Result(status=status, solver=solver, runtime_s=time.perf_counter() - t0,
                  message=f"scenario {first.scenario}: {first.status.value} {first.message}",
                  extra=extra)


def _result(instance: Instance, base: Problem, awards: Mapping[Pool, float],
            outcomes: Sequence[Outcome], status: Status, bound: float | None, solver: str,
            t0: float, extra: dict, build_s: float = 0.0) -> Result:
    terms = dict.fromkeys(TERMS, 0.0)
    for o in outcomes:
        for t in TERMS:
            terms[t] += o.weight * o.terms.get(t, 0.0)
    terms["block"] = base.fixed_block_cost + award_cost(instance, awards)
    objective = float(sum(terms.values()))
    if any(o.status == Status.error for o in outcomes):
        status = Status.error
    if bound is not None:
        bound = min(float(bound), objective)
    if instance.scenarios:
        solution = Solution(assignment={}, awards=dict(awards),
                            scenarios={o.scenario: o.solution for o in outcomes})
    else:
        only = outcomes[0].solution
        solution = Solution(assignment=only.assignment, block=only.block, awards=dict(awards))
    runtime = time.perf_counter() - t0
    return Result(status=status, solver=solver, objective=objective, bound=bound,
                  runtime_s=runtime, terms=terms, solution=solution, build_s=build_s,
                  solve_s=runtime - build_s,
                  message="; ".join(sorted({o.message for o in outcomes if o.status ==
                                            Status.error})),
                  extra={**extra, "outcomes": list(outcomes)})
