"""Halves: one large component searched by both cores (allocator.heuristic.halves).

The halves' answers must fit together whatever each finds within its own data, the whole's
objective must never be above what the halves' objectives add up to, and the portfolio must
return a checked answer with stage 1's bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from random_instances import random_instance

import allocator.heuristic.halves as halves
from allocator.core.check import check
from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.heuristic.construct import regret_greedy
from allocator.heuristic.data import components, from_problem, need_pairs, to_problem_chosen
from allocator.heuristic.lp import lp_bound
from allocator.heuristic.regions import partition, row_shares
from allocator.heuristic.state import Assignment, funding, row_loads
from allocator.solvers import SolveParams, solve

from .test_regions import _two_counties  # two counties of 8 zones, blocks in force

TOL = 1e-6


def _random_answers(data, groups, chosen, rng):
    """Each half's own feasible answer: greedy on random preferences, its start, or nothing
    served; yields (the halves' objectives added, the whole's assignment)."""
    shares = row_shares(data, groups)
    cases = []
    for how in ("greedy", "start", "none", "mixed"):
        whole = np.full(data.n_needs, -1, dtype=np.int64)
        total = 0.0
        for j, g in enumerate(groups):
            sub, pairs, start = halves.residual(data, g, chosen, shares[j], keep_constant=j == 0)
            assert Assignment(sub, start).feasible
            pick = how if how != "mixed" else ("greedy" if j == 0 else "start")
            if pick == "greedy":
                local = regret_greedy(sub, rc=sub.pair_cost * rng.uniform(0.2, 5.0, sub.n_pairs))
            elif pick == "start":
                local = start
            else:
                local = np.full(sub.n_needs, -1, dtype=np.int64)
            st = Assignment(sub, local)
            assert st.feasible
            total += st.objective
            halves.lift(whole, g, pairs, local)
        cases.append((how, total, whole))
    return cases


def test_halves_start_from_their_parts_and_add_up() -> None:
    _, _, data = _two_counties()
    assert data.n_holders > 0  # block volumes are divided too
    chosen = regret_greedy(data)
    whole = Assignment(data, chosen)
    assert funding(data, chosen, whole.load).sum() > 0
    groups = halves.bisect(data)
    assert groups is not None and len(groups) == 2
    shares = row_shares(data, groups)
    total = 0.0
    back = np.full(data.n_needs, -1, dtype=np.int64)
    for j, g in enumerate(groups):
        sub, pairs, start = halves.residual(data, g, chosen, shares[j], keep_constant=j == 0)
        assert np.array_equal(pairs, need_pairs(data, g))
        half = Assignment(sub, start)
        assert half.feasible
        total += half.objective
        halves.lift(back, g, pairs, start)
    assert np.array_equal(back, chosen)
    assert total == pytest.approx(whole.objective, rel=1e-9)


def test_divided_capacities_add_up_to_the_whole() -> None:
    """On every row, the halves' capacities add up to the row's (its load where the start
    already fills it); a block volume: the halves' volumes add up to at most the volume."""
    _, _, data = _two_counties()
    chosen = regret_greedy(data)
    load = row_loads(data, chosen)
    groups = halves.bisect(data)
    assert groups is not None
    shares = row_shares(data, groups)
    cap = np.zeros(data.n_rows)
    from allocator.heuristic.regions import reached_rows

    for j, g in enumerate(groups):
        sub, _, _ = halves.residual(data, g, chosen, shares[j], keep_constant=j == 0)
        np.add.at(cap, reached_rows(data, g), sub.row_cap[:-1])
    both = np.zeros(data.n_rows, dtype=int)
    for g in groups:
        both[reached_rows(data, g)] += 1
    shared = both == 2
    assert shared.any()
    expect = np.maximum(data.row_cap[:-1], load[:-1])
    assert np.all(cap[shared] <= expect[shared] + TOL * np.maximum(1.0, expect[shared]))


@pytest.mark.parametrize("seed", range(6))
def test_what_the_halves_find_fits_together(seed: int) -> None:
    """Whatever each half finds within its own data, the union is feasible and no dearer
    than the halves' objectives added (pooled block volume funds at least as much)."""
    instance, problem, data = _two_counties()
    rng = np.random.default_rng(seed)
    chosen = regret_greedy(data, rc=data.pair_cost * rng.uniform(0.5, 2.0, data.n_pairs))
    groups = halves.bisect(data, rng)
    assert groups is not None
    for how, total, whole in _random_answers(data, groups, chosen, rng):
        ev = evaluate(problem, to_problem_chosen(data, whole))
        assert ev.feasible, (how, ev.violations[:3])
        assert ev.objective <= total + TOL * max(1.0, abs(total)), how
        if how == "start":
            assert ev.objective == pytest.approx(total, rel=1e-9)


def _two_zone_cases(count: int) -> list[int]:
    seeds = []
    for seed in range(300):
        data = from_problem(Problem.from_instance(random_instance(seed)))
        if len(np.unique(np.asarray(data.need_zone))) >= 2 and data.n_pairs:
            seeds.append(seed)
        if len(seeds) == count:
            return seeds
    raise AssertionError("too few random instances with two zones")


@pytest.mark.parametrize("seed", _two_zone_cases(25))
def test_halves_fit_together_on_random_markets(seed: int) -> None:
    """The same on the suite's random markets (share caps, block-only lots, schemes)."""
    problem = Problem.from_instance(random_instance(seed))
    data = from_problem(problem)
    rng = np.random.default_rng(seed)
    groups = halves.bisect(data, rng)
    assert groups is not None
    chosen = regret_greedy(data, rc=data.pair_cost * rng.uniform(0.5, 2.0, data.n_pairs))
    for how, total, whole in _random_answers(data, groups, chosen, rng):
        ev = evaluate(problem, to_problem_chosen(data, whole))
        assert ev.feasible, (how, ev.violations[:3])
        assert ev.objective <= total + TOL * max(1.0, abs(total)), how


def test_bisect_cuts_along_zones() -> None:
    _, _, data = _two_counties()
    a = halves.bisect(data)
    b = halves.bisect(data, np.random.default_rng(3))
    for groups in (a, b):
        assert groups is not None and len(groups) == 2
        seen = np.concatenate(groups)
        assert len(seen) == data.n_needs and len(np.unique(seen)) == data.n_needs
        zone = np.asarray(data.need_zone)
        assert not np.intersect1d(zone[groups[0]], zone[groups[1]]).size
        sizes = [np.isin(data.pair_need, g).sum() + len(g) for g in groups]
        assert max(sizes) <= 0.75 * (data.n_pairs + data.n_needs)
    # one zone: no halves
    one = data.__class__(**{**vars(data), "need_zone": np.zeros(data.n_needs, dtype=np.int64)})
    assert halves.bisect(one) is None
    assert len(partition(one, 1)) == 1


@pytest.mark.parametrize("groups", [1, 2])
def test_portfolio_searches_a_large_component_in_halves(monkeypatch, groups: int) -> None:
    """With the size thresholds lowered: stage 1 solves the large group's LP and the epochs
    search its halves, beside the other group's search where there are two (the largest
    component, 70% of the market, alone; the other core takes the rest). The answer passes
    the checker and the bound is still the LP bound."""
    import allocator.heuristic.portfolio as portfolio

    instance, problem, data = _two_counties()
    n_comp, labels = components(data)
    size = np.bincount(labels[data.pair_need], minlength=n_comp) + np.bincount(labels)
    big = int(np.argmax(size))
    monkeypatch.setattr(halves, "MIN_PAIRS", 500)
    monkeypatch.setattr(halves, "EPOCH_S", 2.5)
    monkeypatch.setattr(halves, "MIN_EPOCH_S", 1.0)
    if groups == 2:
        monkeypatch.setattr(portfolio, "PARALLEL_MIN_PAIRS", 500)
        monkeypatch.setattr(halves, "DOMINANT", 0.6)
        assert size[big] >= 0.6 * size.sum()
        covered = int((labels == big).sum())
    else:
        assert data.n_pairs < portfolio.PARALLEL_MIN_PAIRS
        covered = data.n_needs
    res = solve(problem, SolveParams(solver="heuristic", time_limit=10.0, seed=2))
    assert res.status in (Status.feasible, Status.optimal), res.message
    assert res.extra["parts"] == groups + 1
    info = res.extra["halves"]
    assert info["stage1"]["neighbourhoods"] == 0
    # stage 1 polishes the better of its two constructions only (people are in care here)
    assert data.pair_current.any() and info["stage1"]["constructions"] == 1
    assert len(info["epochs"]) >= 2
    for epoch in info["epochs"]:
        assert sum(epoch["needs"]) == covered
        assert epoch["objective"] is not None
        # each epoch keeps its searches' counters (one per half, or the whole at the end)
        assert len(epoch["search"]) == len(epoch["needs"])
        assert all(s is not None and s["neighbourhoods"] >= 0 for s in epoch["search"])
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    lp = lp_bound(data, labels, n_comp, time_limit=60.0, max_pairs=10**7)
    assert res.bound is not None
    assert res.bound == pytest.approx(lp.bound, rel=1e-6)
    # each epoch starts from the last one's answer: its part of the objective never rises
    objectives = [e["objective"] for e in info["epochs"]]
    assert all(b <= a + TOL * abs(a) for a, b in zip(objectives, objectives[1:], strict=False))
    if groups == 1:
        assert res.objective <= objectives[-1] + TOL * abs(objectives[-1])


def test_no_halves_below_the_size_or_when_lexicographic(monkeypatch) -> None:
    _, problem, _ = _two_counties()
    res = solve(problem, SolveParams(solver="heuristic", time_limit=2.0, seed=2))
    assert "halves" not in res.extra
    monkeypatch.setattr(halves, "MIN_PAIRS", 1_000)
    res = solve(problem, SolveParams(solver="heuristic", time_limit=4.0, seed=2,
                                     objective="lexicographic"))
    assert res.status in (Status.feasible, Status.optimal), res.message
    assert "halves" not in res.extra


def test_too_little_time_for_halves_searches_the_whole_to_the_end(monkeypatch) -> None:
    """Stage 1 ends with less than an epoch's time left: the rest goes to one search of the
    whole group from stage 1's answer (the core is not left idle and the answer is kept)."""
    instance, problem, data = _two_counties()
    monkeypatch.setattr(halves, "MIN_PAIRS", 500)
    monkeypatch.setattr(halves, "MIN_EPOCH_S", 1_000.0)
    res = solve(problem, SolveParams(solver="heuristic", time_limit=6.0, seed=2))
    assert res.status in (Status.feasible, Status.optimal), res.message
    epochs = res.extra["halves"]["epochs"]
    assert len(epochs) == 1 and epochs[0]["needs"] == [data.n_needs]
    assert res.extra["search"]["neighbourhoods"] > 0  # the LNS ran on the whole
    report = check(instance, res.solution, reported=res)
    assert report.ok, report.summary()
    assert res.objective <= epochs[0]["objective"] + TOL * abs(epochs[0]["objective"])
