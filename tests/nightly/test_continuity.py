"""Pins, moves and rejected pairs in the model, on a market small enough to solve by hand.

Two providers sell personal care in zone z: ``dear`` at 30 an hour and ``cheap`` at 10, each
with 20 hours. Three people are in care with ``dear`` (5 hours each); one new referral of 8
hours waits. Pinned, the referral goes to ``cheap`` (the cheaper one with room). With
``max_moves=K`` the K people moved go to ``cheap`` (saving 5 x 20 = 100 a week each) as long
as it has room: after the referral (8 h) it has 12 hours, so at most 2 can move.
"""

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.instance.schema import Instance
from allocator.nightly.continuity import nightly_model, restrict
from allocator.nightly.run import NightlyOptions, plan
from allocator.store.book import Pin

MARKET = {
    "zones": [{"id": "z"}],
    "providers": [{"id": "dear", "quality": 80}, {"id": "cheap", "quality": 80}],
    "offers": [
        {"provider": "dear", "zone": "z", "service": "personal_care", "unit": "hours",
         "price": 30, "capacity": 20, "max_complexity": "highly_complex"},
        {"provider": "cheap", "zone": "z", "service": "personal_care", "unit": "hours",
         "price": 10, "capacity": 20, "max_complexity": "highly_complex"},
    ],
    "needs": [
        *({"id": f"c{i}", "kind": "package", "zone": "z", "service": "personal_care",
           "complexity": "complex", "care_group": "OP", "quantity": 5,
           "current_provider": "dear"} for i in (1, 2, 3)),
        {"id": "new", "kind": "package", "zone": "z", "service": "personal_care",
         "complexity": "complex", "care_group": "OP", "quantity": 8},
    ],
    "policy": {"unmet_penalty": {"standard": 100}},
}
PINS = {f"c{i}": Pin("dear", "dear/z/personal_care") for i in (1, 2, 3)}


@pytest.fixture
def market() -> Instance:
    return Instance.model_validate(MARKET)


def by_need(planned):
    return {s.need_id: s for s in planned.suggestions}


def test_pinned_people_stay_and_the_referral_goes_to_the_cheaper_offer(market):
    planned = plan(market, PINS, set(), NightlyOptions(time_limit=10))
    rows = by_need(planned)
    assert set(rows) == {"new"}
    assert rows["new"].action == "assign" and rows["new"].provider_id == "cheap"
    assert planned.result.objective == pytest.approx(3 * 5 * 30 + 8 * 10)


@pytest.mark.parametrize("k, moved", [(0, 0), (1, 1), (2, 2), (3, 2)])
def test_max_moves_moves_at_most_k_with_the_saving_stated(market, k, moved):
    planned = plan(market, PINS, set(), NightlyOptions(time_limit=10, max_moves=k))
    moves = [s for s in planned.suggestions if s.action == "move"]
    assert len(moves) == moved
    for s in moves:
        assert (s.from_provider_id, s.provider_id) == ("dear", "cheap")
        assert s.saving == pytest.approx(100.0)
    assert planned.baseline_objective - planned.result.objective == pytest.approx(100 * moved)


def test_a_rejected_pair_is_not_suggested(market):
    planned = plan(market, PINS, {("new", "cheap")}, NightlyOptions(time_limit=10))
    new = by_need(planned)["new"]
    # dear has 5 hours left, the referral needs 8: unmet, and the rejection is named
    assert new.action == "unmet"
    assert new.explanation["rejected_providers"] == ["cheap"]
    assert "dear would need 3 more hours" in new.reason


def test_a_rejection_never_unpins_a_person_in_care(market):
    problem = Problem.from_instance(market)
    nm = nightly_model(problem, PINS, {("c1", "dear")})
    assert nm.current_pair[0] >= 0
    assert nm.problem.need_ids[nm.problem.pair_need[nm.current_pair[0]]] == "c1"


def test_a_person_whose_provider_became_ineligible_is_displaced(market):
    doc = {**MARKET, "policy": {"unmet_penalty": {"standard": 100},
                                "min_framework_quality": 0}}
    doc["providers"] = [{"id": "dear", "quality": 10}, {"id": "cheap", "quality": 80}]
    doc["policy"]["min_framework_quality"] = 50
    planned = plan(Instance.model_validate(doc), PINS, set(), NightlyOptions(time_limit=10))
    rows = by_need(planned)
    moved = [rows[c] for c in ("c1", "c2", "c3")]
    assert all(s.from_provider_id == "dear" for s in moved)
    assert all("can no longer serve" in s.reason for s in moved)
    # cheap has 20 hours: the referral (8) and two people (10) fit; the third (5 hours, 500 a
    # week of penalty) is left rather than the referral (8 hours, 800)
    assert sorted(s.action for s in moved) == ["move", "move", "unmet"]
    assert rows["new"].action == "assign"


def test_restrict_keeps_only_the_chosen_pairs(market):
    problem = Problem.from_instance(market)
    keep = np.zeros(problem.n_pairs, dtype=bool)
    keep[::2] = True
    small = restrict(problem, keep)
    assert small.n_pairs == keep.sum()
    assert np.array_equal(small.pair_offer, problem.pair_offer[keep])
    assert small.n_needs == problem.n_needs
