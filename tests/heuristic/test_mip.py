"""HiGHS next to the search (``allocator.heuristic.mip``): optimal on tiny instances, fed
answers are used, and the deadline interrupts it."""

from __future__ import annotations

import time

import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.exact.model import build, chosen_from_values, values_from_chosen
from allocator.heuristic.construct import regret_greedy
from allocator.heuristic.data import from_problem, to_problem_chosen
from allocator.heuristic.mip import solve_fed

from .market import market_instance


def _weighted_seeds(count: int) -> list[int]:
    return [s for s in range(100) if random_instance(s).policy.objective == "weighted"][:count]


@pytest.mark.parametrize("seed", _weighted_seeds(8))
def test_fed_mip_reaches_the_brute_force_optimum(seed: int) -> None:
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    ref = brute_force_allocation(instance)
    data = from_problem(problem)
    model = build([(problem, 1.0)])
    start = values_from_chosen(model, [to_problem_chosen(data, regret_greedy(data))])
    ans = solve_fed(model, start=start, deadline=time.monotonic() + 30, incoming=lambda: None)
    assert ans.status == Status.optimal
    ev = evaluate(problem, chosen_from_values(model, ans.values)[0])
    assert ev.feasible
    assert ev.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
    assert ans.bound <= ref.objective + 1e-6 * max(1.0, abs(ref.objective))


def test_fed_mip_takes_answers_and_stops_at_the_deadline() -> None:
    problem = Problem.from_instance(market_instance(1500, 60, 4, seed=3))
    data = from_problem(problem)
    model = build([(problem, 1.0)])
    values = values_from_chosen(model, [to_problem_chosen(data, regret_greedy(data))])
    handed = []

    def incoming():
        if not handed:
            handed.append(1)
            return values
        return None

    t0 = time.monotonic()
    ans = solve_fed(model, start=None, deadline=t0 + 1.0, incoming=incoming)
    assert time.monotonic() - t0 < 20.0  # interrupted, not left to run its cut rounds
    assert ans.status in (Status.feasible, Status.optimal, Status.time_limit_no_solution)
