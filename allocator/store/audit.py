"""The audit log: who did what, when (every login, upload, run, decision, user change).

Entries are written in the same transaction as the change they record where there is one
(so a change is never left unlogged), else in their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.store import models as m

LOGIN_FAILED = "login failed"


def record(session: Session, action: str, *, user_id: int | None = None, username: str = "",
           target: str = "", detail: str = "", client: str = "") -> None:
    """Add one entry (texts are cut to their columns' sizes, never refused)."""
    session.add(m.AuditEntry(at=m.utcnow(), user_id=user_id, username=username[:100],
                             action=action[:50], target=target[:200], detail=detail,
                             client=client[:100]))


def recent_failures(session: Session, *, username: str | None = None,
                    client: str | None = None, since: datetime) -> int:
    """Failed logins since ``since`` for this username or from this client address."""
    query = select(func.count()).select_from(m.AuditEntry).where(
        m.AuditEntry.action == LOGIN_FAILED, m.AuditEntry.at >= since)
    if username is not None:
        query = query.where(m.AuditEntry.username == username[:100])
    if client is not None:
        query = query.where(m.AuditEntry.client == client[:100])
    return int(session.execute(query).scalar_one())


def entries(session: Session, *, offset: int = 0, limit: int = 100,
            action: str | None = None, username: str | None = None) -> tuple[list[m.AuditEntry],
                                                                             int]:
    """A page of entries, newest first, and the count of all that match."""
    query = select(m.AuditEntry)
    count = select(func.count()).select_from(m.AuditEntry)
    if action:
        query = query.where(m.AuditEntry.action == action)
        count = count.where(m.AuditEntry.action == action)
    if username:
        query = query.where(m.AuditEntry.username == username)
        count = count.where(m.AuditEntry.username == username)
    rows = session.execute(query.order_by(m.AuditEntry.id.desc()).offset(offset).limit(limit)
                           ).scalars()
    return list(rows), int(session.execute(count).scalar_one())


def window_start(minutes: float) -> datetime:
    return m.utcnow() - timedelta(minutes=minutes)
