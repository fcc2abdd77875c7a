"""The constructions: the one that keeps people in care with their provider (issue 15)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.generate import generate
from allocator.heuristic.construct import (
    first_assignment,
    keep_current,
    regret_greedy,
    round_fractional,
)
from allocator.heuristic.data import SearchData, from_problem, to_problem_chosen
from allocator.heuristic.state import TOL, Assignment, row_loads


@cache
def _zoo(family: str) -> SearchData:
    return from_problem(Problem.from_instance(generate("S", seed=1, blocks=True,
                                                      family=family)))


def _moved(data: SearchData, chosen: np.ndarray) -> np.ndarray:
    """In-care needs (with an eligible pair at their provider) not kept with it."""
    in_care = np.zeros(data.n_needs, dtype=bool)
    in_care[data.pair_need[data.pair_current]] = True
    kept = (chosen >= 0) & data.pair_current[np.maximum(chosen, 0)]
    return in_care & ~kept


@pytest.mark.parametrize("family", ["base", "incare", "county"])
def test_keep_current_keeps_people_in_care_unless_their_provider_is_full(family: str) -> None:
    data = _zoo(family)
    chosen = keep_current(data)
    state = Assignment(data, chosen)
    assert state.feasible
    moved = np.nonzero(_moved(data, chosen))[0]
    cap = data.row_cap + TOL * np.maximum(1.0, np.where(np.isinf(data.row_cap), 1.0,
                                                        data.row_cap))
    load = row_loads(data, chosen)
    for n in moved:  # every current pair was full (or dearer than unmet) when n was placed
        ks = np.arange(data.need_start[n], data.need_start[n + 1])
        for k in ks[data.pair_current[ks]]:
            r = data.pair_rows[k]
            own = 0.0
            if chosen[n] >= 0:  # n's own load on the same rows (slot i is row kind i)
                own = np.where(data.pair_rows[chosen[n]] == r, data.pair_w[chosen[n]], 0.0)
            fits = np.all(load[r] - own + data.pair_w[k] <= cap[r])
            assert not fits or data.pair_cost[k] >= data.unmet_cost[n]
    # it moves no more people than the plain greedy; the better of the two starts the search
    plain = regret_greedy(data)
    assert len(moved) <= _moved(data, plain).sum()
    best = first_assignment(data)
    assert Assignment(data, best).objective <= min(state.objective,
                                                   Assignment(data, plain).objective) + 1e-9


@pytest.mark.parametrize("seed", range(40))
def test_keep_current_is_feasible_and_never_beats_the_optimum(seed: int) -> None:
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    ref = brute_force_allocation(instance)
    data = from_problem(problem, lexicographic=problem.objective_kind == "lexicographic")
    for chosen in (keep_current(data), first_assignment(data)):
        assert Assignment(data, chosen).feasible
        ev = evaluate(problem, to_problem_chosen(data, chosen))
        assert ev.feasible, ev.violations
        if problem.objective_kind == "lexicographic":  # unmet first: no less than the optimum's
            unmet = ref.terms["unmet"]
            assert ev.terms["unmet"] >= unmet - 1e-6 * max(1.0, abs(unmet))
        else:
            assert ev.objective >= ref.objective - 1e-6 * max(1.0, abs(ref.objective))


def _blurred(data: SearchData, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shares near ``chosen`` as a first-order LP method returns them: 0.9-1.0 on the chosen
    pair, the rest of the need spread over its other pairs (an unmet need: below 0.5 each)."""
    x = np.zeros(data.n_pairs)
    for n in range(data.n_needs):
        ks = np.arange(data.need_start[n], data.need_start[n + 1])
        if len(ks) == 0:
            continue
        if chosen[n] >= 0:
            x[chosen[n]] = rng.uniform(0.9, 1.0)
            others = ks[ks != chosen[n]]
            if len(others):
                x[rng.choice(others)] = 1.0 - x[chosen[n]]
        else:
            x[ks] = rng.uniform(0.0, 0.49, size=len(ks))
    return x


@pytest.mark.parametrize("seed", range(40))
def test_rounding_a_blurred_answer_gives_it_back(seed: int) -> None:
    """A feasible answer blurred as PDLP blurs one is rounded back to itself where the unmet
    needs have nothing left that fits, and to something at least as good otherwise; random
    shares round to a feasible answer."""
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    data = from_problem(problem, lexicographic=problem.objective_kind == "lexicographic")
    rng = np.random.default_rng(seed)
    chosen = first_assignment(data)
    back = round_fractional(data, _blurred(data, chosen, rng))
    assert Assignment(data, back).feasible
    served = chosen >= 0
    assert np.array_equal(back[served], chosen[served])  # every served need keeps its pair
    for x in (rng.uniform(0.0, 1.0, data.n_pairs), np.zeros(data.n_pairs)):
        rounded = round_fractional(data, x)
        assert Assignment(data, rounded).feasible
        ev = evaluate(problem, to_problem_chosen(data, rounded))
        assert ev.feasible, ev.violations
    # no shares at all: the greedy itself
    assert np.array_equal(round_fractional(data, np.zeros(data.n_pairs)), regret_greedy(data))


def test_rounding_places_the_largest_shares_first() -> None:
    """Two needs whose favourite pairs fit alone but not together on one row: the larger
    share gets its pair, whichever need it is."""
    data = _zoo("base")
    cap = data.row_cap
    found = 0
    for r in range(data.n_rows):
        on = np.nonzero((data.pair_rows == r).any(axis=1))[0]
        w = np.array([data.pair_w[k][list(data.pair_rows[k]).index(r)] for k in on])
        alone = np.array([all(data.pair_w[k][i] <= cap[data.pair_rows[k][i]]
                              for i in range(data.pair_rows.shape[1])) for k in on])
        for a in range(len(on)):
            for b in range(a + 1, len(on)):
                k1, k2 = on[a], on[b]
                n1, n2 = data.pair_need[k1], data.pair_need[k2]
                if n1 == n2 or not (alone[a] and alone[b]) or w[a] + w[b] <= cap[r] + 1e-6:
                    continue
                for big, small in ((k1, k2), (k2, k1)):
                    x = np.zeros(data.n_pairs)
                    x[big], x[small] = 0.95, 0.9
                    got = round_fractional(data, x)
                    assert got[data.pair_need[big]] == big
                    assert got[data.pair_need[small]] != small
                    assert Assignment(data, got).feasible
                found += 1
                break
            if found >= 5:
                return
    assert found, "no row on this market that two needs' pairs overfill"
