"""The search data and the incremental assignment agree with the exact evaluation.

:mod:`allocator.heuristic.state` keeps row loads and block funding incrementally; every
objective it reports must equal :func:`allocator.core.evaluate.evaluate` on the same assignment,
and it must call an assignment feasible exactly when the evaluation finds no violation.
Instances come from ``random_instance`` (every feature: blocks, block-only and reservation
lots, share caps, transfers, travel factors) and from the quick market generator.
"""

from __future__ import annotations

import numpy as np
import pytest
from random_instances import random_instance

from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.heuristic.data import (
    components,
    from_problem,
    from_problem_chosen,
    row_pairs,
    to_problem_chosen,
)
from allocator.heuristic.state import Assignment, funding, row_loads

from .market import market_instance

SEEDS = range(40)


def _random_chosen(data, rng) -> np.ndarray:
    chosen = np.full(data.n_needs, -1, dtype=np.int64)
    for n in range(data.n_needs):
        a, b = data.need_start[n], data.need_start[n + 1]
        if b > a and rng.random() < 0.8:
            chosen[n] = rng.integers(a, b)
    return chosen


def _problem(seed: int) -> Problem:
    return Problem.from_instance(random_instance(seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_objective_and_feasibility_match_evaluate(seed: int) -> None:
    problem = _problem(seed)
    data = from_problem(problem)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        chosen = _random_chosen(data, rng)
        state = Assignment(data, chosen)
        ev = evaluate(problem, to_problem_chosen(data, chosen))
        assert state.objective == pytest.approx(ev.objective, rel=1e-9, abs=1e-7)
        assert state.feasible == ev.feasible, ev.violations
        # funding by choice matches; block-only pairs are funded in full
        funded = funding(data, chosen, row_loads(data, chosen))
        served = np.nonzero(chosen >= 0)[0]
        may = served[data.pair_holder[chosen[served]] >= 0]
        assert funded[may] == pytest.approx(ev.block_q[may], abs=1e-9)
        must = served[data.pair_rows[chosen[served], 2] < data.n_rows]
        assert ev.block_q[must] == pytest.approx(data.need_q[must])
        # funding restricted to some holders agrees with the full funding there
        some = np.arange(0, data.n_holders, 2)
        part = funding(data, chosen, row_loads(data, chosen), some)
        in_some = np.isin(data.pair_holder[np.maximum(chosen, 0)], some) & (chosen >= 0) \
            if data.n_pairs else np.zeros(data.n_needs, dtype=bool)
        assert part[in_some] == pytest.approx(funded[in_some], abs=1e-12)
        assert not part[~in_some].any()


@pytest.mark.parametrize("seed", SEEDS)
def test_incremental_changes_match_a_fresh_state(seed: int) -> None:
    problem = _problem(seed)
    data = from_problem(problem)
    rng = np.random.default_rng(100 + seed)
    state = Assignment(data, np.full(data.n_needs, -1, dtype=np.int64))
    for step in range(30):
        n = int(rng.integers(data.n_needs))
        a, b = data.need_start[n], data.need_start[n + 1]
        k = int(rng.integers(a, b)) if b > a and rng.random() < 0.8 else -1
        before = state.objective
        if step % 2:
            delta = state.move(n, k, max_delta=None)
        else:
            delta = state.change(np.array([n]), np.array([k]), max_delta=None)
        fresh = Assignment(data, state.chosen)
        assert fresh.feasible, "a change the state accepted broke a row"
        assert state.objective == pytest.approx(fresh.objective, rel=1e-9, abs=1e-7)
        if delta is not None:
            assert state.objective - before == pytest.approx(delta, abs=1e-6)
        assert state.load == pytest.approx(fresh.load, abs=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_rejected_changes_leave_the_state_unchanged(seed: int) -> None:
    problem = _problem(seed)
    data = from_problem(problem)
    rng = np.random.default_rng(seed)
    state = Assignment(data, np.full(data.n_needs, -1, dtype=np.int64))
    for _ in range(30):
        n = int(rng.integers(data.n_needs))
        a, b = data.need_start[n], data.need_start[n + 1]
        if b == a:
            continue
        k = int(rng.integers(a, b))
        snapshot = (state.chosen.copy(), state.load.copy(), state.objective)
        if state.move(n, k, max_delta=-1e12) is None:  # never good enough: always rejected
            assert np.array_equal(state.chosen, snapshot[0])
            assert np.array_equal(state.load, snapshot[1])
            assert state.objective == snapshot[2]


def test_pair_maps_round_trip() -> None:
    problem = _problem(3)
    data = from_problem(problem)
    chosen = _random_chosen(data, np.random.default_rng(0))
    assert np.array_equal(from_problem_chosen(data, to_problem_chosen(data, chosen)), chosen)


def test_components_share_no_row() -> None:
    problem = Problem.from_instance(market_instance(300, 20, 4, seed=2))
    data = from_problem(problem)
    count, labels = components(data)
    assert labels.min() == 0 and labels.max() == count - 1
    start, pairs = row_pairs(data)
    for r in range(data.n_rows):
        needs = data.pair_need[pairs[start[r]:start[r + 1]]]
        assert len(np.unique(labels[needs])) <= 1


def test_lexicographic_scale_multiplies_only_unmet_costs() -> None:
    problem = _problem(5)
    plain, lex = from_problem(problem), from_problem(problem, lexicographic=True)
    assert lex.unmet_scale > 1
    assert lex.unmet_cost == pytest.approx(plain.unmet_cost * lex.unmet_scale)
    assert np.array_equal(lex.pair_cost, plain.pair_cost)


def test_split_parts_add_up_to_the_whole() -> None:
    from allocator.heuristic.data import restrict, split

    problem = Problem.from_instance(market_instance(400, 24, 6, seed=5))
    data = from_problem(problem)
    groups = split(data, 2)
    assert len(groups) == 2
    assert np.array_equal(np.sort(np.concatenate(groups)), np.arange(data.n_needs))
    rng = np.random.default_rng(1)
    chosen = _random_chosen(data, rng)
    # keep only a feasible part of the random choice: greedy would do, unmet is simplest
    chosen[rng.random(data.n_needs) < 0.7] = -1
    whole = Assignment(data, chosen)
    total, problem_chosen = 0.0, np.full(data.n_needs, -1, dtype=np.int64)
    for i, g in enumerate(groups):
        part = restrict(data, g, keep_constant=i == 0)
        inverse = np.full(data.n_pairs, -1, dtype=np.int64)
        counts = data.need_start[g + 1] - data.need_start[g]
        sub_pairs = np.concatenate([np.arange(data.need_start[n], data.need_start[n + 1])
                                    for n in g]) if len(g) else np.zeros(0, dtype=np.int64)
        inverse[sub_pairs] = np.arange(len(sub_pairs))
        assert counts.sum() == part.n_pairs
        local = np.where(chosen[g] >= 0, inverse[np.maximum(chosen[g], 0)], -1)
        state = Assignment(part, local)
        assert state.feasible == Assignment(data, np.where(np.isin(np.arange(data.n_needs), g),
                                                             chosen, -1)).feasible
        total += state.objective
        problem_chosen[g] = to_problem_chosen(part, local)
    assert total == pytest.approx(whole.objective, rel=1e-9)
    assert np.array_equal(problem_chosen, to_problem_chosen(data, chosen))
