"""The nightly run: suggestions recorded once, people in care kept, all or nothing."""

import signal

import pytest
from failing_search import fail_search_children
from sqlalchemy import select

from allocator.nightly import run as run_module
from allocator.nightly.run import BookChanged, NightlyOptions, run_nightly
from allocator.store import models as m
from allocator.store.engine import transaction
from allocator.store.lock import LockHeld
from nightly.helpers import load_book, load_displaced_book, snapshot, start_child

OPTS = NightlyOptions(time_limit=10)


def suggestions(engine, run_id):
    with transaction(engine) as session:
        return [(s.need_id, s.action, s.provider_id, s.offer_id) for s in session.execute(
            select(m.Suggestion).where(m.Suggestion.run_id == run_id)
            .order_by(m.Suggestion.seq)).scalars()]


def test_a_run_suggests_for_every_new_referral_and_keeps_people_in_care(engine):
    load_book(engine)
    before = snapshot(engine)
    outcome = run_nightly(engine, OPTS)
    assert not outcome.reused and outcome.status == "optimal"
    rows = suggestions(engine, outcome.run_id)
    new = {n for n, s in before["statuses"].items() if s == "new"}
    assert {r[0] for r in rows} == new  # nobody in care is in the suggestions
    assert outcome.n_suggested + outcome.n_unmet == len(new) and outcome.n_moves == 0
    assert outcome.n_suggested > 0 and outcome.n_unmet > 0
    after = snapshot(engine)
    assert after["pins"] == before["pins"] and after["version"] == before["version"]


def test_a_rerun_on_unchanged_data_records_nothing_new(engine):
    load_book(engine)
    first = run_nightly(engine, OPTS)
    again = run_nightly(engine, OPTS)
    assert again.reused and again.run_id == first.run_id
    assert snapshot(engine)["counts"]["runs"] == 1


def test_the_fingerprint_follows_the_data(engine):
    from allocator.nightly.decisions import reject

    load_book(engine)
    first = run_nightly(engine, OPTS)
    need = next(r[0] for r in suggestions(engine, first.run_id) if r[1] == "assign")
    reject(engine, first.run_id, need, reason="family prefers another agency")
    second = run_nightly(engine, OPTS)
    assert second.run_id != first.run_id and second.fingerprint != first.fingerprint


def test_an_exception_in_the_write_step_leaves_nothing_half_written(engine, monkeypatch):
    load_book(engine)
    before = snapshot(engine)
    real = run_module._record

    def record_then_fail(session, *args, **kwargs):
        real(session, *args, **kwargs)  # the run and every suggestion are flushed ...
        session.flush()
        raise RuntimeError("disk full")  # ... then the process fails before the commit

    monkeypatch.setattr(run_module, "_record", record_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        run_nightly(engine, OPTS)
    assert snapshot(engine) == before
    monkeypatch.setattr(run_module, "_record", real)
    assert run_nightly(engine, OPTS).run_id  # the lock was released; a new run works


def test_a_run_killed_between_solve_and_write_leaves_the_previous_state(engine, db_url,
                                                                        tmp_path):
    load_book(engine)
    first = run_nightly(engine, OPTS)
    from allocator.nightly.intake import add_referrals

    csv = tmp_path / "r.csv"
    csv.write_text("id,kind,zone,service,complexity,care_group,quantity\n"
                   "k1,package,z1,personal_care,less_complex,OP,2\n")
    add_referrals(engine, csv)
    before = snapshot(engine)
    proc, _, _ = start_child(db_url, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(engine) == before
    outcome = run_nightly(engine, OPTS)  # the dead run's lock is taken over
    assert outcome.run_id > first.run_id and not outcome.reused
    assert any("took over" in msg for msg in outcome.messages) or db_url.startswith("postgres")


def test_a_second_run_while_one_is_running_is_refused(engine, db_url, tmp_path):
    load_book(engine)
    proc, _, go = start_child(db_url, tmp_path)
    try:
        with pytest.raises(LockHeld, match="another nightly run is in progress"):
            run_nightly(engine, OPTS)
    finally:
        go.write_text("go")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "RUN 1" in out


def test_a_book_changed_during_the_solve_is_not_written(engine, tmp_path):
    from allocator.nightly.intake import add_referrals

    load_book(engine)
    csv = tmp_path / "late.csv"
    csv.write_text("id,kind,zone,service,complexity,care_group,quantity\n"
                   "late1,package,z1,personal_care,less_complex,OP,2\n")
    with pytest.raises(BookChanged):
        run_nightly(engine, OPTS, before_write=lambda: add_referrals(engine, csv))
    assert snapshot(engine)["counts"]["runs"] == 0


def test_max_moves_moves_at_most_k_and_states_each_saving(engine):
    from store.databases import consistent_book

    from allocator.store import book
    from nightly.helpers import SEED

    inst, _ = consistent_book(SEED, n_needs=14)
    with transaction(engine) as session:
        # current offers chosen badly on purpose: each active need on its dearest offer
        book.import_instance(session, inst)
    pinned = run_nightly(engine, OPTS)
    for k in (0, 1):
        out = run_nightly(engine, NightlyOptions(time_limit=10, max_moves=k))
        assert out.n_moves <= k
        with transaction(engine) as session:
            run = session.get(m.Run, out.run_id)
            moves = session.execute(select(m.Suggestion).where(
                m.Suggestion.run_id == out.run_id, m.Suggestion.action == "move")).scalars()
            for s in moves:
                assert s.from_provider_id and s.provider_id and s.saving is not None
            assert run.objective <= run.baseline_objective + 1e-6
            assert run.baseline_objective == pytest.approx(pinned.objective)



def _displaced_book(engine):
    """A book with one referral (placed) and one person in care whose provider can no longer
    serve them (no eligible offer) and who finds no place; its first nightly run."""
    load_displaced_book(engine)
    return run_nightly(engine, OPTS)


def test_the_summary_counts_people_in_care_apart_from_the_referrals(engine):
    """The person in care with no place is unmet too, but not a referral: the summary line says
    so apart. On a book of 120 such people the line read "15 new referral(s): 13 suggested,
    14 unmet"."""
    out = _displaced_book(engine)
    with transaction(engine) as session:
        rows = {s.need_id: (s.action, s.from_provider_id) for s in session.execute(
            select(m.Suggestion).where(m.Suggestion.run_id == out.run_id)).scalars()}
    assert rows == {"new": ("assign", None), "c1": ("unmet", "scheme")}
    assert (out.n_new, out.n_suggested, out.n_unmet, out.n_unmet_in_care) == (1, 1, 1, 1)
    line = out.summary()
    assert "1 new referral(s): 1 suggested, 0 unmet" in line
    assert "1 in care whose provider can no longer serve them have no place" in line
    again = run_nightly(engine, OPTS)  # the recorded run, counted the same way
    assert again.reused and again.n_unmet_in_care == 1 and again.summary().endswith(
        "have no place")


def test_the_morning_report_lists_people_in_care_with_no_place_apart(engine):
    """The morning report's "New referrals" table held the displaced person with no place as
    if they were a referral; they are listed with the moves ("no place") and counted in the
    summary."""
    from allocator.nightly.morning import build_report

    report = build_report(engine, _displaced_book(engine).run_id)
    new_rows = report.tables["New referrals"][1]
    assert [r[0] for r in new_rows] == ["new"]
    moves = report.tables["Moves"][1]
    assert [(r[0], r[2], r[3]) for r in moves] == [("c1", "scheme", "no place")]
    assert ("of which people in care with no place", 1) in report.summary
    header, unmet_rows = report.tables["Unmet by zone"]
    assert unmet_rows[-1][0] == "total" and unmet_rows[-1][3] == 1


def test_a_run_whose_search_process_failed_says_so(engine, monkeypatch):
    """The suggestions of a run whose search process failed stand (they come from the other
    sources and are checked), and the run's messages say the search failed, where the
    solver's own status words are otherwise kept out of them."""
    load_book(engine)
    fail_search_children(monkeypatch)
    outcome = run_nightly(engine, NightlyOptions(time_limit=10, solver="heuristic"))
    assert not outcome.reused and outcome.n_suggested + outcome.n_unmet > 0
    assert any(msg.startswith("search process:") and "without that process's search" in msg
               for msg in outcome.messages), outcome.messages
