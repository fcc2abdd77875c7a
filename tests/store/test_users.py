"""Accounts: argon2 hashes, refusals, authentication."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator.store import models as m
from allocator.store import users
from allocator.store.engine import transaction

PASSWORD = "a long enough password"


def test_add_and_authenticate(engine):
    with transaction(engine) as session:
        account = users.add_user(session, "sam", "broker", PASSWORD)
        stored = session.execute(select(m.User)).scalar_one()
        assert stored.password_hash.startswith("$argon2id$")
        assert PASSWORD not in stored.password_hash
    with transaction(engine) as session:
        assert users.authenticate(session, "sam", PASSWORD) == account
        assert users.authenticate(session, "sam", PASSWORD + "x") is None
        assert users.authenticate(session, "nobody", PASSWORD) is None
        assert session.get(m.User, account.id).last_login_at is not None


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("sam", "broker", "short", "at least 12"),
    ("sam", "superuser", PASSWORD, "unknown role"),
    ("sam smith", "broker", PASSWORD, "a username has"),
    ("", "broker", PASSWORD, "a username has"),
])
def test_bad_accounts_are_refused(engine, name, role, password, message):
    with transaction(engine) as session, pytest.raises(users.UserError, match=message):
        users.add_user(session, name, role, password)


def test_a_taken_name_is_refused_unless_replaced_and_disabled_users_cannot_log_in(engine):
    with transaction(engine) as session:
        first = users.add_user(session, "sam", "broker", PASSWORD)
    with transaction(engine) as session, pytest.raises(users.UserError, match="exists"):
        users.add_user(session, "sam", "admin", PASSWORD)
    with transaction(engine) as session:
        users.set_active(session, first.id, False)
    with transaction(engine) as session:
        assert users.authenticate(session, "sam", PASSWORD) is None
        again = users.add_user(session, "sam", "admin", "another good password",
                               replace=True)
    assert again.role == "admin" and again.active
