"""Security headers on every answer, and pages that need no inline script or style."""

from __future__ import annotations

import re

from allocator.web.pages import TEMPLATES

from .conftest import login


def test_security_headers(client):
    for response in (client.get("/login"), client.get("/static/app.css")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
    login(client, "broker")
    assert client.get("/book").headers["cache-control"] == "no-store"


def test_templates_hold_no_inline_script_style_or_handler():
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert "<style" not in text and " style=" not in text, path.name
        assert not re.search(r"\son[a-z]+=", text), path.name
        assert "hx-on" not in text, path.name


def test_no_api_docs_are_served(client):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path, follow_redirects=False).status_code in (303, 404)
