"""Schema migrations, driven by Alembic without an ``alembic.ini``.

The migration scripts ship inside the package (``allocator/store/migrations``), so that
``allocator db init`` works from an installed package: :func:`alembic_config` points Alembic at
them and at the database programmatically.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database is not at the schema this code expects."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for ``engine`` (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # The URL is only for Alembic's own messages; env.py uses the engine passed in attributes.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=True)
                           .replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create the schema, or bring it up to ``revision``; a database at head is left alone."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is missing or not at this code's schema.

    Raises
    ------
    SchemaOutOfDate
        With the fix: ``allocator db init``.
    """
    current = current_revision(engine)
    head = head_revision(engine)
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaOutOfDate(f"{where} has no allocator book yet: run `allocator db init`"
                              f" first")
    raise SchemaOutOfDate(f"{where} is at schema revision {current}, this code needs {head}:"
                          f" run `allocator db init` to upgrade it")
