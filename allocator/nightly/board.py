"""The brokers' board: the book at a glance and a run's suggestions, page by page.

Read-only views of the book for screens (the web app) and their downloads:

* :func:`book_overview` - people in care, capacity left by zone and by provider, referrals
  waiting (how many, how long) by zone and priority, the last runs and intake files;
* :func:`suggestions` - one run's suggestions filtered by zone, priority, action and decision,
  most urgent first, a page at a time (filtering and paging happen in the database, so a county
  night of thousands of suggestions pages as fast as a small one);
* :func:`suggestion` - one suggestion with its explanation and decision;
* :data:`COLUMNS` and :func:`table` - the columns a screen shows and a download holds, once.

Capacity is counted as the nightly model counts it: a package uses ``quantity x travel factor``
hours of its offer (and of its provider's total capacity), a placement one bed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session

from allocator.store import models as m
from allocator.store.engine import transaction


@dataclass(frozen=True)
class Capacity:
    """Capacity and use of one zone or provider (hours, or beds for ``unit == "beds"``)."""

    key: str
    name: str
    unit: str
    capacity: float
    used: float
    quality: float | None = None

    @property
    def left(self) -> float:
        return max(0.0, self.capacity - self.used)

    @property
    def utilisation(self) -> float | None:
        return self.used / self.capacity if self.capacity > 0 else None


@dataclass(frozen=True)
class Waiting:
    """Referrals waiting for a provider in one zone and priority."""

    zone: str
    priority: str
    people: int
    quantity: float
    unit: str
    oldest_days: float
    mean_days: float


@dataclass(frozen=True)
class Overview:
    name: str
    currency: str
    version: int
    people_in_care: int
    hours_in_care: float
    beds_in_care: float
    waiting_people: int
    oldest_waiting_days: float
    zones: list[Capacity]
    providers: list[Capacity]
    waiting: list[Waiting]
    runs: list[RunLine]
    batches: list[m.IntakeBatch]


@dataclass(frozen=True)
class RunLine:
    """A recorded run as its tables show it: the referrals left unmet apart from the people in
    care whose provider can no longer serve them and who have no place (both are ``unmet``
    suggestions; the run's ``n_unmet`` counts them together)."""

    id: int
    finished_at: datetime | None
    status: str
    objective: float | None
    bound: float | None
    n_new: int
    n_suggested: int
    n_unmet: int
    n_moves: int
    n_unmet_in_care: int

    @property
    def n_unmet_referrals(self) -> int:
        return self.n_unmet - self.n_unmet_in_care


def unmet_in_care(session: Session, run_ids: list[int]) -> dict[int, int]:
    """Per run, the people in care it left unmet (an ``unmet`` suggestion with a provider to
    come from: displaced from a provider that can no longer serve them)."""
    if not run_ids:
        return {}
    counts = dict(session.execute(
        select(m.Suggestion.run_id, func.count()).where(
            m.Suggestion.run_id.in_(run_ids), m.Suggestion.action == "unmet",
            m.Suggestion.from_provider_id.is_not(None)).group_by(m.Suggestion.run_id)).all())
    return {r: int(counts.get(r, 0)) for r in run_ids}


def _lines(session: Session, rows: list[m.Run]) -> list[RunLine]:
    in_care = unmet_in_care(session, [r.id for r in rows])
    return [RunLine(id=r.id, finished_at=r.finished_at, status=r.status, objective=r.objective,
                    bound=r.bound, n_new=r.n_new, n_suggested=r.n_suggested, n_unmet=r.n_unmet,
                    n_moves=r.n_moves, n_unmet_in_care=in_care[r.id]) for r in rows]


def _utc(t: datetime | None) -> datetime | None:
    if t is not None and t.tzinfo is None:  # SQLite keeps no zone: the store writes UTC
        return t.replace(tzinfo=UTC)
    return t


def _days(since: datetime | None, now: datetime) -> float:
    start = _utc(since)
    return 0.0 if start is None else max(0.0, (now - start).total_seconds() / 86_400)


def book_overview(engine: Engine, *, runs: int = 8, batches: int = 8) -> Overview:
    """The book at a glance (see the module docstring)."""
    now = m.utcnow()
    with transaction(engine) as session:
        state = session.execute(select(m.BookState).where(m.BookState.id == 1)).scalar_one()
        zones = list(session.execute(select(m.Zone).order_by(m.Zone.seq)).scalars())
        providers = list(session.execute(select(m.Provider).order_by(m.Provider.seq)).scalars())
        offers = list(session.execute(select(m.Offer).order_by(m.Offer.seq)).scalars())
        in_care = session.execute(
            select(m.Need.kind, m.Need.quantity, m.Assignment.offer_id, m.Assignment.provider_id)
            .join(m.Assignment, m.Assignment.need_id == m.Need.id)
            .where(m.Need.status == "active")).all()
        new = session.execute(select(m.Need.zone_id, m.Need.priority, m.Need.kind,
                                     m.Need.quantity, m.Need.created_at)
                              .where(m.Need.status == "new")).all()
        recent_runs = _lines(session, list(session.execute(
            select(m.Run).order_by(m.Run.id.desc()).limit(runs)).scalars()))
        recent_batches = list(session.execute(select(m.IntakeBatch)
                                              .order_by(m.IntakeBatch.id.desc())
                                              .limit(batches)).scalars())
    offer_of = {o.id: o for o in offers}
    offer_use: dict[str, float] = defaultdict(float)
    provider_hours: dict[str, float] = defaultdict(float)
    hours = beds = 0.0
    for kind, quantity, offer_id, provider_id in in_care:
        offer = offer_of.get(offer_id) if offer_id else None
        if kind == "placement":
            beds += quantity
            use = quantity
        else:
            hours += quantity
            use = quantity * (offer.travel_factor if offer is not None else 1.0)
            provider_hours[provider_id] += use
        if offer is not None:
            offer_use[offer.id] += use

    zone_cap: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    provider_offer_hours: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    provider_beds: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for o in offers:
        cell = zone_cap[(o.zone_id, o.unit)]
        cell[0] += o.capacity
        cell[1] += offer_use[o.id]
        target = provider_offer_hours if o.unit == "hours" else provider_beds
        target[o.provider_id][0] += o.capacity
        target[o.provider_id][1] += offer_use[o.id]
    zone_rows = [Capacity(z.id, z.name or z.id, unit, *zone_cap[(z.id, unit)])
                 for z in zones for unit in ("hours", "beds") if (z.id, unit) in zone_cap]
    provider_rows = []
    for p in providers:
        if p.id in provider_offer_hours:
            offered = provider_offer_hours[p.id][0]
            cap = min(offered, p.capacity) if p.capacity is not None else offered
            provider_rows.append(Capacity(p.id, p.name or p.id, "hours", cap,
                                          provider_hours[p.id], p.quality))
        if p.id in provider_beds:
            beds_capacity, beds_used = provider_beds[p.id]
            provider_rows.append(Capacity(p.id, p.name or p.id, "beds", beds_capacity,
                                          beds_used, p.quality))

    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = defaultdict(list)
    for zone_id, priority, kind, quantity, created in new:
        unit = "beds" if kind == "placement" else "hours"
        groups[(zone_id, priority, unit)].append((quantity, _days(created, now)))
    rank = _priority_rank(state.policy)
    zone_order = {z.id: i for i, z in enumerate(zones)}
    waiting = [Waiting(zone, prio, len(items), sum(q for q, _ in items), unit,
                       max(d for _, d in items), sum(d for _, d in items) / len(items))
               for (zone, prio, unit), items in groups.items()]
    waiting.sort(key=lambda w: (zone_order.get(w.zone, 0), rank.get(w.priority, 0), w.unit))
    return Overview(
        name=state.name, currency=state.currency, version=state.version,
        people_in_care=len(in_care), hours_in_care=hours, beds_in_care=beds,
        waiting_people=len(new),
        oldest_waiting_days=max((w.oldest_days for w in waiting), default=0.0),
        zones=zone_rows, providers=provider_rows, waiting=waiting, runs=recent_runs,
        batches=recent_batches)


def _priority_rank(policy: dict[str, Any]) -> dict[str, int]:
    """Priority -> rank, most urgent (highest unmet penalty) first."""
    penalties = policy.get("unmet_penalty", {}) or {}
    order = sorted(penalties, key=lambda p: (-float(penalties[p]), p))
    return {p: i for i, p in enumerate(order)}


# ----------------------------------------------------------------------------- suggestions

ACTIONS = ("assign", "move", "unmet")
ACTION_ORDER = {a: i for i, a in enumerate(ACTIONS)}
DECIDED = ("open", "accepted", "rejected")

# (key, heading): what a screen shows of a suggestion and a download holds
COLUMNS: tuple[tuple[str, str], ...] = (
    ("need_id", "need"), ("zone", "zone"), ("service", "service"),
    ("complexity", "complexity"), ("care_group", "care group"), ("priority", "priority"),
    ("quantity", "quantity"), ("unit", "unit"), ("waiting_days", "days waiting"),
    ("action", "suggestion"), ("provider_id", "provider"), ("provider_name", "provider name"),
    ("offer_id", "offer"), ("block_quantity", "from block volume"),
    ("from_provider_id", "from provider"), ("cost", "weekly cost"),
    ("saving", "weekly saving"), ("decision", "decision"), ("decision_reason", "decision reason"),
    ("reason", "why"),
)


@dataclass(frozen=True)
class SuggestionPage:
    run: m.Run
    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int | None
    zones: list[str]
    priorities: list[str]
    counts: dict[str, int] = field(default_factory=dict)  # by action, in the whole run
    currency: str = "GBP"

    @property
    def has_next(self) -> bool:
        return self.limit is not None and self.offset + self.limit < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


class NoSuchRun(LookupError):
    """There is no such run (or no run at all)."""


def latest_run_id(engine: Engine) -> int | None:
    with transaction(engine) as session:
        return session.execute(select(func.max(m.Run.id))).scalar_one()


def suggestions(engine: Engine, run_id: int, *, zone: str | None = None,
                priority: str | None = None, action: str | None = None,
                decided: str | None = None, offset: int = 0, limit: int | None = 50
                ) -> SuggestionPage:
    """One page of a run's suggestions: providers suggested first, then moves, then the
    referrals nobody can take; within each, most urgent priority first, then by zone and need.

    ``decided``: ``open`` (no decision yet), ``accepted`` or ``rejected``; ``limit`` None: all.
    """
    now = m.utcnow()
    with transaction(engine) as session:
        run = session.get(m.Run, run_id)
        if run is None:
            raise NoSuchRun(f"there is no run {run_id}")
        state = session.execute(select(m.BookState).where(m.BookState.id == 1)).scalar_one()
        rank = _priority_rank(state.policy)
        base = _filtered(run_id, zone, priority, action, decided)
        total = int(session.execute(select(func.count()).select_from(base.subquery()))
                    .scalar_one())
        rank_expr = case(rank, value=m.Need.priority, else_=len(rank)) if rank else m.Need.seq
        query = (base.add_columns(m.Suggestion, m.Need.zone_id, m.Need.service,
                                  m.Need.complexity, m.Need.care_group, m.Need.priority,
                                  m.Need.kind, m.Need.created_at, m.Decision.decision,
                                  m.Decision.reason)
                 .order_by(case(ACTION_ORDER, value=m.Suggestion.action, else_=3), rank_expr,
                           m.Zone.seq, m.Suggestion.seq).offset(offset))
        if limit is not None:
            query = query.limit(limit)
        names = dict(session.execute(select(m.Provider.id, m.Provider.name)).all())
        rows = [_row(r, now, names) for r in session.execute(query)]
        zones = list(session.execute(
            select(m.Need.zone_id).join(m.Suggestion, m.Suggestion.need_id == m.Need.id)
            .join(m.Zone, m.Zone.id == m.Need.zone_id)
            .where(m.Suggestion.run_id == run_id).group_by(m.Need.zone_id, m.Zone.seq)
            .order_by(m.Zone.seq)).scalars())
        present = set(session.execute(
            select(m.Need.priority).join(m.Suggestion, m.Suggestion.need_id == m.Need.id)
            .where(m.Suggestion.run_id == run_id).distinct()).scalars())
        counts = dict(session.execute(select(m.Suggestion.action, func.count())
                                      .where(m.Suggestion.run_id == run_id)
                                      .group_by(m.Suggestion.action)).all())
    priorities = sorted(present, key=lambda p: (rank.get(p, len(rank)), p))
    return SuggestionPage(run=run, rows=rows, total=total, offset=offset, limit=limit,
                          zones=zones, priorities=priorities,
                          counts={a: int(counts.get(a, 0)) for a in ACTIONS},
                          currency=state.currency)


def _filtered(run_id: int, zone: str | None, priority: str | None, action: str | None,
              decided: str | None) -> Any:
    query = (select(m.Suggestion.need_id)
             .join(m.Need, m.Need.id == m.Suggestion.need_id)
             .join(m.Zone, m.Zone.id == m.Need.zone_id)
             .outerjoin(m.Decision, (m.Decision.run_id == m.Suggestion.run_id)
                        & (m.Decision.need_id == m.Suggestion.need_id))
             .where(m.Suggestion.run_id == run_id))
    if zone:
        query = query.where(m.Need.zone_id == zone)
    if priority:
        query = query.where(m.Need.priority == priority)
    if action:
        query = query.where(m.Suggestion.action == action)
    if decided == "open":
        query = query.where(m.Decision.id.is_(None))
    elif decided == "accepted":
        query = query.where(m.Decision.decision == "accept")
    elif decided == "rejected":
        query = query.where(m.Decision.decision == "reject")
    return query


def _row(r: Any, now: datetime, names: dict[str, str]) -> dict[str, Any]:
    (_, s, zone, service, complexity, care_group, priority, kind, created, decision,
     decision_reason) = r
    return {
        "need_id": s.need_id, "zone": zone, "service": service, "complexity": complexity,
        "care_group": care_group, "priority": priority, "quantity": s.quantity,
        "unit": "beds" if kind == "placement" else "hours",
        "waiting_days": _days(created, now) if s.action != "move" else None,
        "action": s.action, "provider_id": s.provider_id,
        "provider_name": names.get(s.provider_id or "", ""), "offer_id": s.offer_id,
        "block_quantity": s.block_quantity,
        "from_provider_id": s.from_provider_id, "cost": s.cost, "saving": s.saving,
        "decision": {"accept": "accepted", "reject": "rejected"}.get(decision or "", ""),
        "decision_reason": decision_reason or "", "reason": s.reason,
        "decidable": s.action != "unmet" and not decision,
    }


def table(page: SuggestionPage) -> tuple[list[str], list[list[Any]]]:
    """(headings, rows) of a page, in :data:`COLUMNS` order (for downloads)."""
    return ([h for _, h in COLUMNS],
            [[row[k] if k != "waiting_days" or row[k] is None else round(row[k], 1)
              for k, _ in COLUMNS] for row in page.rows])


@dataclass(frozen=True)
class SuggestionDetail:
    run: m.Run
    suggestion: m.Suggestion
    need: m.Need
    decision: m.Decision | None
    currency: str
    waiting_days: float
    provider_names: dict[str, str] = field(default_factory=dict)


def suggestion(engine: Engine, run_id: int, need_id: str) -> SuggestionDetail:
    """One suggestion with its need, explanation and decision (raises :class:`NoSuchRun`)."""
    with transaction(engine) as session:
        return _detail(session, run_id, need_id)


def _detail(session: Session, run_id: int, need_id: str) -> SuggestionDetail:
    run = session.get(m.Run, run_id)
    sugg = session.get(m.Suggestion, (run_id, need_id))
    if run is None or sugg is None:
        raise NoSuchRun(f"run {run_id} made no suggestion for need {need_id}")
    need = session.get(m.Need, need_id)
    assert need is not None
    decision = session.execute(select(m.Decision).where(
        m.Decision.run_id == run_id, m.Decision.need_id == need_id)).scalar_one_or_none()
    currency = session.execute(select(m.BookState.currency)).scalar_one()
    names = dict(session.execute(select(m.Provider.id, m.Provider.name)).all())
    return SuggestionDetail(run=run, suggestion=sugg, need=need, decision=decision,
                            currency=currency, waiting_days=_days(need.created_at, m.utcnow()),
                            provider_names=names)


def runs(engine: Engine, limit: int = 20) -> list[RunLine]:
    with transaction(engine) as session:
        return _lines(session, list(session.execute(
            select(m.Run).order_by(m.Run.id.desc()).limit(limit)).scalars()))


def overview_tables(o: Overview) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The overview's tables as (headings, rows), as the book page shows them (downloads)."""
    def capacity(rows: list[Capacity], what: str) -> tuple[list[str], list[list[Any]]]:
        return ([what, "name", "unit", "capacity", "in care", "left", "utilisation"],
                [[c.key, c.name, c.unit, c.capacity, c.used, c.left, c.utilisation]
                 for c in rows])

    return {
        "waiting": (["zone", "priority", "people", "quantity", "unit", "oldest days",
                     "mean days"],
                    [[w.zone, w.priority, w.people, w.quantity, w.unit,
                      round(w.oldest_days, 2), round(w.mean_days, 2)] for w in o.waiting]),
        "zones": capacity(o.zones, "zone"),
        "providers": capacity(o.providers, "provider"),
    }
