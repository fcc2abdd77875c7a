"""The nightly lock: one holder at a time; a dead holder's lock is taken over."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import update

from allocator.store import models as m
from allocator.store.engine import transaction
from allocator.store.lock import LockHeld, exclusive
from store.databases import migrated_engine


def test_a_second_holder_is_refused_and_the_lock_is_released(engine):
    with exclusive(engine) as holder:
        assert holder.pid == os.getpid()
        with pytest.raises(LockHeld, match="in progress"), exclusive(engine):
            pass
    with exclusive(engine):  # released
        pass
    with transaction(engine) as session:
        assert session.get(m.Lock, "nightly").holder is None


def test_a_lock_left_by_a_dead_process_is_taken_over(engine):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    import socket

    with transaction(engine) as session:
        session.execute(update(m.Lock).where(m.Lock.name == "nightly").values(
            holder="x" * 32, pid=int(dead.stdout), host=socket.gethostname(),
            acquired_at=m.utcnow()))
    with exclusive(engine) as holder:
        assert "took over" in holder.took_over


@pytest.fixture
def sqlite_engine(tmp_path):
    yield from migrated_engine(f"sqlite:///{tmp_path / 'book.db'}")


def test_a_live_holder_on_another_host_is_respected(sqlite_engine):
    """SQLite has only the lock row to go by (on PostgreSQL the advisory lock decides, and
    the concurrent-run tests cover it), so a row held on another host must be respected."""
    engine = sqlite_engine
    with transaction(engine) as session:
        session.execute(update(m.Lock).where(m.Lock.name == "nightly").values(
            holder="y" * 32, pid=1, host="elsewhere", acquired_at=m.utcnow()))
    with pytest.raises(LockHeld, match="elsewhere"), exclusive(engine):
        pass
