"""Brokers' decisions on a run's suggestions: ``accept RUN NEED`` / ``reject RUN NEED``.

* **accept**: the suggestion becomes the need's current assignment (a new referral becomes
  ``active``; a move changes the assignment). Refused when the book has moved on since the run
  (the need is no longer where the suggestion found it) or when the offer has no room left
  (other suggestions accepted since, from another run, may have taken it).
* **reject** (with a reason): the (need, provider) pair is never suggested again; the next run
  finds the need another provider or says why it cannot.

Each decision is one transaction: the decision row, the book change and the version bump.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from allocator.store import book
from allocator.store import models as m
from allocator.store.engine import transaction
from allocator.store.health import check_integrity


class DecisionError(ValueError):
    """The decision cannot be taken; the message says why."""


@dataclass(frozen=True)
class DecisionOutcome:
    run_id: int
    need_id: str
    decision: str
    provider_id: str
    offer_id: str
    message: str

    def __str__(self) -> str:
        return self.message


def _suggestion(session: Session, run_id: int, need_id: str) -> m.Suggestion:
    run = session.get(m.Run, run_id)
    if run is None:
        raise DecisionError(f"there is no run {run_id}")
    sugg = session.get(m.Suggestion, (run_id, need_id))
    if sugg is None:
        raise DecisionError(f"run {run_id} made no suggestion for need {need_id}")
    if sugg.action == "unmet" or sugg.offer_id is None or sugg.provider_id is None:
        raise DecisionError(f"run {run_id} suggested no provider for need {need_id} (unmet:"
                            f" {sugg.reason})")
    done = session.execute(select(m.Decision).where(m.Decision.run_id == run_id,
                                                    m.Decision.need_id == need_id)
                           ).scalar_one_or_none()
    if done is not None:
        raise DecisionError(f"need {need_id} of run {run_id} was already {done.decision}ed on"
                            f" {done.decided_at:%Y-%m-%d %H:%M}")
    return sugg


def accept(engine: Engine, run_id: int, need_id: str, *, reason: str = "") -> DecisionOutcome:
    """Make run ``run_id``'s suggestion for ``need_id`` the need's current assignment."""
    check_integrity(engine)  # never write into a damaged book (StoreError)
    with transaction(engine) as session:
        sugg = _suggestion(session, run_id, need_id)
        # _suggestion refuses a suggestion without a provider and an offer
        assert sugg.provider_id is not None and sugg.offer_id is not None
        need = session.get(m.Need, need_id, with_for_update=True)
        assert need is not None
        current = session.get(m.Assignment, need_id)
        if sugg.action == "assign":
            if need.status != "new":
                raise DecisionError(f"need {need_id} is {need.status} now, no longer a new"
                                    f" referral: run the nightly again")
        else:  # a move
            where = None if current is None else current.provider_id
            if need.status != "active" or where != sugg.from_provider_id:
                raise DecisionError(f"need {need_id} is no longer with {sugg.from_provider_id}"
                                    f" (now: {where or need.status}): run the nightly again")
        _check_room(session, sugg)
        if current is None:
            current = m.Assignment(need_id=need_id, provider_id=sugg.provider_id,
                                   offer_id=sugg.offer_id)
            session.add(current)
        current.provider_id = sugg.provider_id
        current.offer_id = sugg.offer_id
        current.since = m.utcnow()
        current.source = "decision"
        current.run_id = run_id
        need.status = "active"
        session.add(m.Decision(run_id=run_id, need_id=need_id, decision="accept",
                               provider_id=sugg.provider_id, offer_id=sugg.offer_id,
                               reason=reason))
        book.bump_version(session)
        verb = "assigned to" if sugg.action == "assign" else "moved to"
        return DecisionOutcome(run_id, need_id, "accept", sugg.provider_id, sugg.offer_id,
                               f"need {need_id} {verb} {sugg.provider_id} ({sugg.offer_id})")


def reject(engine: Engine, run_id: int, need_id: str, *, reason: str) -> DecisionOutcome:
    """Record that run ``run_id``'s provider for ``need_id`` is not wanted for this need."""
    if not reason or not reason.strip():
        raise DecisionError("a rejection needs a reason (--reason)")
    check_integrity(engine)  # never write into a damaged book (StoreError)
    with transaction(engine) as session:
        sugg = _suggestion(session, run_id, need_id)
        assert sugg.provider_id is not None and sugg.offer_id is not None
        session.add(m.Decision(run_id=run_id, need_id=need_id, decision="reject",
                               provider_id=sugg.provider_id, offer_id=sugg.offer_id,
                               reason=reason.strip()))
        book.bump_version(session)
        return DecisionOutcome(run_id, need_id, "reject", sugg.provider_id, sugg.offer_id,
                               f"{sugg.provider_id} will not be suggested for need {need_id}"
                               f" again")


def end_need(engine: Engine, need_id: str) -> None:
    """Take a need out of the book's demand (care ended); its history stays."""
    with transaction(engine) as session:
        need = session.get(m.Need, need_id, with_for_update=True)
        if need is None:
            raise DecisionError(f"there is no need {need_id}")
        if need.status == "ended":
            raise DecisionError(f"need {need_id} has already ended")
        need.status = "ended"
        need.ended_at = m.utcnow()
        assignment = session.get(m.Assignment, need_id)
        if assignment is not None:
            session.delete(assignment)
        book.bump_version(session)


def _check_room(session: Session, sugg: m.Suggestion) -> None:
    """Refuse an acceptance that would put more people on an offer than it can take."""
    offer = session.get(m.Offer, sugg.offer_id)
    if offer is None:
        raise DecisionError(f"offer {sugg.offer_id} is no longer in the book")
    used = session.execute(
        select(func.coalesce(func.sum(m.Need.quantity), 0.0))
        .join(m.Assignment, m.Assignment.need_id == m.Need.id)
        .where(m.Assignment.offer_id == offer.id, m.Need.status == "active",
               m.Need.id != sugg.need_id)).scalar_one()
    use = float(used) * offer.travel_factor
    if use + sugg.quantity * offer.travel_factor > offer.capacity * (1 + 1e-9) + 1e-9:
        raise DecisionError(
            f"offer {offer.id} has {max(0.0, offer.capacity - use):g} {offer.unit} left, need"
            f" {sugg.need_id} takes {sugg.quantity * offer.travel_factor:g}: run the nightly"
            f" again for a fresh suggestion")


def decide_many(engine: Engine, run_id: int, need_ids: list[str], decision: str, *,
                reason: str = "") -> list[tuple[str, DecisionOutcome | DecisionError]]:
    """Accept or reject several suggestions, each in its own transaction (as one by one).

    A refusal of one (taken meanwhile, no room left) does not stop the others; each need's
    outcome or refusal is returned, in order.
    """
    if decision not in ("accept", "reject"):
        raise DecisionError(f"unknown decision {decision!r}")
    if decision == "reject" and not reason.strip():
        raise DecisionError("a rejection needs a reason")
    out: list[tuple[str, DecisionOutcome | DecisionError]] = []
    for need_id in dict.fromkeys(need_ids):
        try:
            if decision == "accept":
                out.append((need_id, accept(engine, run_id, need_id, reason=reason)))
            else:
                out.append((need_id, reject(engine, run_id, need_id, reason=reason)))
        except DecisionError as error:
            out.append((need_id, error))
    return out
