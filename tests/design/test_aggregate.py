"""The aggregated demand (partial Benders): a relaxation of the scenarios' LP recourse.

At any awards, the aggregated model's LP value is at most the weighted mean of the scenarios'
LP recourse (the mixture argument of ``allocator.design.aggregate``), with equality where the
aggregation loses nothing: people of one type listed twice in one demand, or the same demand
twice. The master that holds it bounds the design model from below, and a design solve with
it proves no bound above the extensive form's optimum.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.design.aggregate import aggregate_model, grouped_aggregates, need_types
from allocator.design.benders import DESIGN_ROWS, Master, lp_recourse
from allocator.design.recourse import design_holders
from allocator.design.scenarios import Demand, demands, generate_scenarios, with_scenarios
from allocator.design.solve import DesignParams, expected_lot_demand, solve_design
from allocator.exact import highs
from allocator.exact.base import SolverOptions
from allocator.instance.schema import Instance

from .additions import additions_case


def _case(seed: int) -> Instance:
    """A random design instance with award-only offers and targets, and resampled scenarios
    (people of one type recur across and within them)."""
    inst = additions_case(seed, n_scenarios=0)
    return with_scenarios(inst, generate_scenarios(inst, 4, seed=seed))


# the first 12 cases with something to award (a design with no bid is solved without Benders)
SEEDS = [s for s in range(80) if additions_case(s, n_scenarios=0).block_bids][:12]


def _random_awards(inst: Instance, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    base = Problem.from_instance(inst, mode="design")
    bids = [inst.block_bids[int(base.holder_bid[h])] for h in design_holders(base)]
    y = (rng.random(len(bids)) < 0.6).astype(float)
    volume = np.array([rng.uniform(b.min_volume, b.max_volume) for b in bids]) * y
    return y, volume


def _aggregate_at(inst: Instance, ds: list[Demand], D: np.ndarray, y: np.ndarray,
                  volume: np.ndarray) -> float:
    """The aggregated LP's recourse value at awards (y, V): first-stage costs left out."""
    agg = aggregate_model(inst, ds, D)
    assert agg is not None
    m = agg.model
    nb = len(m.design_holders)
    lo, hi, c = m.col_lo.copy(), m.col_hi.copy(), m.c.copy()
    fixed = np.r_[y, volume, m.z_values(y)]
    lo[:m.n_design] = hi[:m.n_design] = fixed
    c[:m.n_design] = 0.0
    assert len(y) == nb
    # the lots' and targets' rows bind the first stage only: free at fixed awards (as in
    # lp_recourse), whatever the random awards
    free = np.isin(np.asarray(m.row_names, dtype=object), DESIGN_ROWS)
    row_lo = np.where(free, -np.inf, m.row_lo)
    row_hi = np.where(free, np.inf, m.row_hi)
    res = highs.solve(replace(m, col_lo=lo, col_hi=hi, c=c, row_lo=row_lo, row_hi=row_hi),
                      SolverOptions(time_limit=60), relax=True)
    assert res.objective is not None
    return res.objective - Problem.from_instance(inst, mode="design").fixed_block_cost


def _lp_mean(inst: Instance, ds: list[Demand], D: np.ndarray, y: np.ndarray,
             volume: np.ndarray) -> float:
    out = lp_recourse(inst, ds, D, volume, [None] * len(ds), award=y)
    return float(sum(d.weight * r.objective for d, r in zip(ds, out, strict=True)))


@pytest.mark.parametrize("seed", SEEDS)
def test_aggregate_is_below_the_scenarios_lp_recourse(seed):
    inst = _case(seed)
    ds = demands(inst)
    D = expected_lot_demand(inst, ds)
    rng = np.random.default_rng(seed)
    reps, mass = need_types(ds)
    assert mass.sum() == pytest.approx(sum(d.weight * len(d.needs) for d in ds))
    assert len(reps) <= sum(len(d.needs) for d in ds)
    for _ in range(3):
        y, volume = _random_awards(inst, rng)
        assert (_aggregate_at(inst, ds, D, y, volume)
                <= _lp_mean(inst, ds, D, y, volume) + 1e-6 * max(1.0, abs(_lp_mean(
                    inst, ds, D, y, volume))))


@pytest.mark.parametrize("seed", SEEDS)
def test_aggregate_is_exact_where_nothing_is_averaged(seed):
    """Everyone listed twice (a type of mass 2), or one demand twice at half weight: the
    aggregated LP equals the LP recourse of the demand as it is listed. A wrong scaling of a
    capacity row, a cost or the transfer constant shows here."""
    inst = _case(seed)
    ds = demands(inst)
    D = expected_lot_demand(inst, ds)
    rng = np.random.default_rng(100 + seed)
    needs = max(ds, key=lambda d: len(d.needs)).needs
    twice = Demand("twice", 1.0, needs + tuple(
        n.model_copy(update={"id": f"{n.id}~copy"}) for n in needs))
    halves = [Demand("a", 0.5, needs), Demand("b", 0.5, needs)]
    once = [Demand("once", 1.0, needs)]
    for _ in range(3):
        y, volume = _random_awards(inst, rng)
        explicit = _lp_mean(inst, [twice], D, y, volume)
        assert _aggregate_at(inst, [twice], D, y, volume) == pytest.approx(
            explicit, rel=1e-7, abs=1e-6)
        assert _aggregate_at(inst, halves, D, y, volume) == pytest.approx(
            _lp_mean(inst, once, D, y, volume), rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_master_with_aggregates_bounds_the_optimum(seed):
    inst = _case(seed)
    ds = demands(inst)
    D = expected_lot_demand(inst, ds)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0, objective="weighted"))
    base = Problem.from_instance(inst, mode="design")
    for groups in (1, 2, 4):
        master = Master(inst, base, D, [d.weight for d in ds],
                        grouped_aggregates(inst, ds, D, groups))
        if optimum.objective is None:  # no awards meet the lots' limits: nor the master's
            assert optimum.status == Status.infeasible
            assert master.solve(SolveParams(), aggregated=True)[0] == Status.infeasible
            continue
        # before any cut: the aggregated demands alone bound the design model
        for aggregated in (True, False):
            status, y, volume, _, bound = master.solve(SolveParams(gap=0.0),
                                                       aggregated=aggregated)
            assert bound is not None
            assert bound <= optimum.objective + 1e-6 * max(1.0, optimum.objective)
        relaxed = master.solve_relaxed(60.0, None)
        assert relaxed is not None
        assert relaxed[2] <= optimum.objective + 1e-6 * max(1.0, optimum.objective)
        if y is not None and volume is not None:
            master.add_cuts(volume, lp_recourse(inst, ds, D, volume, [None] * len(ds),
                                                award=y.astype(float)), y.astype(float))
            _, _, _, _, bound = master.solve(SolveParams(gap=0.0), warm=(y, volume),
                                             aggregated=True)
            assert bound is not None
            assert bound <= optimum.objective + 1e-6 * max(1.0, optimum.objective)


@pytest.mark.parametrize("seed", SEEDS)
def test_benders_with_aggregates_against_the_extensive_form(seed):
    inst = _case(seed)
    exact = solve_design(inst, DesignParams(method="extensive", gap=0.0, objective="weighted"))
    res = solve_design(inst, DesignParams(method="benders", time_limit=30, aggregate_groups=2,
                                            objective="weighted"))
    if exact.objective is None:
        assert exact.status == res.status == Status.infeasible
        return
    assert res.objective is not None and res.bound is not None
    tol = 1e-6 * max(1.0, exact.objective)
    assert res.bound <= exact.objective + tol
    assert res.objective >= exact.objective - tol
    # the first master MIP holds the aggregated demands exactly where some offer exists only
    # with an award
    ds = demands(inst)
    D = expected_lot_demand(inst, ds)
    gated = Master(inst, Problem.from_instance(inst, mode="design"), D,
                   [d.weight for d in ds], grouped_aggregates(inst, ds, D, 2)).gated
    first = [h["aggregated"] for h in res.extra["iterations"] if "phase" not in h][:1]
    assert first in ([], [gated])


def _block_only(seed: int) -> Instance:
    inst = additions_case(seed, n_scenarios=0)
    inst = inst.model_copy(update={"lots": tuple(
        lot.model_copy(update={"framework": False}) for lot in inst.lots)})
    return with_scenarios(inst, generate_scenarios(inst, 4, seed=seed))


# random markets with every lot block-only, where some bid's capacity is whole (W columns)
BLOCK_ONLY_SEEDS = [4, 19, 25, 35, 40, 43, 44, 53, 57, 69]


@pytest.mark.parametrize("seed", BLOCK_ONLY_SEEDS)
def test_benders_with_whole_capacity_against_the_extensive_form(seed):
    """Random markets with every lot block-only (award-only offers, targets, contracts as
    drawn): Benders with whole capacities (integer W <= V) keeps its bound below the
    extensive optimum and its design above it."""
    from allocator.design.benders import whole_capacity

    inst = _block_only(seed)
    ds = demands(inst)
    assert whole_capacity(inst, Problem.from_instance(inst, mode="design"), ds).any()
    exact = solve_design(inst, DesignParams(method="extensive", gap=0.0, objective="weighted"))
    res = solve_design(inst, DesignParams(method="benders", time_limit=30, gap=1e-9,
                                          objective="weighted"))
    assert exact.objective is not None and res.objective is not None and res.bound is not None
    tol = 1e-6 * max(1.0, exact.objective)
    assert res.bound <= exact.objective + tol
    assert res.objective >= exact.objective - tol
