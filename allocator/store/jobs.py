"""Background jobs' state in the book: queued, running (with progress), done or failed.

A job is created by the request that starts it, then run elsewhere (a worker thread of the
web server); every state change is its own short transaction, so a page reload, another user
or another server process reads the same state. The result is written once, together with
``status = done``: a job is either done with its whole result or not done.

A server records its own id (``server``) on the jobs it runs. When a server starts, jobs that
are still ``queued`` or ``running`` were left by a dead server (the work of a job lives only in
the process that ran it): :func:`fail_orphans` marks them failed, saying so.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Engine, func, select, update
from sqlalchemy.orm import Session

from allocator.store import models as m
from allocator.store.engine import transaction

MAX_POINTS = 500  # progress points kept per job (older ones thinned out)


class JobError(ValueError):
    """A job cannot be created or read; the message says why."""


def create(session: Session, kind: str, *, title: str, user_id: int | None,
           params: dict[str, Any], server: str) -> m.Job:
    if kind not in m.JOB_KINDS:
        raise JobError(f"unknown job kind {kind!r}")
    job = m.Job(kind=kind, status="queued", title=title[:200], user_id=user_id, params=params,
                progress=[], result={}, message="", server=server, created_at=m.utcnow())
    session.add(job)
    session.flush()
    return job


def start(engine: Engine, job_id: int) -> None:
    with transaction(engine) as session:
        session.execute(update(m.Job).where(m.Job.id == job_id).values(
            status="running", started_at=m.utcnow()))


def add_progress(engine: Engine, job_id: int, point: dict[str, Any]) -> None:
    """Append one progress point (the list is thinned to :data:`MAX_POINTS`)."""
    with transaction(engine) as session:
        job = session.get(m.Job, job_id, with_for_update=True)
        if job is None or job.status != "running":
            return
        points = list(job.progress or []) + [point]
        if len(points) > MAX_POINTS:  # keep the first, every other one, and the last
            points = points[:1] + points[1:-1:2] + points[-1:]
        job.progress = points


def finish(engine: Engine, job_id: int, result: dict[str, Any], message: str = "",
           point: dict[str, Any] | None = None) -> None:
    """Record the whole result and ``done`` at once."""
    with transaction(engine) as session:
        job = session.get(m.Job, job_id, with_for_update=True)
        if job is None:
            return
        if point is not None:
            job.progress = list(job.progress or []) + [point]
        job.status, job.result, job.message = "done", result, message
        job.finished_at = m.utcnow()


def fail(engine: Engine, job_id: int, message: str) -> None:
    with transaction(engine) as session:
        session.execute(update(m.Job).where(m.Job.id == job_id).values(
            status="failed", message=message, finished_at=m.utcnow()))


def fail_orphans(engine: Engine) -> int:
    """Mark failed every job left queued or running by a server that is gone.

    Call once when a server starts, before it runs any job (on a book shared by several
    server processes, give each its own jobs: see the README).
    """
    with transaction(engine) as session:
        done: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(m.Job).where(m.Job.status.in_(("queued", "running"))).values(
                status="failed", finished_at=m.utcnow(),
                message="the server stopped while this job was running: nothing of it was"
                        " recorded; start it again"))
        return int(done.rowcount or 0)


def get(session: Session, job_id: int) -> m.Job | None:
    return session.get(m.Job, job_id)


def recent(session: Session, kind: str, limit: int = 20) -> list[m.Job]:
    return list(session.execute(select(m.Job).where(m.Job.kind == kind)
                                .order_by(m.Job.id.desc()).limit(limit)).scalars())


def active(session: Session, kind: str) -> m.Job | None:
    """The newest queued or running job of this kind, if any."""
    return session.execute(select(m.Job).where(m.Job.kind == kind,
                                               m.Job.status.in_(("queued", "running")))
                           .order_by(m.Job.id.desc()).limit(1)).scalar_one_or_none()


def count(session: Session, kind: str) -> int:
    return int(session.execute(select(func.count()).select_from(m.Job)
                               .where(m.Job.kind == kind)).scalar_one())
