"""Alembic environment for the book: run migrations on the engine handed over in the config.

There is no ``alembic.ini``: :func:`allocator.store.migrate.alembic_config` builds the
configuration and puts the engine in ``config.attributes["engine"]``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from allocator.store.models import Base


def _run() -> None:
    config = context.config
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line with a URL in the config
        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise SystemExit("no engine handed over and no sqlalchemy.url in the alembic config")
        engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        # SQLAlchemy 2 connections do not autocommit: make the migration stick.
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run them on a database")
_run()
