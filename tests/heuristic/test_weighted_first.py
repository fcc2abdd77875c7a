"""Lexicographic phase 1 of the search runs the weighted solve first (issue 15).

Where the LP of the unmet term alone fits, its optimum rounded up to the unmet lattice bounds
the unmet term; the whole portfolio then solves the weighted problem first, and when that
answer leaves no more unmet than the bound, its unmet term is proven minimal and it is phase
1's answer (the zoo's lexicographic S market: 98,909 at 10 s, 1.57% above the bound, before;
the weighted solve finds the lexicographic optimum there in 5 s). Where the weighted optimum
trades unmet need for cost, the route must be refused and the tie-broken phase 1 run instead.
Both against the brute force of :mod:`tests.reference` on tiny markets.
"""

from __future__ import annotations

import pytest
from random_instances import random_instance
from reference import brute_force

from allocator.core.problem import Problem
from allocator.solvers import SolveParams, solve

WEIGHTED = "phase 1 solved the weighted problem first"
TIE_BROKEN = "phase 1 minimised the unmet term"
# seeds whose weighted optimum leaves more unmet than the lexicographic one (found by brute
# force over seeds 700-899: 11 of 200)
TRADING = (715, 723, 727, 730)


def _lexicographic(seed: int):
    instance = random_instance(seed, lexicographic=True)
    return instance, Problem.from_instance(instance)


def _weighted_reference(instance):
    policy = instance.policy.model_copy(update={"objective": "weighted"})
    return brute_force(instance.model_copy(update={"policy": policy}))


@pytest.mark.parametrize(("seed", "route"), [
    (700, True), (702, True), (704, True), (706, True), (708, True),
    (710, False),  # the weighted optimum's unmet is minimal, but the LP bound is below it
])
def test_weighted_route_claims_only_a_minimal_unmet_term(seed, route):
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    assert ref.objective is not None
    res = solve(p, SolveParams(solver="heuristic", time_limit=5, gap=0.0))
    assert res.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    assert res.extra["unmet_bound"] <= ref.terms["unmet"] + 1e-6
    assert (WEIGHTED in res.extra["lexicographic"]) is route
    if route:
        assert res.extra["unmet_proven"] is True
        assert res.extra["phases"][0]["status"] == "optimal"
        assert res.extra["phases"][0]["objective"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
        assert res.bound is not None and res.bound <= ref.objective + 1e-6


@pytest.mark.parametrize("seed", TRADING)
def test_weighted_answer_that_trades_unmet_for_cost_is_refused(seed, monkeypatch):
    instance, p = _lexicographic(seed)
    ref, weighted = brute_force(instance), _weighted_reference(instance)
    assert ref.objective is not None and weighted.objective is not None
    assert weighted.terms["unmet"] > ref.terms["unmet"] + 1e-6  # what the seed was chosen for
    # The tie-broken phase 1 must have time of its own after the weighted solve on any
    # machine: the weighted solve in at most 0.3 of 15 s (at 5 s, half of it, the phase was
    # skipped here on three of the four markets, and phase 2 alone found the optimum). Here
    # each solve ends when its work is done, in about 5 s.
    from allocator.heuristic import portfolio

    monkeypatch.setattr(portfolio, "WEIGHTED_FIRST_SHARE", 0.3)
    res = solve(p, SolveParams(solver="heuristic", time_limit=15, gap=0.0))
    assert WEIGHTED not in res.extra["lexicographic"]
    assert TIE_BROKEN in res.extra["lexicographic"]
    assert res.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    # the lexicographic optimum costs more than the weighted one; the bound stays below it
    assert res.objective >= weighted.objective - 1e-6
    assert res.bound is not None and res.bound <= ref.objective + 1e-6


@pytest.mark.parametrize("seed", TRADING[:2])
def test_auto_on_a_trading_market_is_the_lexicographic_optimum(seed):
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    res = solve(p, SolveParams(solver="auto", time_limit=10))
    assert WEIGHTED not in res.extra["lexicographic"]
    assert res.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    assert res.extra["unmet_proven"] is True


@pytest.mark.parametrize("seed", (700, 704, *TRADING[:2]))
def test_where_the_unmet_lp_does_not_fit_the_weighted_answer_only_competes(seed, monkeypatch):
    """Beyond LP_CAPPED_MAX_PAIRS (the L zoo) nothing can prove the weighted answer's unmet
    term: the weighted solve still runs first (at L the tie-broken search alone left 1,136,165
    unmet where the weighted one leaves 1,127,985), but the tie-broken phase 1 runs after it
    and the answer with less unmet is kept; the route is never claimed proven."""
    from allocator.heuristic import portfolio

    monkeypatch.setattr(portfolio, "LP_CAPPED_MAX_PAIRS", 0)
    # the weighted solve in at most 0.3 of 15 s, so that the tie-broken phase 1 has time of
    # its own however slow the machine (at 6 s, 0.6 of it, CI skipped it on two seeds; here
    # the solve ends when its work is done, in about 5 s)
    monkeypatch.setattr(portfolio, "WEIGHTED_UNPROVEN_SHARE", 0.3)
    runs: list[tuple[bool, str | None]] = []
    original = portfolio._Portfolio.__init__

    def spy(self, problem, params, phase1=None, search=True, start=None):
        runs.append((problem is p, params.objective, phase1 is not None))
        original(self, problem, params, phase1, search, start)

    monkeypatch.setattr(portfolio._Portfolio, "__init__", spy)
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    res = solve(p, SolveParams(solver="heuristic", time_limit=15, gap=0.0))
    # the weighted solve of the market itself, the tie-broken phase 1, phase 2
    assert runs == [(True, "weighted", False), (False, "weighted", False),
                    (True, None, True)]  # phase 2: the market's own (lexicographic) objective
    assert WEIGHTED not in res.extra["lexicographic"]
    assert res.terms["unmet"] == pytest.approx(ref.terms["unmet"], abs=1e-6)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    # the unmet bound is the tie-broken phase 1's, proven
    assert res.extra["unmet_bound"] is not None
    assert res.extra["unmet_bound"] <= ref.terms["unmet"] + 1e-6
    assert res.bound is not None and res.bound <= ref.objective + 1e-6


def _spy_phases(monkeypatch, p) -> list[tuple[bool, str | None, bool, bool]]:
    """Every portfolio the solve starts: (the market itself, objective, phase 2, searches)."""
    from allocator.heuristic import portfolio

    runs: list[tuple[bool, str | None, bool, bool]] = []
    original = portfolio._Portfolio.__init__

    def spy(self, problem, params, phase1=None, search=True, start=None):
        original(self, problem, params, phase1, search, start)
        runs.append((problem is p, params.objective, phase1 is not None, self.search))

    monkeypatch.setattr(portfolio._Portfolio, "__init__", spy)
    return runs


def test_no_time_for_phase_2_returns_the_proven_phase_1_answer(monkeypatch):
    """A phase is not started when its search time would be less than what starting it costs
    (at L, 2.6-3.6 s a portfolio: a 5 s limit took 11 s). Here every phase after the first
    is made too short: the weighted answer, proven minimal in unmet, is returned as it is and
    says that phase 2 did not search."""
    from allocator.heuristic import portfolio

    monkeypatch.setattr(portfolio, "MIN_PHASE_S", 1e6)
    monkeypatch.setattr(portfolio, "phase_overhead", lambda n_pairs: 0.0)
    instance, p = _lexicographic(700)
    ref = brute_force(instance)
    runs = _spy_phases(monkeypatch, p)
    res = solve(p, SolveParams(solver="heuristic", time_limit=5, gap=0.0))
    assert runs == [(True, "weighted", False, True), (True, None, True, False)]
    assert WEIGHTED in res.extra["lexicographic"]
    assert "phase 2 had no time left to search" in res.extra["lexicographic"]
    assert res.extra["unmet_proven"] is True
    assert res.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
    assert res.bound is not None and res.bound <= ref.objective + 1e-6
    assert res.extra["answer_from"] == "phase 1"


@pytest.mark.parametrize("seed", TRADING[:2])
def test_no_time_for_phase_1_keeps_the_weighted_answer_unproven(seed, monkeypatch):
    """With no time for a phase 1 of its own, the weighted answer stands for it; where that
    answer trades unmet need for cost, nothing proves its unmet term, and the answer says so
    (never optimal), with a bound that still holds for the lexicographic optimum."""
    from allocator.heuristic import portfolio

    monkeypatch.setattr(portfolio, "MIN_PHASE_S", 1e6)
    monkeypatch.setattr(portfolio, "phase_overhead", lambda n_pairs: 0.0)
    instance, p = _lexicographic(seed)
    ref = brute_force(instance)
    runs = _spy_phases(monkeypatch, p)
    res = solve(p, SolveParams(solver="heuristic", time_limit=5, gap=0.0))
    assert runs == [(True, "weighted", False, True), (True, None, True, False)]
    assert "the weighted solve's answer stands for it" in res.extra["lexicographic"]
    assert res.extra["unmet_proven"] is False
    assert res.extra["phases"][0]["status"] == "feasible"
    assert res.status.value == "feasible"
    assert res.terms["unmet"] > ref.terms["unmet"] + 1e-6  # the weighted optimum's trade
    assert res.bound is not None and res.bound <= ref.objective + 1e-6


def _dearer_twin(p, chosen):
    """An answer with the same unmet term as ``chosen`` that costs more: one served need moved
    to another eligible pair (None if no such move is feasible)."""
    from allocator.core.evaluate import evaluate

    base = evaluate(p, chosen)
    order, start = p.pairs_by_need
    for n in range(p.n_needs):
        if chosen[n] < 0:
            continue
        for k in order[start[n]:start[n + 1]]:
            if k == chosen[n]:
                continue
            other = chosen.copy()
            other[n] = k
            ev = evaluate(p, other)
            if ev.feasible and ev.objective > base.objective + 1.0 and \
                    ev.terms["unmet"] == pytest.approx(base.terms["unmet"], abs=1e-9):
                return ev
    return None


@pytest.mark.parametrize("seed", (708, 714))
def test_a_tie_in_the_unmet_term_keeps_the_cheaper_answer(seed, monkeypatch):
    """Phase 1's own answer and the weighted one may leave the same unmet; phase 2 must then
    start from the cheaper one (the lexicographic order: unmet, then the full objective).
    Seen on a 250-need market: both left 5,310 unmet, phase 1's own answer cost 0.6% more,
    and phase 2, started from it, returned it in 10 s. Here phase 1's own run is made to return
    a dearer twin of the weighted answer, and the LP bound on the unmet term is hidden so that
    phase 1 runs."""
    from allocator.core.evaluate import chosen_from_solution, to_solution
    from allocator.core.result import Result, Status
    from allocator.heuristic import portfolio

    instance, p = _lexicographic(seed)
    monkeypatch.setattr(portfolio, "_unmet_lp_bound", lambda problem, time_limit: None)
    monkeypatch.setattr(portfolio, "phase_overhead", lambda n_pairs: 0.0)
    seen: dict = {}
    run = portfolio._Portfolio.run

    def fake_run(self):
        if self.problem is p and self.params.objective == "weighted":
            res = run(self)  # the weighted solve
            seen["weighted"] = evaluate(p, chosen_from_solution(p, res.solution))
            return res
        if self.phase1 is None:  # phase 1's own run: a dearer twin of the weighted answer
            seen["start"] = self.start
            twin = _dearer_twin(p, seen["weighted"].chosen)
            assert twin is not None
            seen["twin"] = twin
            return Result(status=Status.feasible, solver="heuristic", objective=twin.objective,
                          terms=dict(twin.terms), solution=to_solution(p, twin))
        seen["phase1"] = self.phase1
        return run(self)

    from allocator.core.evaluate import evaluate

    monkeypatch.setattr(portfolio._Portfolio, "run", fake_run)
    res = solve(p, SolveParams(solver="heuristic", time_limit=10, gap=0.0))
    weighted = seen["weighted"]
    # phase 1 was handed the weighted answer as its start
    assert seen["start"] is not None and (seen["start"] == weighted.chosen).all()
    # phase 2 started from the weighted answer, not the dearer twin
    p1 = seen["phase1"]
    assert p1.route == "unmet, weighted answer kept"
    assert p1.evaluation.objective == pytest.approx(weighted.objective, abs=1e-9)
    assert p1.evaluation.objective < seen["twin"].objective
    assert res.objective <= weighted.objective + 1e-6


def test_phase_1_gets_most_of_the_time_once_the_weighted_answer_is_proven(monkeypatch):
    """Where the weighted answer is proven optimal, phase 2 under its unmet term is solved
    already, so phase 1 gets PHASE1_SHARE_PROVEN of the time left, up to half the limit
    (DESIGN.md clarification 6); it had half the time left before, and on a 250-need market a
    20 s solve returned at 14.9 s with its unmet term unproven."""
    import time

    from allocator.heuristic import portfolio

    instance, p = _lexicographic(710)  # the weighted optimum is proven; the LP bound is not met
    monkeypatch.setattr(portfolio, "phase_overhead", lambda n_pairs: 0.0)
    original = portfolio._Portfolio.__init__
    limits: list = []
    started = time.monotonic()

    def spy(self, problem, params, phase1=None, search=True, start=None):
        limits.append((problem is p, params.objective, phase1 is not None,
                       float(params.time_limit), time.monotonic() - started))
        original(self, problem, params, phase1, search, start)

    monkeypatch.setattr(portfolio._Portfolio, "__init__", spy)
    weighted_status = []
    run = portfolio._Portfolio.run

    def spy_run(self):
        res = run(self)
        if self.problem is p and self.params.objective == "weighted":
            weighted_status.append(res.status)
        return res

    monkeypatch.setattr(portfolio._Portfolio, "run", spy_run)
    total = 20.0
    solve(p, SolveParams(solver="auto", time_limit=total))
    assert weighted_status and weighted_status[0].value == "optimal"
    own = [x for x in limits if not x[0] and not x[2]]
    assert len(own) == 1
    _, _, _, limit, at = own[0]
    left = total - at
    assert limit == pytest.approx(min(total / 2, portfolio.PHASE1_SHARE_PROVEN * left), rel=0.02)
    assert limit <= total / 2
    assert limit > left / 2  # the rule before
