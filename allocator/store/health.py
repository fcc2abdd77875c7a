"""What can be wrong with a book, said in words: the URL, the file, the database itself.

Three checks, in the order a command needs them:

1. :func:`check_url` before anything is created: the URL parses, names a backend we support,
   and for SQLite its folder exists and the path is not a folder. A bare word such as
   ``notaurl`` is refused (it used to become an SQLite file of that name in the working
   folder); a bare path is accepted when it names an existing file or ends in ``.db``,
   ``.sqlite`` or ``.sqlite3``.
2. :func:`check_integrity` before a command writes: SQLite's ``PRAGMA quick_check`` (every
   page and index readable and consistent; ``integrity_check`` also cross-checks index
   content and is much slower). A damaged book is never written into.
3. :func:`describe` turns any error the driver raised into one sentence naming the URL, the
   file and what is wrong (``file is not a database``, ``database disk image is malformed``,
   server unreachable, ...), for the CLI to print with exit code 2 instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from allocator.store.engine import DEFAULT_URL, ENV_VAR, resolve_url

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
BACKENDS = ("sqlite", "postgresql")


class StoreError(Exception):
    """A book that cannot be used, with the sentence to show (URL, file, what is wrong)."""


def shown(url: str) -> str:
    """The URL as it may be printed (password hidden)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url


def check_url(url: str | None) -> str:
    """The resolved URL (:func:`allocator.store.engine.resolve_url`), or :class:`StoreError`.

    Nothing is created or opened.
    """
    given = url or os.environ.get(ENV_VAR) or DEFAULT_URL
    source = "--db" if url else f"${ENV_VAR}" if os.environ.get(ENV_VAR) else "the default"
    if "://" not in given:
        path = Path(given)
        if not (path.suffix.lower() in SQLITE_SUFFIXES or path.is_file()):
            raise StoreError(
                f"{source} {given!r} is not a database URL: give sqlite:///FILE.db, "
                "postgresql://USER@HOST/NAME, or a file path ending in .db")
    resolved = resolve_url(given)
    try:
        parsed = make_url(resolved)
        backend = parsed.get_backend_name()
    except (ArgumentError, ValueError) as error:
        raise StoreError(f"{source} {given!r} is not a database URL ({error})") from None
    if backend not in BACKENDS:
        raise StoreError(f"{source} {shown(resolved)}: unsupported database {backend!r} "
                         f"(use {' or '.join(BACKENDS)})")
    try:
        parsed.get_dialect()
    except NoSuchModuleError as error:
        raise StoreError(f"{source} {shown(resolved)}: no driver for it ({error})") from None
    if backend == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return resolved
        path = Path(database)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.exists():
            raise StoreError(f"{shown(resolved)}: folder {folder} does not exist (create it "
                             "first; the book is not created in a folder that is not there)")
        if not folder.is_dir():
            raise StoreError(f"{shown(resolved)}: {folder} is not a folder")
        if path.is_dir():
            raise StoreError(f"{shown(resolved)}: {path} is a folder, not a database file")
        try:
            path.stat()
        except FileNotFoundError:
            pass
        except OSError as error:
            raise StoreError(f"{shown(resolved)}: {path}: {_os_words(error)}") from None
    return resolved


def _os_words(error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if error.errno == errno.EACCES:
        return "permission denied"
    return error.strerror or str(error)


def sqlite_file(engine: Engine) -> str | None:
    """The file of an SQLite book (None for another backend or an in-memory one)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    return None if database in ("", ":memory:") else database


def check_integrity(engine: Engine) -> None:
    """Refuse a damaged book (:class:`StoreError`); SQLite only (a server checks its own).

    Runs ``PRAGMA quick_check``: about a second per GB of book.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect() as connection:
            rows = [r[0] for r in connection.exec_driver_sql("PRAGMA quick_check").fetchall()]
    except SQLAlchemyError as error:
        raise StoreError(describe(error, engine)) from None
    if rows != ["ok"]:
        raise StoreError(_damaged(str(engine.url), sqlite_file(engine), rows))


def inspect_sqlite_file(url: str, file: str, *, need_book: bool, integrity: bool) -> None:
    """Look at an existing SQLite book through a read-only connection, before the engine
    opens it (the engine switches a database to WAL on connect, which writes its header).

    Raises :class:`StoreError` when the file is not an SQLite database, is damaged
    (``integrity``: ``PRAGMA quick_check``), or holds no allocator book (``need_book``).
    """
    uri = f"file:{Path(file).resolve().as_posix()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as error:
        raise StoreError(describe(error, url)) from None
    try:
        tables = {r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if integrity:
            rows = [r[0] for r in connection.execute("PRAGMA quick_check").fetchall()]
            if rows != ["ok"]:
                raise StoreError(_damaged(url, file, rows))
    except sqlite3.Error as error:
        raise StoreError(describe(error, url)) from None
    finally:
        connection.close()
    if need_book and "alembic_version" not in tables:
        raise StoreError(f"{shown(url)}: {file} holds no allocator book ("
                         f"{len(tables)} other table(s)): run `allocator db init` first, or "
                         "check the --db URL")


def _damaged(url: str, file: str | None, rows: list[Any]) -> str:
    first = "; ".join(" ".join(str(r).replace("*** in database main ***", "").split())
                      for r in rows[:3])
    more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
    return (f"{shown(url)}: the book {file} is damaged (SQLite integrity check: {first}{more});"
            " nothing was written. Restore it from a backup, or export what can be read with "
            "`sqlite3 FILE .recover`")


def ping(engine: Engine) -> None:
    """Open a connection and run one query (:class:`StoreError` if that fails)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise StoreError(describe(error, engine)) from None


_SQLITE_WORDS = {
    "file is not a database": "the file is not an SQLite database (damaged or another kind of "
                              "file)",
    "database disk image is malformed": "the database file is damaged (disk image is "
                                        "malformed)",
    "unable to open database file": "cannot open the database file (missing folder, "
                                    "permissions, or a folder of that name)",
    "attempt to write a readonly database": "the database file is read-only",
    "database is locked": "the database is locked by another program (try again when it is "
                          "done)",
    "disk i/o error": "disk I/O error reading the database file",
    "database or disk is full": "the disk is full",
    "no such table": "this database holds no allocator book (run `allocator db init`)",
}
_SERVER_WORDS = {
    "connection refused": "the database server refused the connection (is it running, on "
                          "that host and port?)",
    "could not translate host name": "unknown database host",
    "name or service not known": "unknown database host",
    "timeout expired": "the database server did not answer in time",
    "password authentication failed": "the server refused the user name or password",
    "does not exist": "no such database on the server",
    "permission denied": "the server refused access (permission denied)",
}


def describe(error: BaseException, engine_or_url: Engine | str | None = None) -> str:
    """One sentence for a database error: URL, file (SQLite), what is wrong."""
    if isinstance(error, StoreError):
        return str(error)
    url = (str(engine_or_url.url) if isinstance(engine_or_url, Engine)
           else engine_or_url or "")
    where = shown(url) if url else "the book"
    file = None
    if url:
        try:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "",
                                                                                  ":memory:"):
                file = parsed.database
        except (ArgumentError, ValueError):
            pass
    inner = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    raw = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    low = raw.lower()
    words = None
    table = _SQLITE_WORDS if isinstance(inner, sqlite3.Error) or file else _SERVER_WORDS
    for key, sentence in table.items():
        if key in low:
            words = sentence
            break
    what = words or raw
    detail = f" ({raw})" if words and raw.lower() not in words.lower() else ""
    file_part = f" (file {file})" if file else ""
    return f"{where}{file_part}: {what}{detail}"
