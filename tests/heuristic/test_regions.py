"""Regions (scale XL): the cut along zones, the split capacities, the whole problem's bound.

Only numpy and HiGHS run in this process; the searches of the regions run in the
portfolio's child processes (the end-to-end test at the bottom).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from random_instances import random_instance

import allocator.heuristic.regional as regional
from allocator.core.check import check
from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.generate import generate
from allocator.heuristic.construct import regret_greedy
from allocator.heuristic.data import components, from_problem, to_problem_chosen
from allocator.heuristic.lp import lp_bound
from allocator.heuristic.regions import (
    _row_entries,
    partition,
    reached_rows,
    region_data,
    row_shares,
    split_by_use,
)
from allocator.heuristic.state import Assignment
from allocator.solvers import SolveParams, solve

TOL = 1e-6


@cache
def _two_counties():
    """Two counties of 8 zones; a few providers work across the boundary (one component)."""
    instance = generate("S", needs=700, providers=44, zones=16, seed=5, blocks=True)
    problem = Problem.from_instance(instance)
    return instance, problem, from_problem(problem)


def _check_partition(data, regions, max_pairs: int) -> None:
    seen = np.concatenate(regions)
    assert len(seen) == data.n_needs and len(np.unique(seen)) == data.n_needs
    zone = np.asarray(data.need_zone)
    for g in regions:
        # whole zones: no zone is shared by two regions
        others = np.setdiff1d(np.arange(data.n_needs), g)
        assert not np.intersect1d(zone[g], zone[others]).size
        size = np.isin(data.pair_need, g).sum() + len(g)
        assert size <= max_pairs or len(np.unique(zone[g])) == 1


def test_partition_cuts_a_component_along_zones() -> None:
    _, _, data = _two_counties()
    n_comp, labels = components(data)
    cap = (data.n_pairs + data.n_needs) // 3
    assert np.bincount(labels[data.pair_need]).max() > cap  # one component is too big
    regions = partition(data, cap)
    assert len(regions) >= 3
    _check_partition(data, regions, cap)
    # a cap above the whole problem leaves it in one piece
    assert len(partition(data, data.n_pairs + data.n_needs)) == 1


def test_counties_stay_whole_when_they_fit() -> None:
    _, problem, data = _two_counties()
    zone = np.asarray(data.need_zone)
    county = zone // 8  # the generator's counties of 8 zones
    sizes = [(zone[data.pair_need] // 8 == c).sum() + (county == c).sum() for c in (0, 1)]
    regions = partition(data, max(sizes))
    assert len(regions) == 2
    assert sorted(len(np.unique(county[g])) for g in regions) == [1, 1]


def _cut_cases(count: int) -> list[int]:
    """Seeds of random instances with something eligible in at least two zones."""
    seeds = []
    for seed in range(200):
        data = from_problem(Problem.from_instance(random_instance(seed)))
        if len(np.unique(np.asarray(data.need_zone)[data.pair_need])) >= 2:
            seeds.append(seed)
        if len(seeds) == count:
            return seeds
    raise AssertionError("too few random instances span two zones")


@pytest.mark.parametrize("by_use", [False, True])
@pytest.mark.parametrize("seed", _cut_cases(30))
def test_region_answers_fit_together(seed: int, by_use: bool) -> None:
    """Every zone a region of its own: the regions' greedy answers, each within its shares
    (by eligible quantity, or by random wants), are feasible together, and the pooled block
    volumes never make the whole dearer than the regions' sum."""
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    data = from_problem(problem)
    regions = partition(data, 1)
    assert len(regions) >= 2
    share = row_shares(data, regions)
    if by_use:
        rng = np.random.default_rng(seed)
        rows = [reached_rows(data, g) for g in regions]
        cap = np.where(np.isfinite(data.row_cap[:-1]), data.row_cap[:-1], 10.0)
        share = split_by_use(data, rows, [rng.uniform(0, 0.8, len(r)) * cap[r] for r in rows],
                             share)
    assert np.allclose(share.sum(axis=0), 1.0)
    chosen = np.full(problem.n_needs, -1, dtype=np.int64)
    total = 0.0
    for i, g in enumerate(regions):
        sub, rows = region_data(data, g, share[i], keep_constant=i == 0)
        assert np.array_equal(rows, reached_rows(data, g))
        st = Assignment(sub, regret_greedy(sub))
        assert st.feasible
        total += st.objective
        chosen[g] = to_problem_chosen(sub, st.chosen)
    ev = evaluate(problem, chosen)
    assert ev.feasible, ev.violations[:3]
    assert ev.objective <= total + TOL * max(1.0, abs(total))


def test_split_capacities_add_up() -> None:
    _, _, data = _two_counties()
    regions = partition(data, (data.n_pairs + data.n_needs) // 3)
    share = row_shares(data, regions)
    cap = np.zeros(data.n_rows)
    for i, g in enumerate(regions):
        sub, rows = region_data(data, g, share[i], keep_constant=i == 0)
        np.add.at(cap, rows, sub.row_cap[:-1])
    reached = cap > 0
    assert np.allclose(cap[reached], data.row_cap[:-1][reached])


@pytest.mark.parametrize("seed", range(5))
def test_split_by_use_gives_each_region_its_want_when_it_fits(seed: int) -> None:
    _, _, data = _two_counties()
    regions = partition(data, (data.n_pairs + data.n_needs) // 3)
    eligible = row_shares(data, regions)
    rows = [reached_rows(data, g) for g in regions]
    rng = np.random.default_rng(seed)
    cap = data.row_cap[:-1]
    loads = [rng.uniform(0, 0.6, len(r)) * np.where(np.isfinite(cap[r]), cap[r], 1.0)
             for r in rows]
    loads[1] = None  # a region whose LP did not finish
    share = split_by_use(data, rows, loads, eligible)
    assert np.all(share >= -TOL) and np.allclose(share.sum(axis=0), 1.0)
    want = np.zeros_like(share)
    for i, (r, load) in enumerate(zip(rows, loads, strict=True)):
        if load is not None:
            want[i, r] = load
    fits = np.isfinite(cap) & (cap > 0) & (want.sum(axis=0) <= cap)
    assert np.all(share[:, fits] * cap[fits] >= want[:, fits] - TOL * cap[fits])
    over = np.isfinite(cap) & (want.sum(axis=0) > cap)
    assert np.allclose((share[:, over] * cap[over]).sum(axis=0), cap[over])


def test_portfolio_goes_by_regions_above_the_size(monkeypatch) -> None:
    """Cut into its two counties (the search child processes start twice per region, so
    the time limit is generous for the size)."""
    instance, problem, data = _two_counties()
    cap = int(0.6 * (data.n_pairs + data.n_needs))
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", cap)
    monkeypatch.setattr(regional, "MIN_REGION_S", 0.5)
    res = solve(problem, SolveParams(solver="heuristic", time_limit=20.0, seed=1))
    assert res.status in (Status.feasible, Status.optimal), res.message
    assert res.extra["regions"] == 2 and res.extra["regions_without_search"] == 0
    assert res.extra["cut_share"] == pytest.approx(
        regional.cut_share(data, partition(data, cap)), abs=1e-4)
    assert res.extra["cut_share"] <= regional.MAX_CUT_SHARE
    assert "recut" not in res.extra  # a thin cut: no pass 3
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=60.0, max_pairs=10**7)
    assert res.bound is not None
    assert res.bound <= lp.bound + TOL * abs(lp.bound) <= res.objective + TOL * res.objective
    # the regions' LPs with whole capacities: a bound close to the LP of the whole
    assert res.bound >= lp.bound - 0.01 * abs(lp.bound)
    assert len(res.extra["region_lp"]) == res.extra["regions"]


def test_regions_answer_within_a_short_limit(monkeypatch) -> None:
    """Too little time for every region's LP and search: still a checked answer and a valid
    bound (regions the time did not reach get the greedy)."""
    instance, problem, data = _two_counties()
    cap = (data.n_pairs + data.n_needs) // 4
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", cap)
    monkeypatch.setattr(regional, "MIN_REGION_S", 0.5)
    monkeypatch.setattr(regional, "MAX_CUT_SHARE", 1.0)  # cut however thick (tested below)
    res = solve(problem, SolveParams(solver="heuristic", time_limit=3.0, seed=1))
    assert res.status in (Status.feasible, Status.optimal), res.message
    assert res.extra["regions"] >= 4
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=60.0, max_pairs=10**7)
    assert res.bound is not None and res.bound <= lp.bound + TOL * abs(lp.bound)


def _cut_share_by_hand(data, groups) -> float:
    """The share of (pair, row) entries on rows that pairs of two regions or more load."""
    region = {}
    for i, g in enumerate(groups):
        for n in g:
            region[int(n)] = i
    rows, pairs = _row_entries(data)
    reach: dict[int, set[int]] = {}
    for r, k in zip(rows.tolist(), pairs.tolist(), strict=True):
        reach.setdefault(r, set()).add(region[int(data.pair_need[k])])
    return sum(len(reach[r]) > 1 for r in rows.tolist()) / len(rows)


@pytest.mark.parametrize("share", [0.6, 0.25])
def test_cut_share_is_the_entries_on_rows_two_regions_reach(share) -> None:
    _, _, data = _two_counties()
    groups = partition(data, int(share * (data.n_pairs + data.n_needs)))
    assert len(groups) >= 2
    assert regional.cut_share(data, groups) == pytest.approx(_cut_share_by_hand(data, groups))


def test_regions_only_where_the_cut_is_thin(monkeypatch) -> None:
    """Two counties cut in two: 16% of the entries on cut rows, so by regions; cut in five
    (through the counties), 76%: the whole is searched, and the answer says why. Above
    WHOLE_MAX_PAIRS the regions are kept whatever the cut."""
    instance, problem, data = _two_counties()
    size = data.n_pairs + data.n_needs
    monkeypatch.setattr(regional, "MIN_REGION_S", 0.5)
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", int(0.6 * size))
    groups, why = regional.plan(data, 20.0)
    assert groups is not None and len(groups) == 2 and why["cut_share"] <= regional.MAX_CUT_SHARE
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", int(0.25 * size))
    groups, why = regional.plan(data, 20.0)
    assert groups is None and why["cut_share"] > regional.MAX_CUT_SHARE and why["regions"] >= 4
    res = solve(problem, SolveParams(solver="heuristic", time_limit=6.0, seed=1))
    assert "regions" not in res.extra
    assert res.extra["regions_declined"]["cut_share"] == why["cut_share"]
    assert "the whole is searched" in res.extra["regions_declined"]["declined"]
    assert check(instance, res.solution, reported=res).ok
    monkeypatch.setattr(regional, "WHOLE_MAX_PAIRS", data.n_pairs - 1)
    groups, _ = regional.plan(data, 20.0)
    assert groups is not None and len(groups) >= 4


def test_regions_only_with_the_time_for_them() -> None:
    big = 5 * regional.REGION_MAX_PAIRS
    assert not regional.worth_it(regional.REGION_MAX_PAIRS, 10_000.0)
    assert not regional.worth_it(big, 5 * regional.MIN_REGION_S - 1.0)
    assert regional.worth_it(big, 5 * regional.MIN_REGION_S)


def test_regions_on_a_dask_cluster_give_the_local_answer(monkeypatch) -> None:
    """``SolveParams.dask``: the same regions, the same jobs, on a dask.distributed cluster.

    The regions are small enough for every search to end by itself (its LNS solves the whole
    region to optimality), so the answer does not depend on where, or how fast, it ran. The
    limit is generous so that no LP or search is cut by its deadline on a loaded machine (the
    solves end by themselves, in about 30 s each here under load).
    """
    import distributed  # a dependency (dask[distributed]): never skipped
    instance = generate("S", needs=160, providers=16, zones=16, seed=5, blocks=True)
    problem = Problem.from_instance(instance)
    data = from_problem(problem)
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", (data.n_pairs + data.n_needs) // 3)
    monkeypatch.setattr(regional, "RECUT_MAX_PAIRS", (data.n_pairs + data.n_needs) // 3)
    monkeypatch.setattr(regional, "MIN_REGION_S", 0.5)
    monkeypatch.setattr(regional, "MAX_CUT_SHARE", 1.0)  # cut however thick
    local = solve(problem, SolveParams(solver="heuristic", time_limit=120.0, seed=1))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    try:
        remote = solve(problem, SolveParams(solver="heuristic", time_limit=120.0, seed=1,
                                            dask=cluster.scheduler_address))
    finally:
        cluster.close()
    assert local.extra["regions"] >= 3
    assert remote.extra["regions"] == local.extra["regions"]
    assert remote.extra["regions_without_search"] == 0 and not remote.extra["remote_errors"]
    assert check(instance, remote.solution, reported=remote).ok
    assert remote.bound == pytest.approx(local.bound, rel=1e-9)
    assert remote.objective == pytest.approx(local.objective, rel=1e-9)
    assert dict(remote.solution.assignment) == dict(local.solution.assignment)


def _priced(data, groups):
    """The regions of ``groups`` with their LPs solved here (whole capacities), as pass 1
    of solve_regions leaves them (HiGHS here, as the child's LP does through MathOpt):
    (regions, the sum of their bounds, price_bound)."""
    regions = []
    for i, g in enumerate(groups):
        r = regional._Region(i, g, reached_rows(data, g), 0)
        sub, _ = region_data(data, g, np.ones(data.n_rows), keep_constant=i == 0)
        n_comp, labels = components(sub)
        lp = lp_bound(sub, labels, n_comp, time_limit=60.0, max_pairs=10**7)
        assert lp.duals is not None
        r.bound, r.lam = lp.bound, lp.duals
        regions.append(r)
    summed = sum(r.bound for r in regions)
    return regions, summed, regional.price_bound(data, regions, row_shares(data, groups))


@pytest.mark.parametrize("share", [1.1, 0.6, 0.25])
def test_prices_of_the_regions_bound_the_whole_and_count_capacity_once(share) -> None:
    """The whole's Lagrangian bound at the regions' LP prices is valid (never above the LP of
    the whole); with one region it is the LP bound itself; on a thick cut (regions of a
    quarter) it is above the regions' bounds summed, which count shared capacity again."""
    _, _, data = _two_counties()
    groups = partition(data, int(share * (data.n_pairs + data.n_needs)))
    regions, summed, priced = _priced(data, groups)
    assert priced is not None
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=60.0, max_pairs=10**7)
    assert priced[0] <= lp.bound + TOL * abs(lp.bound)
    if len(groups) == 1:
        assert priced[0] == pytest.approx(lp.bound, rel=1e-6)
    if share == 0.25:
        assert len(groups) >= 4 and regional.cut_share(data, groups) > 0.25
        assert priced[0] > summed


@pytest.mark.parametrize("seed", _cut_cases(15))
def test_prices_of_the_regions_never_bound_above_the_optimum(seed: int) -> None:
    """Every zone a region: the priced bound is at most the exact optimum (HiGHS)."""
    from allocator.exact.base import SolverOptions
    from allocator.exact.highs import solve as highs_solve
    from allocator.exact.model import build

    problem = Problem.from_instance(random_instance(seed))
    data = from_problem(problem)
    _, _, priced = _priced(data, partition(data, 1))
    assert priced is not None
    res = highs_solve(build([(problem, 1.0)]), SolverOptions(time_limit=60.0, threads=1))
    assert res.status is Status.optimal and res.objective is not None
    assert priced[0] <= res.objective + TOL * max(1.0, abs(res.objective))


def test_a_thick_cut_is_cut_again_beside_the_answer(monkeypatch) -> None:
    """Cut into quarters (a cut share above THICK_CUT, allowed here by MAX_CUT_SHARE = 1):
    no searches on split capacities (pass 2); the first answer is the cheapest of the whole
    market's greedy on costs, the same on reduced costs at the bound's prices, and PDLP's
    answer to the whole LP rounded; then
    pass 3 cuts the market again along other borders, round by round, and searches each
    region beside the others' answers. Its answer is checked, the best of the greedy's and the
    rounds', and the bound is the same valid bound."""
    instance, problem, data = _two_counties()
    cap = (data.n_pairs + data.n_needs) // 4
    monkeypatch.setattr(regional, "REGION_MAX_PAIRS", cap)
    monkeypatch.setattr(regional, "RECUT_MAX_PAIRS", cap)
    monkeypatch.setattr(regional, "MIN_REGION_S", 0.5)
    monkeypatch.setattr(regional, "MAX_CUT_SHARE", 1.0)
    assert regional.cut_share(data, partition(data, cap)) > regional.THICK_CUT
    res = solve(problem, SolveParams(solver="heuristic", time_limit=30.0, seed=3))
    assert res.status in (Status.feasible, Status.optimal), res.message
    first = res.extra["first_answer"]
    assert set(first["greedy"]) == {
        "costs", "reduced costs at the bound's prices",
        "PDLP's answer to the whole LP, rounded, the rest on reduced costs",
        "PDLP's answer to the whole LP, rounded, the rest on costs"}
    # pass 1 on a thick cut: PDLP on the whole market's LP, no region LP
    assert not any(res.extra["region_lp"])
    assert res.extra["whole_lp"]["rounds_priced"] >= 1
    assert res.extra["bound_method"].startswith("lagrangian of the whole at the prices of PDLP")
    assert res.extra["search"] == [{}] * res.extra["regions"]  # no pass 2
    recut = res.extra["recut"]
    assert recut["objective_before"] == pytest.approx(min(first["greedy"].values()), rel=1e-12)
    rounds = recut["rounds"]
    assert 2 <= len(rounds) <= regional.RECUT_ROUNDS  # 16 s for three rounds of 4-5 s
    assert rounds[0]["regions"] >= 4
    # a region the round's time did not reach keeps its part of the answer
    assert all(1 <= r["searched"] <= r["regions"] for r in rounds)
    assert all(r["objective"] is not None for r in rounds)  # every round's union is feasible
    # each round starts from the best answer so far and its regions only improve on their
    # parts of it: the union is never dearer than the start
    tol = 1e-9 * abs(recut["objective_before"])
    seen = [recut["objective_before"], *(r["objective"] for r in rounds)]
    assert all(b <= a + tol for a, b in zip(seen, seen[1:], strict=False))
    # the best of the greedy's answer and the rounds', each round started from the best so far
    best = min([recut["objective_before"], *(r["objective"] for r in rounds)])
    assert recut["objective_after"] == pytest.approx(best, rel=1e-12)
    assert res.objective == pytest.approx(best, rel=1e-9)
    # the progress shows the greedy's answer and every round that improved on the best, as
    # they came (at XL the rounds take most of the half hour)
    answers = [o for _, o, _ in res.progress if o is not None]
    improved = [o for a, o in zip(seen, seen[1:], strict=False) if o < a - tol]
    assert answers[0] == pytest.approx(recut["objective_before"], rel=1e-12)
    for o in improved:
        assert any(a == pytest.approx(o, rel=1e-12) for a in answers)
    times = [t for t, _, _ in res.progress]
    assert times == sorted(times)
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=60.0, max_pairs=10**7)
    assert res.bound is not None and res.bound <= lp.bound + TOL * abs(lp.bound)
    # the whole LP's prices: a bound near the LP of the whole (the regions' LP prices on this
    # cut had proved less, see test_prices_of_the_regions_bound_the_whole_and_count_capacity_once)
    regions, summed, priced = _priced(data, partition(data, cap))
    assert priced is not None
    assert res.bound >= lp.bound - 1e-3 * abs(lp.bound)
    assert res.bound > priced[0]

