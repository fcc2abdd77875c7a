"""Policies: first-come against a case worked by hand; the nightly run's answer is the exact
optimum of the night; a custom policy in a few lines."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.simulate import SimulationConfig, simulate
from allocator.simulate.book import Book, Night
from allocator.simulate.engine import _first_mask, _offer
from allocator.simulate.policies import FirstCome, Nightly, parse_policy
from allocator.solvers import SolveParams, solve

from .markets import devon_sample, dps_market

# Arrival order R1..R4, then H (a hospital discharge, the last to arrive).
NEEDS = [{"id": "R1", "quantity": 6}, {"id": "R2", "quantity": 4}, {"id": "R3", "quantity": 5},
         {"id": "R4", "quantity": 6}, {"id": "H", "quantity": 3,
                                       "priority": "hospital_discharge"}]


def waiting_book(inst):
    problem = Problem.from_instance(inst)
    book = Book(problem, problem.offer_capacity)
    book.arrive(np.arange(problem.n_needs), 0)
    return problem, book


def placed(problem, book):
    return {problem.need_ids[n]: problem.provider_ids[problem.pair_provider[book.pair[n]]]
            for n in book.in_care()}


def test_first_come_by_hand():
    """DPS score 60 * quality / 100 + 40 * cheapest / price over the offers with room.

    H first (hospital discharge): A 54 + 40*18/25 = 82.8, B 36 + 40 = 72, C 24 + 40*18/18 = 64
    -> A (7 h left). R1 (6 h; C has 5): cheapest 20: A 54 + 32 = 86, B 76 -> A (1 h left).
    R2 (4 h): B and C, cheapest 18: B 36 + 36 = 72, C 64 -> B (6 h left). R3 (5 h): B 72,
    C 64 -> B (1 h left). R4 (6 h): no offer has 6 h -> waits.
    """
    problem, book = waiting_book(dps_market(NEEDS))
    first = _first_mask(problem, SimulationConfig())
    placed_n, moves = _offer(FirstCome(60, 40), book, 0, first)
    assert (placed_n, moves) == (4, 0)
    assert placed(problem, book) == {"H": "A", "R1": "A", "R2": "B", "R3": "B"}
    assert [problem.need_ids[n] for n in book.waiting()] == ["R4"]
    np.testing.assert_allclose(book.offer_room(), [1, 1, 5])


def test_first_come_price_only_and_quality_only():
    """All price points: the cheapest with room; all quality points: the best provider."""
    problem, book = waiting_book(dps_market(NEEDS[:1]))
    night = Night(book, 0, np.array([0]))
    FirstCome(0, 100).decide(night)
    assert placed(problem, book) == {"R1": "B"}  # C (cheapest) has only 5 h
    problem, book = waiting_book(dps_market(NEEDS[:1]))
    FirstCome(100, 0).decide(Night(book, 0, np.array([0])))
    assert placed(problem, book) == {"R1": "A"}


def test_nightly_is_the_exact_optimum_of_the_night():
    """On an empty book, the nightly policy's placements cost what the exact solve costs."""
    inst = dps_market(NEEDS)
    problem, book = waiting_book(inst)
    policy = Nightly(None, SolveParams(solver="highs", gap=0, threads=1))
    policy.decide(Night(book, 0, book.waiting()))
    exact = solve(Problem.from_instance(inst), SolveParams(solver="highs", gap=0))
    served = {problem.need_ids[n] for n in book.in_care()}
    assert served == set(exact.solution.assignment)
    # first-come leaves more unmet penalty: R4 (6 h) waits, where the optimum fits 4 + 6 in B
    assert policy.solves == 1


def test_parse_policy():
    assert parse_policy("first_come").name == "first_come"
    assert parse_policy("nightly").name == "nightly"
    assert parse_policy("nightly_moves:3").name == "nightly_moves:3"
    for bad in ("foo", "nightly_moves", "nightly_moves:-1", "nightly_moves:x", "first_come:2"):
        with pytest.raises(ValueError):
            parse_policy(bad)


class FillUp:
    """A custom policy in a few lines: the offer with least room that still fits."""

    name = "fill_up"

    def decide(self, night):
        for n in night.referrals:
            ks = night.pairs_with_room(n)
            if len(ks):
                room = night.book.offer_room()[night.problem.pair_offer[ks]]
                night.place(n, int(ks[np.argmin(room)]))


def test_custom_policy():
    result = simulate(devon_sample(), ["first_come", FillUp()],
                      SimulationConfig(weeks=2, replications=2, seed=4))
    assert result.policies == ("first_come", "fill_up")
    assert result.policies_summary["fill_up"]["placed_mean"] > 0
    with pytest.raises(ValueError, match="not a policy"):
        simulate(devon_sample(), [object()], SimulationConfig(weeks=1, replications=1))


def test_moves_that_save_money_happen_on_nights_when_nobody_waits():
    """nightly_moves:K runs every night, not only on nights with referrals waiting: 60 people
    in care with B at 25 an hour, A at 20 with room for all, no transfer penalty, and far
    more capacity than demand (nobody waits). Three move a night, 21 a week, until nobody is
    left to move (an independent check found 24 moves in six weeks, all on nights with
    referrals); under nightly nobody moves."""
    from allocator.instance.schema import Instance
    from allocator.simulate import SimulationConfig, simulate

    offer = {"zone": "Z", "service": "personal_care", "unit": "hours",
             "max_complexity": "highly_complex", "capacity": 1000}
    market = Instance.model_validate({
        "name": "moves",
        "zones": [{"id": "Z"}],
        "providers": [{"id": "A", "quality": 80}, {"id": "B", "quality": 80}],
        "offers": [{**offer, "provider": "A", "price": 20},
                   {**offer, "provider": "B", "price": 25}],
        "needs": [{"id": f"n{k}", "kind": "package", "zone": "Z", "service": "personal_care",
                   "complexity": "less_complex", "care_group": "OP", "quantity": 1,
                   "current_provider": "B"} for k in range(60)],
        "policy": {"unmet_penalty": {"standard": 60}},
    })
    res = simulate(market, ["nightly", "nightly_moves:3"],
                   SimulationConfig(weeks=2, replications=1, seed=3, provider_exit_rate=0),
                   workers=1)
    w = res.weekly.set_index(["policy", "week"])["moves"]
    assert w.loc["nightly"].sum() == 0
    assert list(w.loc["nightly_moves:3"]) == [21, 21]
    assert res.weekly["waiting_people"].max() == 0


def test_tenants_are_not_moved_home_to_save_money():
    """Supported living: 6 tenants in scheme B at 900 a week, scheme A at 700 with room for
    all, no transfer penalty, nobody waiting. A move would save 200 a week each, but a tenant
    moves home only to let a referral in: under nightly_moves:3 nobody moves (on the
    Devon-like county such moves filled the vacancies later placements needed). The same
    market in hours moves everyone (the test above)."""
    from allocator.instance.schema import Instance
    from allocator.simulate import SimulationConfig, simulate

    offer = {"zone": "Z", "service": "supported_living", "unit": "beds",
             "max_complexity": "highly_complex", "capacity": 8, "care_groups": ["LD"]}
    market = Instance.model_validate({
        "name": "tenants",
        "zones": [{"id": "Z"}],
        "providers": [{"id": "A", "quality": 80}, {"id": "B", "quality": 80}],
        "offers": [{**offer, "provider": "A", "price": 700, "scheme": "A house"},
                   {**offer, "provider": "B", "price": 900, "scheme": "B house"}],
        "needs": [{"id": f"t{k}", "kind": "placement", "zone": "Z",
                   "service": "supported_living", "complexity": "complex", "care_group": "LD",
                   "quantity": 1, "priority": "standard_bed", "current_provider": "B"}
                  for k in range(6)],
        "policy": {"unmet_penalty": {"standard": 60, "standard_bed": 6000},
                   "transfer_penalty": 0},
    })
    cfg = SimulationConfig(weeks=1, replications=1, seed=3, provider_exit_rate=0,
                           scheme_opening_rate=0, mean_weeks={"supported_living": 10_000})
    res = simulate(market, ["nightly_moves:3"], cfg, workers=1)
    assert res.weekly["moves"].sum() == 0
    assert res.weekly["waiting_people"].max() == 0
