"""CSRF tokens, security headers and the request size limit.

* **CSRF**: every session holds a random token; every state-changing request (POST) must
  carry it, in the form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends the
  header: the page's ``<body hx-headers>`` holds it). Compared in constant time.
* **Headers**: a Content-Security-Policy without inline scripts or styles (every script and
  stylesheet is a static file), no framing, no sniffing, no referrer to other sites, no
  caching of pages (they hold personal data), HSTS when served over TLS.
* **Size**: a request body larger than the limit is refused (413) before it is read whole.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")


class CsrfError(Exception):
    """The request carries no CSRF token, or the wrong one."""


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """A dependency: refuse a state-changing request without the session's token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded",
                                    "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise CsrfError("the form has expired or did not come from this site: reload the page"
                        " and try again")


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response."""

    def __init__(self, app: ASGIApp, *, tls: bool) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "same-origin"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if not static:
                    headers["Cache-Control"] = "no-store"
                if self.tls or scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, wrapped)


class BodyLimit:
    """ASGI middleware refusing request bodies above ``limit`` bytes with 413.

    The declared Content-Length is checked first; a body sent without one (chunked) is
    counted as it arrives and cut off at the limit.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await _too_large(send, self.limit)
                    return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except _TooLarge:
            if not started:
                await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f"The upload is too large: the limit is {limit / 1_048_576:.3g} MB.".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
