"""An exclusive lock held across transactions: one nightly run at a time.

Two mechanisms, so that it works on every backend and survives a killed process:

* a **lock row** (table ``locks``): taken by setting its holder in a short transaction that
  reads and writes the row under the database's write lock (``SELECT ... FOR UPDATE`` on
  PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). It says who holds the lock (pid, host, since).
  A holder that died leaves the row set: on the same host a dead pid is seen and the lock is
  taken over; from another host the row is trusted until it is ``stale_after`` old.
* on PostgreSQL, also a session-level **advisory lock** on a connection kept open for the
  whole run. The server releases it when that connection dies, so it is the authority there:
  whoever gets it may take over a lock row left behind.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, select, text, update

from allocator.store import models as m
from allocator.store.engine import is_postgresql, transaction

DEFAULT_STALE_AFTER = timedelta(hours=12)


class LockHeld(RuntimeError):
    """The lock is held by someone else; the message says who and since when."""


@dataclass(frozen=True)
class Holder:
    token: str
    pid: int
    host: str
    acquired_at: datetime
    took_over: str = ""  # a description of the dead holder whose lock was taken over


def _advisory_key(name: str) -> int:
    # A stable signed 64-bit key per lock name (pg advisory locks take a bigint).
    return int.from_bytes(hashlib.sha256(f"allocator:{name}".encode()).digest()[:8], "big",
                          signed=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _describe(row: m.Lock) -> str:
    since = row.acquired_at.isoformat(timespec="seconds") if row.acquired_at else "?"
    return f"process {row.pid} on host {row.host}, since {since} UTC"


@contextmanager
def exclusive(engine: Engine, name: str = "nightly", *,
              stale_after: timedelta = DEFAULT_STALE_AFTER) -> Iterator[Holder]:
    """Hold lock ``name`` for the duration of the block.

    Raises
    ------
    LockHeld
        When another live process holds it.
    """
    advisory: Connection | None = None
    if is_postgresql(engine):
        advisory = engine.connect()
        got = advisory.execute(text("SELECT pg_try_advisory_lock(:k)"),
                               {"k": _advisory_key(name)}).scalar_one()
        advisory.commit()
        if not got:
            advisory.close()
            raise LockHeld(_held_message(engine, name))
    try:
        holder = _take_row(engine, name, stale_after, authoritative=advisory is not None)
        try:
            yield holder
        finally:
            with transaction(engine) as session:
                session.execute(update(m.Lock).where(m.Lock.name == name,
                                                     m.Lock.holder == holder.token)
                                .values(holder=None, pid=None, host=None, acquired_at=None))
    finally:
        if advisory is not None:
            advisory.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(name)})
            advisory.commit()
            advisory.close()


def _held_message(engine: Engine, name: str) -> str:
    with transaction(engine) as session:
        row = session.get(m.Lock, name)
        who = _describe(row) if row is not None and row.holder else "another session"
    return (f"another {name} run is in progress ({who}); refusing to start a second one."
            f" Wait for it to finish, or stop it first.")


def _take_row(engine: Engine, name: str, stale_after: timedelta, *, authoritative: bool
              ) -> Holder:
    me = Holder(token=uuid.uuid4().hex, pid=os.getpid(), host=socket.gethostname(),
                acquired_at=m.utcnow())
    with transaction(engine) as session:
        row = session.execute(select(m.Lock).where(m.Lock.name == name).with_for_update()
                              ).scalar_one_or_none()
        if row is None:
            row = m.Lock(name=name)
            session.add(row)
        took_over = ""
        if row.holder:
            stale, why = _stale(row, stale_after, authoritative)
            if not stale:
                raise LockHeld(f"another {name} run is in progress ({_describe(row)});"
                               f" refusing to start a second one. Wait for it to finish, or"
                               f" stop it first.")
            took_over = f"took over the {name} lock of {_describe(row)}: {why}"
        row.holder, row.pid, row.host, row.acquired_at = me.token, me.pid, me.host, me.acquired_at
    return Holder(me.token, me.pid, me.host, me.acquired_at, took_over)


def _stale(row: m.Lock, stale_after: timedelta, authoritative: bool) -> tuple[bool, str]:
    if authoritative:
        return True, "its database session is gone (PostgreSQL released its advisory lock)"
    if row.host == socket.gethostname() and row.pid is not None and not _pid_alive(row.pid):
        return True, "that process is no longer running"
    acquired = row.acquired_at
    if acquired is not None and acquired.tzinfo is None:  # SQLite drops the zone: it is UTC
        acquired = acquired.replace(tzinfo=m.utcnow().tzinfo)
    if acquired is not None and m.utcnow() - acquired > stale_after:
        return True, f"it is older than {stale_after}"
    return False, ""
