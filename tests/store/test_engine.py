import pytest

from allocator.store.engine import DEFAULT_URL, ENV_VAR, resolve_url


def test_resolve_url(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_url() == DEFAULT_URL
    assert resolve_url("book.db") == "sqlite:///book.db"
    assert resolve_url("postgresql://u@h/d") == "postgresql+psycopg://u@h/d"
    monkeypatch.setenv(ENV_VAR, "sqlite:///x.db")
    assert resolve_url() == "sqlite:///x.db"
    assert resolve_url("sqlite:///y.db") == "sqlite:///y.db"


def test_a_failed_transaction_writes_nothing(engine):
    from sqlalchemy import select

    from allocator.store import models as m
    from allocator.store.engine import transaction

    with pytest.raises(RuntimeError), transaction(engine) as session:
        session.add(m.Zone(id="z", seq=0, name=""))
        session.flush()
        raise RuntimeError("boom")
    with transaction(engine) as session:
        assert session.execute(select(m.Zone)).first() is None


def test_a_read_only_sqlite_engine_reads_beside_a_writer_and_never_writes(tmp_path):
    from sqlalchemy import select, update
    from sqlalchemy.exc import OperationalError

    from allocator.store import migrate
    from allocator.store import models as m
    from allocator.store.engine import make_engine, transaction

    url = f"sqlite:///{tmp_path / 'b.db'}"
    writer = make_engine(url)
    migrate.upgrade(writer)
    reader = make_engine(url, read_only=True)
    with transaction(writer) as session:  # holds the write lock...
        session.execute(update(m.BookState).values(version=5))
        with transaction(reader) as other:  # ...and a reader still reads, the last commit
            assert other.execute(select(m.BookState.version)).scalar_one() == 0
    with transaction(reader) as session:
        assert session.execute(select(m.BookState.version)).scalar_one() == 5
    with pytest.raises(OperationalError, match="readonly"), transaction(reader) as session:
        session.execute(update(m.BookState).values(version=6))
