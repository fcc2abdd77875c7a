"""solve_design: brute force on tiny instances, properties, published CFLP optima.

The brute-force reference (:mod:`reference`) enumerates the awards y and the assignments x of
every scenario and solves the rest (V, b) by an independent LP; it shares no code with the
engine. The extensive form must match it; the decompositions (Benders, groups) must return a
design at least as expensive as the optimum with a bound at most the optimum, and the optimum
itself whenever they claim optimality. Every returned solution passes the independent checker.
"""

from __future__ import annotations

import pytest
from benchmark_files import orlib_file
from random_instances import random_instance
from reference import brute_force_design

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.design.designs import Design, apply_design
from allocator.design.recourse import as_contracts
from allocator.design.scenarios import generate_scenarios, with_scenarios
from allocator.design.solve import DesignParams, solve_design
from allocator.generate.orlib import import_cap, known_value_of
from allocator.instance.schema import Scenario
from allocator.solvers import SolveParams, solve

from .markets import designs, tiny_market

TOL = 1e-6


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(b))


@pytest.mark.parametrize("method", ["extensive", "benders", "groups"])
def test_matches_brute_force_on_tiny_design_instances(method):
    problems = []
    for seed in range(40):
        inst = random_instance(seed, design=True, n_scenarios=2 if seed % 2 else 1)
        if method == "benders" and inst.policy.objective != "weighted":
            continue  # Benders needs the weighted objective (lexicographic goes to groups)
        ref = brute_force_design(inst)
        res = solve_design(inst, DesignParams(method=method, group_size=1, time_limit=30))
        if ref.objective is None:
            if res.status.has_solution:
                problems.append(f"seed {seed}: infeasible by brute force, got {res.summary()}")
            continue
        if not res.status.has_solution:
            problems.append(f"seed {seed}: optimum {ref.objective}, got {res.summary()}")
            continue
        report = check(inst, res.solution, reported=res)
        if not report.ok:
            problems.append(f"seed {seed}: checker: {report.summary()}")
        exact = method == "extensive" or res.status == Status.optimal
        if exact and not close(res.objective, ref.objective):
            problems.append(f"seed {seed}: {res.summary()} != optimum {ref.objective}")
        if res.objective < ref.objective - TOL * max(1, abs(ref.objective)):
            problems.append(f"seed {seed}: {res.objective} below the optimum {ref.objective}")
        if res.bound is not None and res.bound > ref.objective + TOL * max(1, abs(ref.objective)):
            problems.append(f"seed {seed}: bound {res.bound} above the optimum {ref.objective}")
    assert not problems, "\n".join(problems)


def _optimum(inst) -> float | None:
    res = solve_design(inst, DesignParams(method="extensive", time_limit=30, gap=0.0))
    return res.objective if res.status == Status.optimal else None


def test_adding_a_bid_never_raises_the_optimum():
    checked = 0
    for seed in range(60):
        inst = random_instance(seed, design=True, n_scenarios=seed % 3)
        if len(inst.block_bids) < 2 or inst.policy.objective != "weighted":
            continue
        full = _optimum(inst)
        fewer = _optimum(inst.model_copy(update={"block_bids": inst.block_bids[:-1]}))
        if fewer is None:
            continue
        assert full is not None and full <= fewer + TOL * max(1.0, abs(fewer)), seed
        checked += 1
    assert checked >= 10


def test_max_providers_zero_reproduces_all_framework():
    market = tiny_market()
    scenarios = generate_scenarios(market, 3, seed=5)
    mixed = designs()["mixed"]
    lots = [lot.model_copy(update={"framework": True,
                                   "block": lot.block.model_copy(update={"max_providers": 0,
                                                                         "min_providers": 0,
                                                                         "min_share": 0.0})})
            for lot in mixed.lots]
    closed = Design(name="no block", lots=lots, bid_rules=mixed.bid_rules)
    framework = designs()["all_framework"]
    a = solve_design(apply_design(market, closed), DesignParams(time_limit=30), scenarios)
    b = solve_design(apply_design(market, framework), DesignParams(time_limit=30), scenarios)
    assert a.status == b.status == Status.optimal
    assert a.solution.awards == {}
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


def test_one_base_scenario_recourse_is_the_allocation_optimum():
    market = tiny_market()
    for name in ("mixed", "all_block"):
        inst = with_scenarios(apply_design(market, designs()[name]),
                              [Scenario(id="base", weight=1.0)])  # the base needs
        res = solve_design(inst, DesignParams(time_limit=30, gap=0.0))
        assert res.status == Status.optimal
        recourse = res.objective - res.terms["block"]
        alloc = as_contracts(inst, res.solution.awards)
        best = solve(Problem.from_instance(alloc), SolveParams(time_limit=30, gap=0.0))
        assert best.status == Status.optimal
        assert recourse == pytest.approx(best.objective - best.terms["block"], rel=1e-9)


def test_time_limit_returns_best_design_and_bound():
    market = tiny_market()
    inst = apply_design(market, designs()["all_block"])
    res = solve_design(inst, DesignParams(method="benders", time_limit=0.5, max_iterations=1),
                       generate_scenarios(market, 4, seed=1))
    assert res.status.has_solution and res.bound is not None
    assert res.bound <= res.objective
    assert check(with_scenarios(inst, generate_scenarios(market, 4, seed=1)), res.solution,
                 reported=res).ok


def test_unreachable_lot_limits_are_reported():
    market = tiny_market()
    design = designs()["mixed"]
    lots = [lot.model_copy(update={"block": lot.block.model_copy(update={"min_share": 0.99})})
            if lot.id == "hours" else lot for lot in design.lots]
    res = solve_design(apply_design(market, Design(name="x", lots=lots,
                                                   bid_rules=design.bid_rules)))
    assert res.status == Status.infeasible
    assert "lot hours" in res.message


CFLP = [("holmberg/p1", 8848.0), ("cap71.txt", 932615.75)]


@pytest.mark.parametrize(("file", "optimum"), CFLP)
def test_cflp_single_source_published_optimum(file, optimum):
    path = orlib_file(f"cflp/{file}")
    inst = import_cap(path)[0]
    assert known_value_of(inst).best_known == pytest.approx(optimum)
    res = solve_design(inst, DesignParams(time_limit=60))
    assert res.status == Status.optimal
    assert inst.benchmark.original_objective(res.objective) == pytest.approx(optimum, rel=1e-7)
    assert check(inst, res.solution, reported=res).ok
