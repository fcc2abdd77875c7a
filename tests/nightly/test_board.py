"""The brokers' board: the book's figures against the book, and a run's suggestions filtered,
ordered and paged in the database as the pages show them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator.nightly import board
from allocator.nightly.decisions import accept, reject
from allocator.nightly.run import run_nightly
from allocator.store import models as m
from allocator.store.engine import transaction
from nightly.helpers import load_book


def test_the_overview_counts_the_book(engine):
    load_book(engine)
    o = board.book_overview(engine)
    with transaction(engine) as session:
        needs = list(session.execute(select(m.Need)).scalars())
        offers = list(session.execute(select(m.Offer)).scalars())
    active = [n for n in needs if n.status == "active"]
    new = [n for n in needs if n.status == "new"]
    assert o.people_in_care == len(active)
    assert o.waiting_people == len(new) == sum(w.people for w in o.waiting)
    assert o.hours_in_care == pytest.approx(sum(n.quantity for n in active
                                                if n.kind == "package"))
    assert sum(z.capacity for z in o.zones) == pytest.approx(sum(o.capacity for o in offers))
    # use is counted in the offers' own units (hours x travel factor, beds)
    assert all(z.used <= z.capacity + 1e-9 and z.left >= 0 for z in o.zones)
    assert o.runs == [] and o.batches == []


def test_suggestions_are_filtered_ordered_and_paged(engine):
    load_book(engine)
    run_id = run_nightly(engine).run_id
    whole = board.suggestions(engine, run_id, limit=None)
    assert whole.total == len(whole.rows) == sum(whole.counts.values())
    order = {a: i for i, a in enumerate(board.ACTIONS)}
    actions = [order[r["action"]] for r in whole.rows]
    assert actions == sorted(actions)  # providers first, unmet last
    with transaction(engine) as session:
        penalties = session.execute(select(m.BookState.policy)).scalar_one()["unmet_penalty"]
    for action in board.ACTIONS:  # within an action, most urgent first
        ranks = [-penalties[r["priority"]] for r in whole.rows if r["action"] == action]
        assert ranks == sorted(ranks)

    pages, offset = [], 0
    while True:
        page = board.suggestions(engine, run_id, offset=offset, limit=3)
        pages += page.rows
        if not page.has_next:
            break
        offset += 3
    assert [r["need_id"] for r in pages] == [r["need_id"] for r in whole.rows]

    zone = whole.rows[0]["zone"]
    in_zone = board.suggestions(engine, run_id, zone=zone, limit=None)
    assert in_zone.rows and all(r["zone"] == zone for r in in_zone.rows)
    assert in_zone.total == sum(1 for r in whole.rows if r["zone"] == zone)

    assigned = [r["need_id"] for r in whole.rows if r["action"] == "assign"]
    accept(engine, run_id, assigned[0])
    reject(engine, run_id, assigned[1], reason="no")
    open_ = board.suggestions(engine, run_id, decided="open", limit=None)
    assert open_.total == whole.total - 2
    done = board.suggestions(engine, run_id, decided="accepted", limit=None).rows
    assert [r["need_id"] for r in done] == [assigned[0]] and not done[0]["decidable"]
    assert board.suggestions(engine, run_id, decided="rejected", limit=None
                             ).rows[0]["decision_reason"] == "no"
    header, rows = board.table(whole)
    assert header[0] == "need" and len(rows) == whole.total


def test_an_unknown_run_is_refused(engine):
    load_book(engine)
    with pytest.raises(board.NoSuchRun):
        board.suggestions(engine, 99)
    with pytest.raises(board.NoSuchRun):
        board.suggestion(engine, 99, "x")
    assert board.latest_run_id(engine) is None
