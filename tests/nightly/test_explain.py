"""Every suggestion carries an explanation a broker can act on."""

from sqlalchemy import select

from allocator.nightly.run import NightlyOptions, run_nightly
from allocator.store import models as m
from allocator.store.engine import transaction
from nightly.helpers import load_book


def test_explanations_are_present_and_name_costs_alternatives_and_changes(engine):
    load_book(engine)
    out = run_nightly(engine, NightlyOptions(time_limit=10))
    with transaction(engine) as session:
        rows = list(session.execute(select(m.Suggestion).where(
            m.Suggestion.run_id == out.run_id)).scalars())
    assert rows
    for s in rows:
        assert s.reason
        e = s.explanation
        if s.action == "assign":
            assert e["provider"] == s.provider_id and e["cost"] == s.cost
            assert "quality" in e and "block" in e
            assert len(e["alternatives"]) <= 2
            for a in e["alternatives"]:
                assert {"provider", "cost", "status"} <= set(a)
            costs = [a["cost"] for a in e["alternatives"]]
            assert costs == sorted(costs)
        else:
            assert e["reason"] in ("no_eligible_offer", "capacity_exhausted", "cheaper_unmet")
            assert e["detail"] and e["change"]["sentence"]
            if e["reason"] == "capacity_exhausted":
                assert e["change"]["kind"] == "capacity" and e["change"]["extra"] > 0
    reasons = {s.explanation.get("reason") for s in rows if s.action == "unmet"}
    assert {"no_eligible_offer", "capacity_exhausted"} <= reasons
