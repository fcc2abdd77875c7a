"""Bounds never exceed the optimum; constructions are feasible and never beat it.

The optimum comes from the brute-force reference (:mod:`reference`, enumeration) on tiny
random instances with every feature. For a lexicographic policy the reference's objective is
the full objective of the lexicographic optimum, which the *weighted* bounds must not exceed
either (it is one feasible assignment). Only numpy and HiGHS run here: OR-Tools code runs in
the portfolio's child process (``tests/test_portfolio.py``).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.heuristic.construct import regret_greedy
from allocator.heuristic.data import components, from_problem, to_problem_chosen
from allocator.heuristic.lagrangian import Subgradient, dual_value, reduced_costs
from allocator.heuristic.local_search import eject, shift
from allocator.heuristic.lp import lp_bound
from allocator.heuristic.state import Assignment

from .market import market_instance

SEEDS = range(60)
TOL = 1e-6


@cache
def _case(seed: int):
    instance = random_instance(seed)
    ref = brute_force_allocation(instance)
    return instance, Problem.from_instance(instance), ref


def _below(bound: float, optimum: float) -> bool:
    return bound <= optimum + TOL * max(1.0, abs(optimum))


@pytest.mark.parametrize("seed", SEEDS)
def test_lagrangian_and_lp_bounds_never_exceed_the_optimum(seed: int) -> None:
    _, problem, ref = _case(seed)
    assert ref.objective is not None  # unmet is always an option
    data = from_problem(problem)  # weighted, also for a lexicographic policy
    zero, _, _ = dual_value(data, np.zeros(data.n_rows + 1))
    assert _below(zero, ref.objective)
    sg = Subgradient(data)
    best = sg.run(200, upper_bound=ref.objective)
    assert _below(best, ref.objective)
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=10.0)
    assert lp.exact_components == n_comp
    assert _below(lp.bound, ref.objective)
    assert best <= lp.bound + TOL * max(1.0, abs(lp.bound))  # the LP is the best Lagrangian
    if lp.duals is not None:  # the LP's prices reproduce its value as a Lagrangian bound
        value, _, _ = dual_value(data, lp.duals)
        assert value == pytest.approx(lp.bound, rel=1e-6, abs=1e-6)
        assert _below(value, ref.objective)


@pytest.mark.parametrize("seed", SEEDS)
def test_constructions_are_feasible_and_never_beat_the_optimum(seed: int) -> None:
    _, problem, ref = _case(seed)
    data = from_problem(problem, lexicographic=problem.objective_kind == "lexicographic")
    sg = Subgradient(data)
    sg.run(50, upper_bound=Assignment(data, regret_greedy(data)).objective)
    for rc in (None, reduced_costs(data, sg.best_lam)):
        state = Assignment(data, regret_greedy(data, rc=rc))
        assert state.feasible
        for move in (shift, eject):
            before = state.objective
            move(state)
            assert state.objective <= before + 1e-9 * max(1.0, abs(before))
            assert Assignment(data, state.chosen).feasible
        ev = evaluate(problem, to_problem_chosen(data, state.chosen))
        assert ev.feasible, ev.violations
        assert ev.objective >= ref.objective - TOL * max(1.0, abs(ref.objective))


def test_ejection_chains_improve_a_greedy_market() -> None:
    """On a tight market, ejection chains find improvements shift moves alone cannot."""
    problem = Problem.from_instance(market_instance(400, 25, 3, seed=6, tightness=1.1))
    data = from_problem(problem)
    state = Assignment(data, regret_greedy(data))
    shift(state)
    before = state.objective
    assert eject(state) > 0
    assert state.objective < before
    fresh = Assignment(data, state.chosen)
    assert fresh.feasible
    assert fresh.objective == pytest.approx(state.objective, rel=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_pruned_ejection_chains_are_the_chains_found_without_pruning(seed: int) -> None:
    """``eject`` skips the needs and pairs that cannot make a chain pay or cannot fit before it
    tests them, and keeps the pairs each full row serves and each pair's fit-alone flag up to
    date as chains apply: round after round, from the greedy and from shift moves' answers,
    on tight and loose markets, it applies the same chains as testing every pair exactly
    (``prune=False``, the code before), and ends at the same assignment."""
    tightness = (0.8, 1.0, 1.1, 1.3)[seed % 4]
    problem = Problem.from_instance(market_instance(300 + 40 * seed, 20, 3, seed=seed,
                                                    tightness=tightness))
    data = from_problem(problem)
    chains = 0
    for polish_first in (False, True):
        pruned = Assignment(data, regret_greedy(data))
        if polish_first:
            shift(pruned)
        full = Assignment(data, pruned.chosen)
        for _ in range(4):
            a, b = eject(pruned), eject(full, prune=False)
            assert a == b
            assert np.array_equal(pruned.chosen, full.chosen)
            chains += a
            if a == 0:
                break
            shift(pruned)
            shift(full)
    assert chains > 0  # the comparison is not vacuous on these markets


def test_subgradient_approaches_the_lp_bound_on_a_market() -> None:
    """On a 300-need market the subgradient method gets within 1% of the LP bound."""
    problem = Problem.from_instance(market_instance(300, 20, 3, seed=4))
    data = from_problem(problem)
    n_comp, labels = components(data)
    lp = lp_bound(data, labels, n_comp, time_limit=30.0)
    ub = Assignment(data, regret_greedy(data)).objective
    sg = Subgradient(data)
    best = sg.run(600, upper_bound=ub)
    assert best <= lp.bound + 1e-6 * abs(lp.bound)
    assert best >= lp.bound - 0.01 * abs(lp.bound)


@pytest.mark.parametrize("seed", SEEDS[:30])
def test_component_parts_add_up_and_bound_each_component(seed: int) -> None:
    """The search's per-component split (which components LNS may skip): objective parts and
    bound parts add up to the assignment's objective and to L(lam), and each component's
    bound part is at most the optimum's part there, for the LP's prices and for random ones;
    a component called solved at the optimum is one where the optimum meets its bound part."""
    from allocator.heuristic.data import row_pairs
    from allocator.heuristic.search import component_parts, solved_components

    _, problem, ref = _case(seed)
    data = from_problem(problem)
    n_comp, labels = components(data)
    index = row_pairs(data)
    best = Assignment(data, from_problem_chosen_of(problem, data, ref))
    lp = lp_bound(data, labels, n_comp, time_limit=10.0)
    rng = np.random.default_rng(seed)
    prices = [rng.uniform(0, 50, data.n_rows + 1) * (rng.random(data.n_rows + 1) < 0.5)]
    if lp.duals is not None:
        prices.append(lp.duals)
    for lam in prices:
        lam = lam.copy()
        lam[-1] = 0.0
        objective, bound = component_parts(best, lam, labels, n_comp, index)
        assert data.constant + objective.sum() == pytest.approx(best.objective, rel=1e-9,
                                                                  abs=1e-6)
        whole, _, _ = dual_value(data, lam)
        assert data.constant + bound.sum() == pytest.approx(whole, rel=1e-9, abs=1e-6)
        assert np.all(bound <= objective + TOL * np.maximum(1.0, np.abs(objective)))
        solved = solved_components(best, lam, labels, n_comp, index)
        assert np.all(np.abs(objective - bound)[solved] <= 1e-5 * np.maximum(1.0,
                                                                             np.abs(objective[solved])))


def from_problem_chosen_of(problem: Problem, data, ref) -> np.ndarray:
    """The brute-force optimum as search pairs."""
    from allocator.core.evaluate import chosen_from_solution
    from allocator.heuristic.data import from_problem_chosen

    return from_problem_chosen(data, chosen_from_solution(problem, ref.solution))
