"""The recourse of DESIGN.md section 5: the allocation of one demand, given the awards.

With the awards fixed, every scenario is an allocation problem of section 4 in which each
awarded bid acts as a contract in force of volume V (on top of any contract the provider already
holds in that lot) and every bid that was not awarded holds volume 0 (so it funds nothing, and
in a ``framework=false`` lot its provider can serve nothing). It is the model of a nightly
allocation, solved through the same solver layer (on HiGHS the LP relaxation first: when its
assignment is integral it is the MIP optimum, else the MIP is solved), and the scenarios
are independent: this module is the kernel that :mod:`allocator.design.sweep` runs in parallel.

Functions here take and return plain, picklable values (instances, ids, floats) so that they can
run in another process or on a dask worker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from allocator.core.evaluate import evaluate, to_solution
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.progress import muted
from allocator.core.result import Solution, Status
from allocator.design.scenarios import Demand
from allocator.exact import highs
from allocator.exact.base import MatrixSolve, SolverOptions
from allocator.exact.model import MatrixModel, build, chosen_from_values
from allocator.exact.solve import solve_model
from allocator.instance.schema import BlockContract, Instance

Pool = tuple[str, str]  # (provider id, lot id)
INTEGRALITY_TOL = 1e-6

FLOOR_S = 1.0  # the least time of the LP, of RENS, or of a MIP that alone makes the answer


@dataclass(frozen=True)
class Outcome:
    """One demand's recourse under fixed awards.

    ``objective`` and ``terms`` are the recourse only: the block term is 0 here (the awards'
    cost and the contracts in force are first-stage costs, added once by the caller).
    ``bound`` is the solver's bound on the recourse (None without one).
    """

    scenario: str | None
    weight: float
    status: Status
    objective: float | None
    bound: float | None
    terms: Mapping[str, float]
    solution: Solution | None
    runtime_s: float
    message: str = ""
    block_used: Mapping[Pool, float] = field(default_factory=dict)  # block-funded quantity
    served: Mapping[Pool, float] = field(default_factory=dict)  # quantity served per provider, lot
    unmet: Mapping[str, float] = field(default_factory=dict)  # unit -> unmet quantity
    unmet_needs: int = 0
    quality_units: float = 0.0  # sum of quantity x quality / 100 over served needs
    served_units: Mapping[str, float] = field(default_factory=dict)  # unit -> served quantity


def design_holders(problem: Problem) -> np.ndarray:
    """Holder index of every awardable bid, in the order of the design model's columns."""
    return np.nonzero(problem.holder_bid >= 0)[0]


def holder_keys(problem: Problem) -> list[Pool]:
    """(provider id, lot id) of every awardable bid, in design-column order."""
    return [
        (problem.provider_ids[problem.holder_provider[h]], problem.lot_ids[problem.holder_lot[h]])
        for h in design_holders(problem)
    ]


def award_volumes(problem: Problem, awards: Mapping[Pool, float]) -> np.ndarray:
    """Volume per holder of ``problem``: contracts in force plus the awarded volumes.

    Raises
    ------
    KeyError
        When an award names no awardable bid (unknown, or dropped for quality).
    """
    volume = problem.holder_volume.copy()
    index = dict(zip(holder_keys(problem), design_holders(problem), strict=True))
    for key, v in awards.items():
        if key not in index:
            raise KeyError(f"award {key}: no awardable bid of provider {key[0]} on lot {key[1]}")
        volume[index[key]] += float(v)
    return volume


def with_awards(problem: Problem, awards: Mapping[Pool, float]) -> Problem:
    """``problem`` with ``awards`` fixed: volumes, and the capacity of ``if_awarded`` offers.

    An awarded bid counts as y = 1 even at volume 0 (its offers that exist only with the award
    get their capacity, DESIGN.md 9.1); a bid not listed is not awarded.
    """
    awarded = np.zeros(problem.n_holders, dtype=bool)
    index = dict(zip(holder_keys(problem), design_holders(problem), strict=True))
    for key in awards:
        if key in index:
            awarded[index[key]] = True
    return problem.with_awards(award_volumes(problem, awards), awarded)


def award_cost(instance: Instance, awards: Mapping[Pool, float]) -> float:
    """First-stage cost of ``awards`` (award cost plus rate x volume of each awarded bid)."""
    bids = {(b.provider, b.lot): b for b in instance.block_bids}
    return float(sum(bids[k].award_cost + bids[k].rate * v for k, v in awards.items()))


@muted()  # one scenario's week, not the design: not shown as the design's progress
def recourse(
    instance: Instance,
    demand: Demand,
    awards: Mapping[Pool, float],
    params: SolveParams,
) -> Outcome:
    """Solve one demand's allocation with the awards fixed.

    Parameters
    ----------
    instance
        The design instance (its own scenarios are not used: ``demand`` says what to serve).
    demand
        The needs of one scenario and its weight.
    awards
        (provider id, lot id) -> awarded volume V; bids not listed are not awarded.
    params
        Solver parameters of this one allocation (time limit, gap, threads, ...).
    """
    t0 = time.perf_counter()
    base = Problem.from_instance(instance, mode="design", needs=demand.needs, scenario=demand.id)
    problem = with_awards(base, awards)
    kind = params.objective or problem.objective_kind
    model = build([(problem, 1.0)])
    fixed = problem.fixed_block_cost
    if params.solver == "highs" and kind == "weighted":
        # Placements and packages against capacities: the LP relaxation is very often
        # integral, and then its optimum is the MIP's (at a third of the time). The LP and
        # RENS each get at least FLOOR_S whatever the share of time given (they are what
        # makes an answer); the MIP after them only the time that is left of it.
        lp = highs.solve(model, SolverOptions(time_limit=max(FLOOR_S, params.time_limit),
                                              threads=params.threads, seed=params.seed),
                         relax=True)
        if lp.status == Status.optimal and lp.values is not None and lp.objective is not None:
            xv = lp.values[model.integer]
            if np.all(np.abs(xv - np.round(xv)) <= INTEGRALITY_TOL):
                chosen = chosen_from_values(model, lp.values)[0]
                return outcome_of(problem, demand, chosen, Status.optimal, lp.objective - fixed,
                                  time.perf_counter() - t0, "LP relaxation integral")
            return _from_lp(problem, demand, model, lp, params, t0)
    if params.time_limit < FLOOR_S:  # the MIP alone makes the answer: at least FLOOR_S
        params = params.model_copy(update={"time_limit": FLOOR_S})
    res, phases = solve_model(model, params, kind)
    if not res.status.has_solution or res.values is None:
        bound = None if res.bound is None else res.bound - fixed
        return Outcome(demand.id, demand.weight, res.status, None, bound, {}, None,
                       time.perf_counter() - t0, res.message)
    chosen = chosen_from_values(model, res.values)[0]
    bound = None if res.bound is None else res.bound - fixed
    return outcome_of(problem, demand, chosen, res.status, bound, time.perf_counter() - t0,
                      res.message)


def rens(model: MatrixModel, lp_values: np.ndarray, options: SolverOptions) -> MatrixSolve:
    """The MIP restricted to the LP solution's neighbourhood (RENS, Berthold 2014): every
    integer column whole in the LP fixed at its value, the fractional ones left free.

    Always feasible on the allocation model (a need whose columns are all fixed at 0 is
    unmet), and small: on Staffordshire's scenarios under the paper's targets 4-32 of about
    12,000 columns stay free and HiGHS solves it in 0.05 s, within 0.1% of the LP, where
    HiGHS on the whole MIP stood 7% above it after 10 s.
    """
    x = np.asarray(lp_values, dtype=float)
    whole = model.integer & (np.abs(x - np.round(x)) <= INTEGRALITY_TOL)
    lo, hi = model.col_lo.copy(), model.col_hi.copy()
    lo[whole] = hi[whole] = np.round(x[whole])
    return highs.solve(replace(model, col_lo=lo, col_hi=hi), options)


def _from_lp(problem: Problem, demand: Demand, model: MatrixModel, lp: MatrixSolve,
             params: SolveParams, t0: float) -> Outcome:
    """A weighted recourse whose LP relaxation is fractional, on HiGHS: :func:`rens` from the
    LP for a first answer, then the whole MIP started from it in the time left. The better
    answer is kept; the bound is the better of the MIP's and the LP's."""
    assert lp.values is not None and lp.objective is not None
    fixed = problem.fixed_block_cost
    deadline = t0 + params.time_limit
    opts = SolverOptions(time_limit=max(FLOOR_S, 0.5 * (deadline - time.perf_counter())),
                         gap=params.gap, threads=params.threads, seed=params.seed)
    first = rens(model, lp.values, opts)
    start = first.values if first.status.has_solution else None
    best = (first.values, first.objective) if start is not None else (None, None)
    bound = lp.objective
    status, message = Status.feasible, "RENS from the LP relaxation"
    if start is not None and first.objective is not None \
            and first.objective - lp.objective <= params.gap * max(1.0, abs(first.objective)):
        status, message = Status.optimal, "RENS from the LP relaxation, at the LP's value"
    elif deadline - time.perf_counter() > 0.05:
        res, _ = solve_model(model, params, "weighted", warm_start=start, deadline=deadline)
        if res.bound is not None:
            bound = max(bound, res.bound)
        if res.status.has_solution and res.values is not None and res.objective is not None \
                and (best[1] is None or res.objective <= best[1]):
            best = (res.values, res.objective)
            message = "the MIP started from RENS" + (f" ({res.message})" if res.message else "")
            if res.status == Status.optimal:
                status = Status.optimal
    if best[0] is None:
        return Outcome(demand.id, demand.weight, Status.time_limit_no_solution, None,
                       bound - fixed, {}, None, time.perf_counter() - t0,
                       "no answer from RENS or the MIP in the time")
    chosen = chosen_from_values(model, best[0])[0]
    return outcome_of(problem, demand, chosen, status, bound - fixed, time.perf_counter() - t0,
                      message)


def outcome_of(
    problem: Problem,
    demand: Demand,
    chosen: np.ndarray,
    status: Status,
    bound: float | None,
    runtime_s: float,
    message: str = "",
) -> Outcome:
    """The :class:`Outcome` of pair choice ``chosen`` on ``problem`` (volumes already set).

    The objective is evaluated exactly (:func:`allocator.core.evaluate.evaluate`: the best block
    funding of the chosen pairs); a bound above it is lowered to it.
    """
    ev = evaluate(problem, chosen)
    terms = dict(ev.terms)
    terms["block"] = 0.0
    objective = float(sum(terms.values()))
    if ev.violations:
        status = Status.error
        message = "solution violates: " + "; ".join(ev.violations[:5])
    return Outcome(
        scenario=demand.id,
        weight=demand.weight,
        status=status,
        objective=objective,
        bound=None if bound is None else min(objective, bound),
        terms=terms,
        solution=to_solution(problem, ev),
        runtime_s=runtime_s,
        message=message,
        **_stats(problem, chosen, ev.block_q),
    )


def recourse_batch(
    instance: Instance,
    demands: Sequence[Demand],
    awards: Mapping[Pool, float],
    params: SolveParams,
) -> list[Outcome]:
    """:func:`recourse` for several demands in turn (one task of a sweep)."""
    return [recourse(instance, d, awards, params) for d in demands]


def _stats(problem: Problem, chosen: np.ndarray, block_q: np.ndarray) -> dict:
    p = problem
    served_needs = np.nonzero(chosen >= 0)[0]
    pairs = chosen[served_needs]
    q = p.need_q[served_needs]
    lots = p.pair_lot[pairs]
    provs = p.pair_provider[pairs]
    served: dict[Pool, float] = {}
    used: dict[Pool, float] = {}
    for prov, lot, qty, bq in zip(provs, lots, q, block_q[served_needs], strict=True):
        if lot < 0:
            continue
        key = (p.provider_ids[prov], p.lot_ids[lot])
        served[key] = served.get(key, 0.0) + float(qty)
        if bq > 0:
            used[key] = used.get(key, 0.0) + float(bq)
    units = ("hours", "beds")
    need_unit = np.array([0 if n.kind == "package" else 1 for n in p.needs], dtype=np.int64)
    unmet_mask = chosen < 0
    unmet = {
        u: float(p.need_q[unmet_mask & (need_unit == k)].sum()) for k, u in enumerate(units)
    }
    served_units = {
        u: float(p.need_q[~unmet_mask & (need_unit == k)].sum()) for k, u in enumerate(units)
    }
    quality = float(np.dot(q, p.provider_quality[provs]) / 100.0) if len(pairs) else 0.0
    return {
        "block_used": used,
        "served": served,
        "unmet": unmet,
        "unmet_needs": int(unmet_mask.sum()),
        "quality_units": quality,
        "served_units": served_units,
    }


def as_contracts(instance: Instance, awards: Mapping[Pool, float]) -> Instance:
    """The allocation instance in which ``awards`` are contracts in force.

    Bids and scenarios are dropped; an award on a pool that already holds a contract is merged
    into it (volumes added, rate the volume-weighted mean, so the block cost is unchanged).
    This is how a chosen design goes on to nightly allocation.
    """
    bids = {(b.provider, b.lot): b for b in instance.block_bids}
    pools: dict[Pool, tuple[float, float]] = {}
    for c in instance.block_contracts:
        volume, cost = pools.get((c.provider, c.lot), (0.0, 0.0))
        pools[(c.provider, c.lot)] = (volume + c.volume, cost + c.rate * c.volume)
    for key, v in awards.items():
        volume, cost = pools.get(key, (0.0, 0.0))
        pools[key] = (volume + v, cost + bids[key].rate * v)
    contracts = [BlockContract(provider=p, lot=lot, volume=v, rate=(cost / v if v > 0 else 0.0))
                 for (p, lot), (v, cost) in pools.items()]
    return instance.model_copy(update={"block_contracts": tuple(contracts), "block_bids": (),
                                       "scenarios": ()})
