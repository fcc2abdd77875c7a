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
