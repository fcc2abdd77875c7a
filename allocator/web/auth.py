"""Who is asking: login, logout, throttling, the current user and the role checks.

The session (a cookie signed with the server's secret; HttpOnly, SameSite=Lax, Secure when
served over TLS) holds the user's id and the CSRF token only. Every request re-reads the user,
so a disabled account is out at its next click. Logging in starts a new session (no session
fixation). Failed logins are counted from the audit log, per username and per client address,
over a window: past the limit the login is refused (429) without checking the password, until
the window has passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from allocator.store import audit
from allocator.store import users as accounts
from allocator.store.engine import transaction
from allocator.store.users import Account
from allocator.web.pages import client_address, engine_of, reader_of, record, redirect, render
from allocator.web.security import check_csrf

HOME = {"broker": "/book", "commissioner": "/designs", "admin": "/admin/users"}


class NotLoggedIn(Exception):
    """No session, or its user is gone or disabled."""


class Forbidden(Exception):
    """The user's role may not do this."""


def current_user(request: Request) -> Account:
    """The logged-in user (raises :class:`NotLoggedIn`); kept on ``request.state.user``."""
    user_id = request.session.get("user")
    if not isinstance(user_id, int):
        raise NotLoggedIn
    with transaction(reader_of(request)) as session:
        user = accounts.get(session, user_id)
    if user is None or not user.active:
        request.session.clear()
        raise NotLoggedIn
    request.state.user = user
    return user


def require(*roles: str) -> Callable[..., Account]:
    """A dependency: the current user, refused unless their role is one of ``roles``."""

    def dependency(user: Account = Depends(current_user)) -> Account:
        if user.role not in roles:
            raise Forbidden(f"this page is for {' or '.join(roles)}s; you are logged in as"
                            f" {user.role}")
        return user

    return dependency


router = APIRouter()


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", next=safe_next(next))


@router.post("/login", dependencies=[Depends(check_csrf)])
async def login(request: Request, username: str = Form(""), password: str = Form(""),
                next: str = Form("")) -> Response:
    # Password hashing is slow on purpose: it runs on the app's small hashing pool, so that a
    # burst of logins queues there instead of taking every worker thread from the pages.
    loop = asyncio.get_running_loop()
    throttled, user = await loop.run_in_executor(
        request.app.state.hashing, _check_login, request, username, password)
    settings = request.app.state.settings
    if throttled:
        minutes = f"{settings.login_window_minutes:g}"
        return render(request, "login.html", status_code=429, next=safe_next(next),
                      error=f"Too many failed logins: try again in {minutes} minutes.")
    if user is None:
        return render(request, "login.html", status_code=401, next=safe_next(next),
                      error="Wrong username or password.")
    request.session.clear()  # a new session: nothing from before the login carries over
    request.session["user"] = user.id
    return redirect(safe_next(next) or HOME[user.role])


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, user: Account = Depends(current_user)) -> Response:
    record(request, "logout")
    request.session.clear()
    return redirect("/login")


@router.get("/")
def home(user: Account = Depends(current_user)) -> Response:
    return redirect(HOME[user.role])


def _check_login(request: Request, username: str, password: str
                 ) -> tuple[bool, Account | None]:
    """(throttled, the account if the password is right), with its audit entry."""
    settings = request.app.state.settings
    client = client_address(request)
    since = audit.window_start(settings.login_window_minutes)
    with transaction(engine_of(request)) as session:
        by_user = audit.recent_failures(session, username=username, since=since)
        by_client = audit.recent_failures(session, client=client, since=since)
        if (by_user >= settings.login_max_failures
                or by_client >= settings.login_max_failures_per_client):
            audit.record(session, "login throttled", username=username, client=client)
            return True, None
        user = accounts.authenticate(session, username, password)
        if user is None:
            audit.record(session, audit.LOGIN_FAILED, username=username, client=client)
        else:
            audit.record(session, "login", user_id=user.id, username=user.username,
                         client=client)
        return False, user


def safe_next(target: str) -> str:
    """Only a path on this site (no scheme, no host): no open redirect after login."""
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or parts.scheme or parts.netloc):
        return ""
    return target
