"""Databases for the store's and the nightly run's tests: SQLite always, PostgreSQL when a
server is given in ``ALLOCATOR_TEST_PG_URL`` (``.ci/postgres.sh`` starts one and sets it).

Every PostgreSQL test gets a database of its own, created and dropped around it. Where no
server is available the PostgreSQL variants skip, saying why (``pytest -ra`` lists it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from random_instances import random_instance
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from allocator.core.problem import Problem
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve
from allocator.store import migrate
from allocator.store.engine import make_engine, resolve_url

PG_ENV = "ALLOCATOR_TEST_PG_URL"
BACKENDS = ("sqlite", "postgresql")
NO_PG = (f"PostgreSQL tests skipped: {PG_ENV} is not set (no server could be started here;"
         " .ci/postgres.sh starts one and sets it)")


def fresh_url(backend: str, tmp_path) -> Iterator[str]:
    """A URL to an empty database on ``backend``; the database is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'book.db'}"
        return
    server = os.environ.get(PG_ENV)
    if not server:
        # .ci/run sets ALLOCATOR_REQUIRE_SERVICES=1: there PostgreSQL must run, never skip
        if os.environ.get("ALLOCATOR_REQUIRE_SERVICES") == "1":
            pytest.fail(NO_PG, pytrace=False)
        pytest.skip(NO_PG)
    base = make_url(resolve_url(server))
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def migrated_engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path) -> Iterator[str]:
    yield from fresh_url(request.param, tmp_path)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    yield from migrated_engine(db_url)


def consistent_book(seed: int, n_needs: int = 14, active_share: float = 0.6,
                    **kwargs) -> tuple[Instance, dict[str, str]]:
    """A random market whose people in care fit it: solve it, then keep the first
    ``active_share`` of the served needs with their provider (active) and the rest as new
    referrals. Returns the instance and the current offer of each active need."""
    base = random_instance(seed, n_needs=n_needs, **kwargs)
    base = base.model_copy(update={"needs": [n.model_copy(update={"current_provider": None})
                                             for n in base.needs],
                                   "policy": base.policy.model_copy(
                                       update={"transfer_penalty": 0.0})})
    result = solve(Problem.from_instance(base), SolveParams(time_limit=10))
    assert result.solution is not None
    served = [n.id for n in base.needs if n.id in result.solution.assignment]
    keep = set(served[: int(round(active_share * len(served)))])
    offers = {o.key: o for o in base.offers}
    needs = [n.model_copy(update={"current_provider": offers[result.solution.assignment[n.id]]
                                  .provider}) if n.id in keep else n for n in base.needs]
    inst = base.model_copy(update={"needs": needs})
    # the kept part alone fits: it is a subset of a feasible allocation
    return inst, {nid: result.solution.assignment[nid] for nid in keep}
