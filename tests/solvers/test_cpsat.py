"""CP-SAT on the plain model (``allocator.exact.cpsat``) against brute force and the checker.

The integer scaling is tested on its own (no OR-Tools needed); the solver runs in a spawned
child process, so each solve costs about a second of start-up: a handful of instances only.
"""

from __future__ import annotations

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.check import check
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.exact import cpsat

pytestmark = pytest.mark.skipif(not cpsat.available(), reason="OR-Tools is not installed")

TOL = 1e-6


def _with_travel_factor(seed: int, tf: float):
    instance = random_instance(seed, placements=False)
    offers = [o.model_copy(update={"travel_factor": tf}) for o in instance.offers]
    return instance.model_copy(update={"offers": offers})


def test_scale_is_exact_on_two_decimal_data():
    """Random instances carry prices and quantities with two decimals: 10**4 makes costs whole."""
    problem = Problem.from_instance(random_instance(3))
    model = cpsat.scale(problem)
    assert model.exact
    assert model.cost_scale <= cpsat.MAX_COST_SCALE
    costs = problem.pair_cost_x - problem.transfer_penalty * problem.pair_is_current
    folded = costs - (problem.need_penalty * problem.need_q)[problem.pair_need]
    np.testing.assert_allclose(model.pair_cost / model.cost_scale, folded, atol=1e-9)
    assert model.constant / model.cost_scale == pytest.approx(model.constant_exact, abs=1e-9)


def test_scale_rounds_conservatively_when_not_exact():
    """A travel factor of 4/3 has no finite decimal form: uses round up, capacities down."""
    problem = Problem.from_instance(_with_travel_factor(2, 4.0 / 3.0))
    model = cpsat.scale(problem)
    assert not model.exact
    assert model.row_scale == cpsat.MAX_ROW_SCALE


@pytest.mark.parametrize("seed,lexicographic", [(1, False), (4, False), (11, False),
                                                (2, True), (7, True)])
def test_cpsat_reaches_the_brute_force_optimum(seed, lexicographic):
    instance = random_instance(seed, lexicographic=lexicographic)
    reference = brute_force_allocation(instance)
    result = cpsat.solve(Problem.from_instance(instance), SolveParams(time_limit=20))
    assert result.status == Status.optimal, result.message
    assert result.objective == pytest.approx(reference.objective, rel=TOL, abs=TOL)
    assert result.bound is not None
    assert result.bound <= result.objective + TOL
    assert result.extra["exact"]
    report = check(instance, result.solution, reported=result)
    assert report.ok, report.summary()


def test_inexact_scaling_returns_a_feasible_solution_without_a_bound():
    instance = _with_travel_factor(2, 4.0 / 3.0)
    problem = Problem.from_instance(instance)
    result = cpsat.solve(problem, SolveParams(time_limit=10))
    assert result.status.has_solution
    report = check(instance, result.solution, reported=result)
    assert report.ok, report.summary()
    assert not cpsat.scale(problem).exact
    assert result.bound is None
    assert result.status == Status.feasible
    reference = brute_force_allocation(instance)
    assert result.objective >= reference.objective - TOL * max(1.0, abs(reference.objective))


def test_design_problems_are_refused_before_starting():
    instance = random_instance(1, design=True, n_scenarios=0)
    result = cpsat.solve(Problem.from_instance(instance, mode="design"), SolveParams())
    assert result.status == Status.error
    assert "allocation model" in result.message
