"""The book in and out: import a whole market, export it back as an instance.

:func:`import_instance` writes a validated :class:`~allocator.instance.schema.Instance` into an
empty book (or replaces the book); :func:`export_instance` reads the book back as an instance whose
needs are the ones in the book's demand (``new`` and ``active``; an active need carries its
current provider). Export after import gives back an equal instance, except for what the book
does not keep (design-mode scenarios and benchmark provenance, reported by the import).

Every change to the book goes through :func:`bump_version` in the same transaction, so that a
nightly run can tell whether the book moved under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from allocator.core.problem import Problem
from allocator.instance.schema import (
    BlockBid,
    BlockContract,
    BlockRules,
    Instance,
    Lot,
    Need,
    Offer,
    Policy,
    Provider,
    Zone,
)
from allocator.store import models as m


class BookNotEmpty(RuntimeError):
    """An import into a book that already holds a market (use ``replace``)."""


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_instance` wrote."""

    zones: int
    providers: int
    offers: int
    needs_new: int
    needs_active: int
    lots: int
    block_contracts: int
    block_bids: int
    warnings: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"imported {self.zones} zones, {self.providers} providers, {self.offers} offers,"
                f" {self.needs_active} active needs, {self.needs_new} new referrals,"
                f" {self.lots} lots, {self.block_contracts} block contracts,"
                f" {self.block_bids} block bids")
        return "\n".join([text, *(f"warning: {w}" for w in self.warnings)])


@dataclass(frozen=True)
class Pin:
    """An active need's current assignment."""

    provider: str
    offer: str | None


def bump_version(session: Session) -> int:
    """Record a change to the book (in the caller's transaction); returns the new version.

    The row is locked until the transaction ends (``FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the write lock), which also serialises book writers.
    """
    state = session.execute(select(m.BookState).where(m.BookState.id == 1)
                            .with_for_update()).scalar_one()
    state.version += 1
    state.updated_at = m.utcnow()
    session.flush()
    return state.version


def book_version(session: Session, *, for_update: bool = False) -> int:
    query = select(m.BookState.version).where(m.BookState.id == 1)
    if for_update:
        query = query.with_for_update()
    return int(session.execute(query).scalar_one())


def is_empty(session: Session) -> bool:
    return not session.execute(select(m.Zone.id).limit(1)).first()


def clear(session: Session) -> None:
    """Delete the market and everything that refers to it (runs, decisions, intake)."""
    for table in (m.Decision, m.Suggestion, m.Assignment, m.Run, m.Need, m.IntakeReject,
                  m.IntakeBatch, m.BlockBid, m.BlockContract, m.Lot, m.Offer, m.Provider,
                  m.Zone):
        session.execute(delete(table))


def import_instance(session: Session, instance: Instance, *, replace: bool = False,
                    offers: Mapping[str, str] | None = None) -> ImportSummary:
    """Write a whole market into the book, in the caller's transaction.

    Needs with a ``current_provider`` become ``active`` with an assignment; the offer recorded
    is the current provider's eligible offer in the need's own zone if it has one, else its
    cheapest eligible offer (the instance names only the provider). A need whose current
    provider has no eligible offer stays active with no offer: the nightly run then finds it a
    new one (a ``move`` suggestion). Needs without one become ``new`` referrals. ``offers``
    (need id -> offer id) gives the current offers where they are known, e.g. from a solution.

    Raises
    ------
    BookNotEmpty
        When the book already holds a market and ``replace`` is false.
    """
    if not is_empty(session):
        if not replace:
            raise BookNotEmpty("the book already holds a market: import with --replace to"
                               " overwrite it (runs, decisions and intake history included)")
        clear(session)
    warnings: list[str] = []
    if instance.scenarios:
        warnings.append(f"{len(instance.scenarios)} scenario(s) not kept: the book holds the"
                        " current demand only (scenarios are for lot design)")
    if instance.benchmark is not None:
        warnings.append("benchmark provenance not kept")

    now = m.utcnow()
    _insert(session, m.Zone, ({"id": z.id, "seq": i, "name": z.name}
                              for i, z in enumerate(instance.zones)))
    _insert(session, m.Provider, (
        {"id": p.id, "seq": i, "name": p.name, "quality": p.quality, "capacity": p.capacity,
         "cqc_rating": p.cqc_rating} for i, p in enumerate(instance.providers)))
    _insert(session, m.Offer, (
        {"id": o.key, "seq": i, "explicit_id": o.id is not None, "provider_id": o.provider,
         "zone_id": o.zone, "service": o.service, "unit": o.unit, "price": o.price,
         "capacity": o.capacity, "max_complexity": o.max_complexity,
         "travel_factor": o.travel_factor, "care_groups": list(o.care_groups),
         "scheme": o.scheme} for i, o in enumerate(instance.offers)))
    _insert(session, m.Lot, (
        {"id": lot.id, "seq": i, "name": lot.name, "unit": lot.unit, "zones": list(lot.zones),
         "services": list(lot.services), "complexities": list(lot.complexities),
         "framework": lot.framework, "reservation": lot.reservation,
         "block": None if lot.block is None else lot.block.model_dump(mode="json")}
        for i, lot in enumerate(instance.lots)))
    _insert(session, m.BlockContract, (
        {"provider_id": c.provider, "lot_id": c.lot, "seq": i, "rate": c.rate,
         "volume": c.volume} for i, c in enumerate(instance.block_contracts)))
    _insert(session, m.BlockBid, (
        {"seq": i, "provider_id": b.provider, "lot_id": b.lot, "rate": b.rate,
         "min_volume": b.min_volume, "max_volume": b.max_volume, "award_cost": b.award_cost}
        for i, b in enumerate(instance.block_bids)))
    _insert(session, m.Need, (
        {**need_columns(n), "seq": i, "status": "active" if n.current_provider else "new",
         "created_at": now} for i, n in enumerate(instance.needs)))
    known = {**current_offers(instance), **(offers or {})}
    _insert(session, m.Assignment, (
        {"need_id": n.id, "provider_id": n.current_provider, "offer_id": known.get(n.id),
         "since": now, "source": "import"} for n in instance.needs if n.current_provider))
    no_offer = [n.id for n in instance.needs if n.current_provider and n.id not in known]
    if no_offer:
        warnings.append(f"{len(no_offer)} active need(s) whose current provider has no eligible"
                        f" offer for them (e.g. {', '.join(no_offer[:3])}): the next run will"
                        " suggest a move")
    session.execute(update(m.BookState).where(m.BookState.id == 1).values(
        name=instance.name, currency=instance.currency,
        policy=instance.policy.model_dump(mode="json")))
    bump_version(session)
    active = sum(1 for n in instance.needs if n.current_provider)
    return ImportSummary(
        zones=len(instance.zones), providers=len(instance.providers),
        offers=len(instance.offers), needs_new=len(instance.needs) - active,
        needs_active=active, lots=len(instance.lots),
        block_contracts=len(instance.block_contracts), block_bids=len(instance.block_bids),
        warnings=warnings,
    )


def need_columns(need: Need) -> dict[str, object]:
    """The ``needs`` columns describing a need (not its status or bookkeeping)."""
    return {"id": need.id, "kind": need.kind, "zone_id": need.zone, "service": need.service,
            "complexity": need.complexity, "care_group": need.care_group,
            "quantity": need.quantity, "priority": need.priority,
            "acceptable_zones": None if need.acceptable_zones is None
            else list(need.acceptable_zones)}


def current_offers(instance: Instance) -> dict[str, str]:
    """Need id -> the offer its current provider serves it from (see :func:`import_instance`)."""
    if not any(n.current_provider for n in instance.needs):
        return {}
    problem = Problem.from_instance(instance)
    k = np.nonzero(problem.pair_is_current)[0]
    # best first: own zone, then cheapest, then offer order; keep the first per need
    order = np.lexsort((problem.pair_offer[k], problem.pair_cost_x[k], ~problem.pair_own_zone[k],
                        problem.pair_need[k]))
    k = k[order]
    first = np.r_[True, problem.pair_need[k][1:] != problem.pair_need[k][:-1]] if len(k) else k
    return {problem.need_ids[problem.pair_need[j]]: problem.offer_ids[problem.pair_offer[j]]
            for j in k[first.astype(bool)]}


def export_instance(session: Session) -> Instance:
    """The book as an instance: the market and the needs in demand (``new`` and ``active``).

    Rows come out in the order they went in (``seq``), whatever the database's collation.
    """
    state = session.execute(select(m.BookState).where(m.BookState.id == 1)).scalar_one()
    zones = [Zone(id=z.id, name=z.name) for z in _ordered(session, m.Zone)]
    providers = [Provider(id=p.id, name=p.name, quality=p.quality, capacity=p.capacity,
                          cqc_rating=p.cqc_rating) for p in _ordered(session, m.Provider)]
    offers = [Offer(id=o.id if o.explicit_id else None, provider=o.provider_id, zone=o.zone_id,
                    service=o.service, unit=o.unit, price=o.price, capacity=o.capacity,
                    max_complexity=o.max_complexity, travel_factor=o.travel_factor,
                    care_groups=list(o.care_groups or []), scheme=o.scheme)
              for o in _ordered(session, m.Offer)]
    lots = [Lot(id=lot.id, name=lot.name, unit=lot.unit, zones=lot.zones, services=lot.services,
                complexities=lot.complexities, framework=lot.framework,
                block=None if lot.block is None else BlockRules(**lot.block),
                reservation=lot.reservation) for lot in _ordered(session, m.Lot)]
    contracts = [BlockContract(provider=c.provider_id, lot=c.lot_id, rate=c.rate, volume=c.volume)
                 for c in _ordered(session, m.BlockContract)]
    bids = [BlockBid(provider=b.provider_id, lot=b.lot_id, rate=b.rate, min_volume=b.min_volume,
                     max_volume=b.max_volume, award_cost=b.award_cost)
            for b in _ordered(session, m.BlockBid)]
    current = dict(session.execute(select(m.Assignment.need_id, m.Assignment.provider_id)).all())
    rows = session.execute(select(m.Need).where(m.Need.status.in_(("new", "active")))
                           .order_by(m.Need.seq)).scalars()
    needs = [need_from_row(n, current.get(n.id) if n.status == "active" else None)
             for n in rows]
    return Instance(name=state.name, currency=state.currency, zones=zones, providers=providers,
                    offers=offers, needs=needs, lots=lots, block_contracts=contracts,
                    block_bids=bids, policy=Policy(**state.policy))


def need_from_row(row: m.Need, current_provider: str | None = None) -> Need:
    return Need(id=row.id, kind=row.kind, zone=row.zone_id, service=row.service,
                complexity=row.complexity, care_group=row.care_group, quantity=row.quantity,
                priority=row.priority, acceptable_zones=row.acceptable_zones,
                current_provider=current_provider)


def pins(session: Session) -> dict[str, Pin]:
    """Active need id -> its current assignment."""
    rows = session.execute(
        select(m.Assignment.need_id, m.Assignment.provider_id, m.Assignment.offer_id)
        .join(m.Need, m.Need.id == m.Assignment.need_id).where(m.Need.status == "active"))
    return {need: Pin(provider, offer) for need, provider, offer in rows}


def rejected_pairs(session: Session) -> set[tuple[str, str]]:
    """(need id, provider id) pairs a broker has rejected: never suggested again."""
    rows = session.execute(select(m.Decision.need_id, m.Decision.provider_id)
                           .where(m.Decision.decision == "reject"))
    return {(need, provider) for need, provider in rows}


def counts(session: Session) -> dict[str, int]:
    """Needs by status, and the runs recorded."""
    out = {status: 0 for status in m.NEED_STATUSES}
    for status, n in session.execute(select(m.Need.status, func.count()).group_by(m.Need.status)):
        out[status] = int(n)
    out["runs"] = int(session.execute(select(func.count()).select_from(m.Run)).scalar_one())
    return out


def next_seq(session: Session, model: type[m.Need]) -> int:
    """The next free ``seq`` (rows added later sort after everything already there)."""
    top = session.execute(select(func.max(model.seq))).scalar_one()
    return 0 if top is None else int(top) + 1


def _ordered(session: Session, model: type[Any]) -> Iterable[Any]:
    # Any market model: each has its own ``seq`` column (there is no common base to name).
    return session.execute(select(model).order_by(model.seq)).scalars()


def _insert(session: Session, model: type, rows: Iterable[dict]) -> None:
    batch = list(rows)
    if batch:
        session.execute(insert(model), batch)
