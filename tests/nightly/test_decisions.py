"""Accept and reject: the book changes, and the next run respects the decision."""

import pytest
from sqlalchemy import select

from allocator.nightly.decisions import DecisionError, accept, end_need, reject
from allocator.nightly.run import NightlyOptions, run_nightly
from allocator.store import book
from allocator.store import models as m
from allocator.store.engine import transaction
from nightly.helpers import load_book

OPTS = NightlyOptions(time_limit=10)


def suggestion_list(engine, run_id, action=None):
    with transaction(engine) as session:
        q = select(m.Suggestion).where(m.Suggestion.run_id == run_id)
        if action:
            q = q.where(m.Suggestion.action == action)
        return list(session.execute(q.order_by(m.Suggestion.seq)).scalars())


def test_accept_makes_the_suggestion_current_and_the_next_run_keeps_it(engine):
    load_book(engine)
    first = run_nightly(engine, OPTS)
    chosen = suggestion_list(engine, first.run_id, "assign")[0]
    accept(engine, first.run_id, chosen.need_id)
    with transaction(engine) as session:
        pin = book.pins(session)[chosen.need_id]
        assert session.get(m.Need, chosen.need_id).status == "active"
    assert (pin.provider, pin.offer) == (chosen.provider_id, chosen.offer_id)
    second = run_nightly(engine, OPTS)
    assert chosen.need_id not in {s.need_id for s in suggestion_list(engine, second.run_id)}
    with pytest.raises(DecisionError, match="already accepted"):
        accept(engine, first.run_id, chosen.need_id)


def test_reject_excludes_the_pair_from_the_next_run(engine):
    load_book(engine)
    first = run_nightly(engine, OPTS)
    chosen = suggestion_list(engine, first.run_id, "assign")
    for s in chosen:
        reject(engine, first.run_id, s.need_id, reason="provider declined")
    second = run_nightly(engine, OPTS)
    again = {s.need_id: s for s in suggestion_list(engine, second.run_id)}
    for s in chosen:
        assert again[s.need_id].provider_id != s.provider_id
        if again[s.need_id].action == "unmet":
            assert s.provider_id in again[s.need_id].explanation["rejected_providers"]


def test_decisions_that_cannot_be_taken_are_refused(engine):
    load_book(engine)
    run = run_nightly(engine, OPTS)
    unmet = suggestion_list(engine, run.run_id, "unmet")[0]
    with pytest.raises(DecisionError, match="suggested no provider"):
        accept(engine, run.run_id, unmet.need_id)
    with pytest.raises(DecisionError, match="no run 99"):
        accept(engine, 99, unmet.need_id)
    assign = suggestion_list(engine, run.run_id, "assign")[0]
    with pytest.raises(DecisionError, match="needs a reason"):
        reject(engine, run.run_id, assign.need_id, reason=" ")
    end_need(engine, assign.need_id)  # the referral was withdrawn
    with pytest.raises(DecisionError, match="no longer a new referral"):
        accept(engine, run.run_id, assign.need_id)


def test_accept_refuses_an_offer_with_no_room_left(engine):
    load_book(engine)
    run = run_nightly(engine, OPTS)
    s = suggestion_list(engine, run.run_id, "assign")[0]
    with transaction(engine) as session:
        session.get(m.Offer, s.offer_id).capacity = 0.0
    with pytest.raises(DecisionError, match="left"):
        accept(engine, run.run_id, s.need_id)


def test_an_ended_need_leaves_the_demand(engine):
    load_book(engine)
    with transaction(engine) as session:
        active = next(iter(book.pins(session)))
    end_need(engine, active)
    with transaction(engine) as session:
        assert active not in {n.id for n in book.export_instance(session).needs}
        assert active not in book.pins(session)


def test_many_decisions_each_on_its_own(engine):
    from allocator.nightly.decisions import DecisionError, decide_many
    from allocator.nightly.run import run_nightly

    load_book(engine)
    outcome = run_nightly(engine)
    with transaction(engine) as session:
        assigned = [s.need_id for s in session.execute(select(m.Suggestion).where(
            m.Suggestion.run_id == outcome.run_id, m.Suggestion.action == "assign")).scalars()]
    assert len(assigned) >= 2
    with pytest.raises(DecisionError, match="needs a reason"):
        decide_many(engine, outcome.run_id, assigned, "reject", reason=" ")
    results = decide_many(engine, outcome.run_id, [assigned[0], assigned[0], "nobody"],
                          "accept")
    assert [n for n, _ in results] == [assigned[0], "nobody"]  # a need once, in order
    assert not isinstance(results[0][1], DecisionError)
    assert isinstance(results[1][1], DecisionError)  # refused alone; the others went ahead
    again = decide_many(engine, outcome.run_id, assigned[:2], "reject", reason="family")
    assert isinstance(again[0][1], DecisionError) and "already accepted" in str(again[0][1])
    assert again[1][1].decision == "reject"
