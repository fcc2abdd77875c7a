"""Every route, for every role: allowed ones get their page (or a reasoned refusal of the input),
the others 403; without a session, pages redirect to the login and state changes get 401."""

from __future__ import annotations

import pytest

from .conftest import ROLES, csrf_of, login

B, C, A = "broker", "commissioner", "admin"
# (method, path, roles allowed); paths use ids that may not exist: an allowed role then gets
# a 404 page, which is still "allowed" (the role check comes first)
ROUTES = [
    ("GET", "/", (B, C, A)),
    ("GET", "/book", (B, C)),
    ("GET", "/book.xlsx", (B, C)),
    ("GET", "/book.csv", (B, C)),
    ("GET", "/referrals", (B,)),
    ("POST", "/referrals/upload", (B,)),
    ("POST", "/referrals/confirm", (B,)),
    ("POST", "/referrals/cancel", (B,)),
    ("GET", "/referrals/pending/rejects.csv", (B,)),
    ("GET", "/night", (B,)),
    ("POST", "/night/run", (B,)),
    ("GET", "/night/latest", (B,)),
    ("GET", "/night/jobs/999", (B,)),
    ("GET", "/night/jobs/999/status", (B,)),
    ("GET", "/night/jobs/999/progress.png", (B,)),
    ("GET", "/night/runs/999", (B,)),
    ("GET", "/night/runs/999/suggestions.csv", (B,)),
    ("GET", "/night/runs/999/suggestions.xlsx", (B,)),
    ("GET", "/night/runs/999/needs/N001", (B,)),
    ("POST", "/night/runs/999/decide", (B,)),
    ("GET", "/designs", (C,)),
    ("POST", "/designs/compare", (C,)),
    ("GET", "/designs/jobs/999", (C,)),
    ("GET", "/designs/jobs/999/status", (C,)),
    ("GET", "/designs/jobs/999/progress.png", (C,)),
    ("GET", "/designs/jobs/999/charts/cost.png", (C,)),
    ("GET", "/designs/jobs/999/comparison.xlsx", (C,)),
    ("GET", "/designs/jobs/999/comparison.csv", (C,)),
    ("GET", "/mini-competitions", (C,)),
    ("POST", "/mini-competitions/market", (C,)),
    ("POST", "/mini-competitions/start", (C,)),
    ("POST", "/mini-competitions/cancel", (C,)),
    ("GET", "/mini-competitions/jobs/999", (C,)),
    ("GET", "/mini-competitions/jobs/999/status", (C,)),
    ("GET", "/mini-competitions/jobs/999/progress.png", (C,)),
    ("GET", "/mini-competitions/jobs/999/chart.png", (C,)),
    ("GET", "/mini-competitions/jobs/999/ranking.csv", (C,)),
    ("GET", "/mini-competitions/jobs/999/result.xlsx", (C,)),
    ("GET", "/simulations", (C,)),
    ("POST", "/simulations/start", (C,)),
    ("GET", "/simulations/jobs/999", (C,)),
    ("GET", "/simulations/jobs/999/status", (C,)),
    ("GET", "/simulations/jobs/999/charts/unmet.png", (C,)),
    ("GET", "/simulations/jobs/999/simulation.xlsx", (C,)),
    ("GET", "/simulations/jobs/999/summary.csv", (C,)),
    ("GET", "/admin/users", (A,)),
    ("POST", "/admin/users", (A,)),
    ("POST", "/admin/users/999/active", (A,)),
    ("GET", "/admin/audit", (A,)),
    ("POST", "/logout", (B, C, A)),
]
# state-changing requests sent with a harmless body (bad input, so allowed roles change nothing)
BODIES = {"/night/run": {"solver": "not-a-solver"}, "/admin/users": {"username": ""},
          "/night/runs/999/decide": {"decision": "accept"},
          "/mini-competitions/start": {"lot": "NOPE"}, "/simulations/start": {"weeks": "0"}}


def test_the_list_holds_every_route_of_the_app(app):
    """A route added to the app and not to ROUTES would go untested for its roles."""
    import re

    public = {("GET", "/login"), ("POST", "/login")}  # tested in test_auth.py
    listed = public | {
        (method, re.sub(r"/999|/N001|/unmet|/cost|(?<=simulations/jobs/999)/summary", "/{}",
                        path).replace(".csv", ".{}")
               .replace(".xlsx", ".{}").replace(".png", ".{}"))
              for method, path, _ in ROUTES}
    routes = app.openapi()["paths"]  # every route of every router (none is left out of it)
    assert len(routes) > 40
    missing = []
    for path, methods in routes.items():
        shape = re.sub(r"\{[^}]+\}", "{}", path)
        shape = re.sub(r"\.(csv|xlsx|png)$", ".{}", shape)
        shape = re.sub(r"\.\{\}$", ".{}", shape)
        for method in methods:
            if (method.upper(), shape) not in listed:
                missing.append((method.upper(), path))
    assert not missing, missing


def _call(client, method, path, token):
    if method == "GET":
        return client.get(path, follow_redirects=False)
    data = {"csrf_token": token, **BODIES.get(path, {})}
    return client.post(path, data=data, follow_redirects=False)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_allows_its_roles_and_refuses_the_others(client, role):
    token = login(client, role)
    for method, path, allowed in ROUTES:
        if path == "/logout":
            continue  # would end the session mid-loop; tested below
        response = _call(client, method, path, token)
        if role in allowed:
            assert response.status_code not in (401, 403), (method, path, response.text[:300])
        else:
            assert response.status_code == 403, (method, path, response.status_code)
            assert "Not allowed" in response.text
    assert _call(client, "POST", "/logout", token).status_code == 303
    assert client.get("/book", follow_redirects=False).status_code == 303


def test_without_a_session_pages_send_to_the_login_and_changes_are_refused(client):
    token = csrf_of(client.get("/login").text)  # an anonymous session's token
    for method, path, _ in ROUTES:
        response = _call(client, method, path, token)
        if method == "GET":
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next=")
        else:
            assert response.status_code == 401, path
    assert client.get("/login").status_code == 200
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/htmx.min.js").status_code == 200


def test_the_login_returns_to_the_page_asked_for_but_never_off_site(client):
    first = client.get("/night/runs/1?zone=Z1", follow_redirects=False)
    assert first.headers["location"] == "/login?next=/night/runs/1%3Fzone%3DZ1"
    token = csrf_of(client.get("/login").text)
    for target, expected in (("/night/runs/1?zone=Z1", "/night/runs/1?zone=Z1"),
                             ("https://evil.example/", "/book"), ("//evil.example", "/book"),
                             ("/\\evil.example", "/book")):
        client.cookies.clear()
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"username": "broker", "password":
                                                "correct horse battery staple",
                                                "csrf_token": token, "next": target},
                               follow_redirects=False)
        assert response.headers["location"] == expected
