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
