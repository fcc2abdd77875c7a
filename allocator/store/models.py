"""The book as relational tables (SQLAlchemy 2.x declarative models).

The book is the market (zones, providers, offers, lots, block contracts and bids, policy), the
people in it (needs, with a status and, while active, their current assignment), how they came
in (referral intake batches and their rejected rows), and the history of nightly runs with their
suggestions and the brokers' decisions on them.

Conventions:

* Ids are the instance's own ids (strings). Every market table has a ``seq`` column: rows are
  read back in that order, so an exported instance and a run's model are the same on SQLite and
  PostgreSQL (whose text collations differ).
* Money and quantities are double precision on both backends, so values round-trip exactly.
* List and nested fields (acceptable zones, care groups, lot cells, block rules, the policy) are
  JSON columns: they are only ever read whole.
* Timestamps are UTC.

The schema is created and upgraded by the Alembic migrations in ``allocator/store/migrations``;
a test checks that they and these models agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NEED_STATUSES = ("new", "active", "ended")
SUGGESTION_ACTIONS = ("assign", "move", "unmet")
DECISIONS = ("accept", "reject")

# Explicit constraint names, so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

IdStr = String(200)


def utcnow() -> datetime:
    """The current time in UTC (the only clock the store uses)."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BookState(Base):
    """One row: the market's header, its policy and a version bumped by every book change.

    A nightly run remembers the version it read and refuses to write if it has moved: the
    suggestions would be for a book that no longer exists.
    """

    __tablename__ = "book_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200), default="book")
    currency: Mapped[str] = mapped_column(String(10), default="GBP")
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Zone(Base):
    __tablename__ = "zones"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    quality: Mapped[float] = mapped_column(Double)
    capacity: Mapped[float | None] = mapped_column(Double, nullable=True)
    cqc_rating: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Offer(Base):
    """An offer; ``id`` is its key of DESIGN.md clarification 2, ``explicit_id`` whether the
    instance gave it (so that an export writes the instance back as it was)."""

    __tablename__ = "offers"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    explicit_id: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    service: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(10))
    price: Mapped[float] = mapped_column(Double)
    capacity: Mapped[float] = mapped_column(Double)
    max_complexity: Mapped[str] = mapped_column(String(40))
    travel_factor: Mapped[float] = mapped_column(Double, default=1.0)
    care_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    scheme: Mapped[str | None] = mapped_column(IdStr, nullable=True)


class Lot(Base):
    __tablename__ = "lots"

    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(10))
    zones: Mapped[list[str]] = mapped_column(JSON)
    services: Mapped[list[str]] = mapped_column(JSON)
    complexities: Mapped[list[str]] = mapped_column(JSON)
    framework: Mapped[bool] = mapped_column(Boolean, default=True)
    block: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reservation: Mapped[bool] = mapped_column(Boolean, default=False)


class BlockContract(Base):
    """A block contract in force: volume paid for whether used or not."""

    __tablename__ = "block_contracts"

    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"), primary_key=True)
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Double)
    volume: Mapped[float] = mapped_column(Double)


class BlockBid(Base):
    """A candidate block bid (design mode); kept so that a market round-trips whole."""

    __tablename__ = "block_bids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(Integer)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    lot_id: Mapped[str] = mapped_column(ForeignKey("lots.id"))
    rate: Mapped[float] = mapped_column(Double)
    min_volume: Mapped[float] = mapped_column(Double, default=0.0)
    max_volume: Mapped[float] = mapped_column(Double)
    award_cost: Mapped[float] = mapped_column(Double, default=0.0)


class IntakeBatch(Base):
    """One ``referrals add FILE``: what came in, what was added, skipped and rejected."""

    __tablename__ = "intake_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    n_rows: Mapped[int] = mapped_column(Integer)
    n_added: Mapped[int] = mapped_column(Integer)
    n_skipped: Mapped[int] = mapped_column(Integer)
    n_rejected: Mapped[int] = mapped_column(Integer)
    rejects_file: Mapped[str | None] = mapped_column(Text, nullable=True)


class IntakeReject(Base):
    """One problem with one row of an intake file (a row may have several)."""

    __tablename__ = "intake_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("intake_batches.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    need_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    field: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)


class Need(Base):
    """A person's package or placement. ``new``: a referral waiting for a provider;
    ``active``: in care, with a row in ``assignments``; ``ended``: no longer in the book's
    demand (kept for history)."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint("status IN ('new', 'active', 'ended')", name="status"),
        Index("ix_needs_status_seq", "status", "seq"),
    )

    id: Mapped[str] = mapped_column(IdStr, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    zone_id: Mapped[str] = mapped_column(ForeignKey("zones.id"))
    service: Mapped[str] = mapped_column(String(40))
    complexity: Mapped[str] = mapped_column(String(40))
    care_group: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[float] = mapped_column(Double)
    priority: Mapped[str] = mapped_column(IdStr, default="standard")
    acceptable_zones: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="new")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("intake_batches.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Assignment(Base):
    """Who serves an active need now: the provider, and the offer when it is known.

    An imported need only names its current provider; the import records the offer that
    provider would serve it from (see :func:`allocator.store.book.import_instance`).
    """

    __tablename__ = "assignments"

    need_id: Mapped[str] = mapped_column(ForeignKey("needs.id"), primary_key=True)
    provider_id: Mapped[str] = mapped_column(ForeignKey("providers.id"))
    offer_id: Mapped[str | None] = mapped_column(ForeignKey("offers.id"), nullable=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[str] = mapped_column(String(20), default="import")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)


class Run(Base):
    """One nightly run: its inputs' fingerprint, the solve and a summary of its suggestions."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    instance_hash: Mapped[str] = mapped_column(String(64))
    book_version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    solver: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    objective: Mapped[float | None] = mapped_column(Double, nullable=True)
    bound: Mapped[float | None] = mapped_column(Double, nullable=True)
    gap: Mapped[float | None] = mapped_column(Double, nullable=True)
    runtime_s: Mapped[float] = mapped_column(Double)
    time_limit: Mapped[float] = mapped_column(Double)
    max_moves: Mapped[int | None] = mapped_column(Integer, nullable=True)
    baseline_objective: Mapped[float | None] = mapped_column(Double, nullable=True)
    terms: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # providers, blocks
    n_needs: Mapped[int] = mapped_column(Integer)
    n_new: Mapped[int] = mapped_column(Integer)
    n_suggested: Mapped[int] = mapped_column(Integer)
    n_unmet: Mapped[int] = mapped_column(Integer)
    n_moves: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")


class Suggestion(Base):
    """What a run suggests for one need.

    ``assign``: a new referral to ``offer_id``; ``unmet``: a new referral nobody takes;
    ``move``: an active need from ``from_offer_id`` to ``offer_id`` (with ``--max-moves``, or
    because its current provider can no longer serve it under the book's rules; then
    ``unmet`` with ``from_*`` set when nobody else can). ``explanation`` holds the
    broker-facing reasons (see :mod:`allocator.nightly.explain`).
    """

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint("action IN ('assign', 'move', 'unmet')", name="action"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    need_id: Mapped[str] = mapped_column(ForeignKey("needs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    provider_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    offer_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    from_provider_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    from_offer_id: Mapped[str | None] = mapped_column(IdStr, nullable=True)
    quantity: Mapped[float] = mapped_column(Double)
    block_quantity: Mapped[float] = mapped_column(Double, default=0.0)
    cost: Mapped[float | None] = mapped_column(Double, nullable=True)
    saving: Mapped[float | None] = mapped_column(Double, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Decision(Base):
    """A broker's accept or reject of one suggestion."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint("decision IN ('accept', 'reject')", name="decision"),
        UniqueConstraint("run_id", "need_id", name="uq_decisions_run_need"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    need_id: Mapped[str] = mapped_column(ForeignKey("needs.id"), index=True)
    decision: Mapped[str] = mapped_column(String(10))
    provider_id: Mapped[str] = mapped_column(IdStr)
    offer_id: Mapped[str] = mapped_column(IdStr)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lock(Base):
    """Named exclusive locks held across transactions (the nightly run's)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# ----------------------------------------------------------------------------- the web app

ROLES = ("broker", "commissioner", "admin")
JOB_KINDS = ("nightly", "compare", "minicomp", "simulate")
JOB_STATUSES = ("queued", "running", "done", "failed")


class User(Base):
    """Someone who logs in to the web app; ``password_hash`` is an argon2 hash (never the
    password). ``active`` false: the account is kept for the audit log but cannot log in."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('broker', 'commissioner', 'admin')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)


class AuditEntry(Base):
    """Who did what, when: every login, upload, run, decision and user change.

    ``username`` is copied (not only referenced) so that an entry stays readable whatever
    becomes of the account; failed logins name the username that was tried.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    username: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(100), default="")


class Job(Base):
    """A long piece of work started from the web app (a nightly run, a design comparison; the
    kind ``minicomp`` is a mini-competition run from its page, allocator/web/routes/minicomp.py,
    and ``simulate`` a year of brokerage replayed, allocator/web/routes/simulate.py).

    The job runs outside the request; its state and progress are kept here so that a page
    reload (or another broker) sees them. ``progress`` is a list of points ``{"t": seconds,
    "objective", "bound", "gap", "note"}``; ``result`` is written once, with ``status`` done,
    in one transaction. A server that starts marks the jobs a dead server left ``running`` as
    failed (:func:`allocator.store.jobs.fail_orphans`).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('nightly', 'compare', 'minicomp', 'simulate')", name="kind"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        Index("ix_jobs_kind_id", "kind", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    title: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    server: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
