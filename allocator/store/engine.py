"""Where the book lives: database URLs, engines and transactions.

The default is an SQLite file, ``sqlite:///allocator.db`` in the working directory, or the URL
in the ``ALLOCATOR_DB`` environment variable; any SQLAlchemy URL works, PostgreSQL included
(``postgresql://...`` is read as ``postgresql+psycopg://...``, the driver we install).

SQLite is set up so that its transactions behave like PostgreSQL's for our purposes: foreign
keys are enforced, every transaction starts with ``BEGIN IMMEDIATE`` (it takes the write lock at
once, so two writers queue instead of failing half-way on a lock upgrade), a writer waits up to
``SQLITE_BUSY_S`` for another, and the journal is WAL so readers never block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

DEFAULT_URL = "sqlite:///allocator.db"
ENV_VAR = "ALLOCATOR_DB"
SQLITE_BUSY_S = 60.0
PG_CONNECT_TIMEOUT_S = 15


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``$ALLOCATOR_DB``, else the default SQLite file.

    A bare path (no ``://``) is an SQLite file; ``postgresql://`` gets the psycopg 3 driver.
    """
    url = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    if "://" not in url:
        url = f"sqlite:///{Path(url)}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def make_engine(url: str | None = None, *, echo: bool = False, read_only: bool = False
                ) -> Engine:
    """An engine for ``url`` (see :func:`resolve_url`), with the SQLite set-up above.

    ``read_only`` (SQLite): transactions start with a plain ``BEGIN`` and the connection
    refuses writes (``PRAGMA query_only``), so that many readers - the web app's pages - read
    WAL snapshots side by side instead of queueing for the write lock. Writers keep using an
    engine made without it. On PostgreSQL it changes nothing.
    """
    resolved = make_url(resolve_url(url))
    if resolved.get_backend_name() == "sqlite":
        engine = create_engine(resolved, echo=echo, connect_args={"timeout": SQLITE_BUSY_S})
        _configure_sqlite(engine, read_only=read_only)
        return engine
    connect_args: dict[str, object] = {}
    if resolved.get_backend_name() == "postgresql" and "connect_timeout" not in resolved.query:
        # an unroutable host would otherwise hang a command for minutes before the error
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    return create_engine(resolved, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def _configure_sqlite(engine: Engine, *, read_only: bool = False) -> None:
    # The pysqlite driver opens transactions lazily and on its own terms; take that over so
    # that BEGIN IMMEDIATE starts every transaction (SQLAlchemy's documented recipe).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_S * 1000)}")
        if read_only:
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on any error.

    Objects stay usable after the commit (``expire_on_commit=False``), so that callers can
    return what they wrote.
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
