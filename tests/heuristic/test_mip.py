"""HiGHS next to the search (``allocator.heuristic.mip``): optimal on tiny instances, fed
answers are used, and the deadline interrupts it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from random_instances import random_instance
from reference import brute_force_allocation

from allocator.core.evaluate import evaluate
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.exact.model import build, chosen_from_values, values_from_chosen
from allocator.heuristic.construct import regret_greedy
from allocator.heuristic.data import from_problem, to_problem_chosen
from allocator.heuristic.mip import blocks_of, solve_blocks, solve_fed

from .market import market_instance


def _weighted_seeds(count: int) -> list[int]:
    return [s for s in range(100) if random_instance(s).policy.objective == "weighted"][:count]


def _greedy_once(problem: Problem):
    """(model, the greedy's column values, ``incoming`` handing them over once)."""
    data = from_problem(problem)
    model = build([(problem, 1.0)])
    values = values_from_chosen(model, [to_problem_chosen(data, regret_greedy(data))])
    handed = []

    def incoming():
        if not handed:
            handed.append(1)
            return values
        return None

    return model, values, incoming


def test_fed_mip_takes_answers_and_stops_at_the_deadline() -> None:
    model, _, incoming = _greedy_once(Problem.from_instance(market_instance(1500, 60, 4,
                                                                            seed=3)))
    t0 = time.monotonic()
    ans = solve_fed(model, start=None, deadline=t0 + 1.0, incoming=incoming)
    assert time.monotonic() - t0 < 20.0  # interrupted, not left to run its cut rounds
    assert ans.status in (Status.feasible, Status.optimal, Status.time_limit_no_solution)


def _multi_block_seeds(count: int) -> list[int]:
    out = []
    for s in range(200):
        instance = random_instance(s)
        if instance.policy.objective != "weighted":
            continue
        if len(blocks_of(build([(Problem.from_instance(instance), 1.0)]))) >= 2:
            out.append(s)
        if len(out) == count:
            break
    return out


@pytest.mark.parametrize("seed", _multi_block_seeds(8))
def test_blocks_partition_the_model(seed: int) -> None:
    """Every column in exactly one block, no row with columns of two blocks, smallest first."""
    model = build([(Problem.from_instance(random_instance(seed)), 1.0)])
    parts = blocks_of(model)
    assert len(parts) >= 2
    label = np.full(model.n_cols, -1)
    for i, cols in enumerate(parts):
        assert (label[cols] == -1).all()
        label[cols] = i
    assert (label >= 0).all()
    A = model.A.tocsr()
    for r in range(A.shape[0]):
        assert len(set(label[A.indices[A.indptr[r]:A.indptr[r + 1]]])) <= 1
    assert [len(c) for c in parts] == sorted(len(c) for c in parts)


@pytest.mark.parametrize(("how", "seed"), [("whole", s) for s in _weighted_seeds(8)]
                         + [("blocks", s) for s in _multi_block_seeds(8)])
def test_fed_mip_reaches_the_brute_force_optimum(how: str, seed: int) -> None:
    """On the whole model, and block by block (markets of two blocks or more), HiGHS proves
    the brute-force optimum; block by block, its summed bound (offset included) is it."""
    instance = random_instance(seed)
    problem = Problem.from_instance(instance)
    ref = brute_force_allocation(instance)
    model, start, _ = _greedy_once(problem)
    solve = solve_fed if how == "whole" else solve_blocks
    ans = solve(model, start=start, deadline=time.monotonic() + 30, incoming=lambda: None)
    assert ans.blocks == 1 if how == "whole" else ans.blocks >= 2
    assert ans.status == Status.optimal
    ev = evaluate(problem, chosen_from_values(model, ans.values)[0])
    assert ev.feasible
    assert ev.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
    assert ans.objective == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)
    assert ans.bound <= ref.objective + 1e-6 * max(1.0, abs(ref.objective))
    if how == "blocks":
        assert ans.bound == pytest.approx(ref.objective, rel=1e-6, abs=1e-6)


def test_blocks_without_an_answer_keep_the_newest_one_and_claim_no_bound(monkeypatch) -> None:
    """A block HiGHS ends without an answer or a bound (no time) keeps the search's newest
    answer (handed over after the start) on its columns; the whole answer is feasible, not
    optimal, and claims no bound."""
    from allocator.heuristic import mip

    problem = Problem.from_instance(random_instance(_multi_block_seeds(1)[0]))
    model, better, incoming = _greedy_once(problem)
    start = values_from_chosen(model, [np.full(problem.n_needs, -1)])  # everyone unmet
    def no_time(block, **kwargs):
        return mip.MipAnswer(status=Status.time_limit_no_solution, values=None, objective=None,
                             bound=None, injected=0)

    monkeypatch.setattr(mip, "solve_fed", no_time)
    ans = solve_blocks(model, start=start, deadline=time.monotonic() + 5, incoming=incoming)
    assert ans.status == Status.feasible
    assert ans.bound is None
    assert np.allclose(ans.values, better)
    assert ans.objective == pytest.approx(float(model.c @ better + model.offset))
    assert ans.objective < float(model.c @ start + model.offset)


def test_a_warm_start_highs_misreports_is_solved_again_without_it() -> None:
    """highspy 1.16, warm-started from this assignment of the extreme market
    ``zoo-xcapbound-2`` (the search's answer at the time), hands back the start's values
    (worth 49,608.65) with an objective of 48,718.64, "Optimal", and that as its bound: below
    the LP bound (49,047.51) and the optimum (49,072.3). ``auto`` read it as proven and stopped
    its searches at 0.6 s of 10. Whatever HiGHS does, the answer must be worth what it says,
    and its bound no higher than what it found and no lower than a defect's."""
    import json
    from pathlib import Path

    from allocator.core.evaluate import chosen_from_solution
    from allocator.core.result import Solution
    from allocator.generate import generate

    inst = generate("S", needs=250, seed=2, blocks=True, family="xcapbound")
    p = Problem.from_instance(inst)
    doc = json.loads((Path(__file__).parents[1] / "data" / "xcapbound2_highs_start.json")
                     .read_text())
    chosen = chosen_from_solution(p, Solution(assignment=doc["assignment"], block=doc["block"]))
    model = build([(p, 1.0)])
    start = values_from_chosen(model, [chosen])
    worth = float(model.c @ start + model.offset)
    assert worth == pytest.approx(49_608.645, abs=0.01)
    ans = solve_fed(model, start=start, deadline=time.monotonic() + 3.0,
                    incoming=lambda: None, gap=1e-6, threads=1, seed=0)
    assert ans.values is not None and ans.objective is not None
    assert ans.objective == pytest.approx(float(model.c @ ans.values + model.offset), abs=1e-6)
    assert evaluate(p, chosen_from_values(model, ans.values)[0]).feasible
    if ans.bound is not None:
        assert 49_047.5 <= ans.bound <= ans.objective + 1e-6
    if ans.status == Status.optimal:
        assert ans.objective <= 49_072.31 + 0.01
    assert ans.objective < worth  # solved, not the start handed back
