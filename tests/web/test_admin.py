"""Admins: accounts and the audit log."""

from __future__ import annotations

import re

from .conftest import PASSWORD, csrf_of, login


def test_add_disable_and_enable_a_user(client):
    token = login(client, "admin")
    short = client.post("/admin/users", data={"csrf_token": token, "username": "kim",
                                              "role": "broker", "password": "short"})
    assert "at least 12 characters" in short.text
    added = client.post("/admin/users", data={"csrf_token": token, "username": "kim",
                                              "role": "broker", "password": PASSWORD})
    assert "User kim added (broker)" in added.text
    user_id = re.search(r'/admin/users/(\d+)/active"[^<]*<input[^>]*>\s*<input[^>]*value="0"',
                        added.text.split("<td>kim</td>")[1]).group(1)
    client.post(f"/admin/users/{user_id}/active", data={"csrf_token": token, "active": "0"})
    audit = client.get("/admin/audit").text
    assert "user added" in audit and "user disabled" in audit and "kim" in audit

    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"username": "kim", "password": PASSWORD,
                                          "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 401


def test_the_audit_log_pages_and_filters(client):
    token = login(client, "admin")
    for i in range(3):
        client.post("/admin/users", data={"csrf_token": token, "username": f"u{i}",
                                          "role": "commissioner", "password": PASSWORD})
    page = client.get("/admin/audit?action=user+added").text
    assert "3 entries" in page
    assert page.count("<td>user added</td>") == 3
    assert "login" in client.get("/admin/audit").text
