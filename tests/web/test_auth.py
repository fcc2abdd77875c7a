"""Login, sessions, CSRF and throttling."""

from __future__ import annotations

from sqlalchemy import select

from allocator.store import models as m
from allocator.store.engine import make_engine, transaction

from .conftest import PASSWORD, csrf_of, login


def _try(client, username, password):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token}, follow_redirects=False)


def test_a_wrong_password_is_refused_and_logged(client, book_url):
    response = _try(client, "broker", "wrong password, clearly")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert _try(client, "nobody", "whatever it is here").status_code == 401
    with transaction(make_engine(book_url)) as session:
        failed = session.execute(select(m.AuditEntry.username).where(
            m.AuditEntry.action == "login failed")).scalars().all()
    assert sorted(failed) == ["broker", "nobody"]


def test_logins_are_throttled_after_repeated_failures(client):
    for _ in range(5):
        assert _try(client, "broker", "not the password at all").status_code == 401
    # the right password is refused too while throttled, without being checked
    response = _try(client, "broker", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.text
    # another user is not throttled by the broker's failures
    assert _try(client, "admin", PASSWORD).status_code == 303


def test_logins_are_throttled_per_client_address(app, tmp_path):
    from fastapi.testclient import TestClient

    from allocator.web.app import create_app

    from .conftest import settings_for

    strict = create_app(settings_for(app.state.settings.db_url, tmp_path / "b",
                                     login_max_failures_per_client=3))
    with TestClient(strict) as client:
        for name in ("a1", "a2", "a3"):
            assert _try(client, name, "guessing passwords here").status_code == 401
        assert _try(client, "broker", PASSWORD).status_code == 429


def test_the_session_cookie_is_httponly_and_samesite(client):
    response = _try(client, "broker", PASSWORD)
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain HTTP here; see the TLS test


def test_the_session_cookie_is_secure_over_tls(app, tmp_path):
    from fastapi.testclient import TestClient

    from allocator.web.app import create_app

    from .conftest import settings_for

    tls = create_app(settings_for(app.state.settings.db_url, tmp_path / "t",
                                  secure_cookies=True))
    with TestClient(tls, base_url="https://testserver") as client:
        response = _try(client, "broker", PASSWORD)
        assert "secure" in response.headers["set-cookie"].lower()
        assert "strict-transport-security" in response.headers


def test_a_state_change_without_the_csrf_token_is_refused(client, book_url):
    token = login(client, "broker")
    for data in ({}, {"csrf_token": "forged"}):
        response = client.post("/night/run", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "Form expired" in response.text
    # the header form (htmx) is accepted with the right token
    response = client.post("/night/run", data={"solver": "not-a-solver"},
                           headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert response.status_code == 303
    with transaction(make_engine(book_url)) as session:
        assert session.execute(select(m.Job)).first() is None


def test_the_login_form_needs_its_csrf_token(client):
    client.get("/login")
    response = client.post("/login", data={"username": "broker", "password": PASSWORD})
    assert response.status_code == 403


def test_a_disabled_user_is_out_at_the_next_click(client, book_url):
    login(client, "broker")
    assert client.get("/book").status_code == 200
    with transaction(make_engine(book_url)) as session:
        user = session.execute(select(m.User).where(m.User.username == "broker")).scalar_one()
        user.active = False
    assert client.get("/book", follow_redirects=False).status_code == 303
    assert _try(client, "broker", PASSWORD).status_code == 401


def test_a_new_session_at_login(client):
    client.get("/login")
    before = client.cookies.get("allocator_session")
    _try(client, "broker", PASSWORD)
    assert client.cookies.get("allocator_session") != before
