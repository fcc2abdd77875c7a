"""The shipped migrations create exactly the models' schema, on SQLite and PostgreSQL."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from allocator.store import migrate
from allocator.store import models as m
from allocator.store.engine import make_engine, transaction


def test_migrations_match_the_models(engine):
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), m.Base.metadata)
    assert diff == []
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_init_is_idempotent_and_seeds_the_book_row_and_lock(engine):
    migrate.upgrade(engine)  # a second init changes nothing
    with transaction(engine) as session:
        assert session.execute(select(m.BookState.version)).scalar_one() == 0
        assert session.get(m.Lock, "nightly").holder is None


def test_downgrade_then_upgrade(engine):
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_an_uninitialised_database_is_refused_with_the_fix(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(migrate.SchemaOutOfDate, match="allocator db init"):
        migrate.require_current(engine)


def _job_kinds(engine) -> list[str]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return [k for (k,) in connection.execute(text("SELECT kind FROM jobs ORDER BY id"))]


def _add_job(engine, kind: str) -> None:
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO jobs (kind, status, title, params, progress, result, message, server,"
            " created_at) VALUES (:kind, 'done', 't', '{}', '[]', '{}', '', 's',"
            " '2026-12-06 00:00:00+00')"), {"kind": kind})


def test_0003_lets_jobs_be_simulations_and_keeps_the_jobs_there_were(db_url):
    """A book at 0002 (web jobs of three kinds) upgraded: its jobs kept, a simulation job
    accepted, an unknown kind still refused by the database; downgraded: the simulations go
    (0002 cannot hold them), the rest stays."""
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine, "0002")
        _add_job(engine, "minicomp")
        with pytest.raises(IntegrityError):
            _add_job(engine, "simulate")
        migrate.upgrade(engine)
        assert _job_kinds(engine) == ["minicomp"]
        _add_job(engine, "simulate")
        with pytest.raises(IntegrityError):
            _add_job(engine, "bogus")
        assert _job_kinds(engine) == ["minicomp", "simulate"]
        migrate.downgrade(engine, "0002")
        assert _job_kinds(engine) == ["minicomp"]
        with pytest.raises(IntegrityError):
            _add_job(engine, "simulate")
    finally:
        engine.dispose()
