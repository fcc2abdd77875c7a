"""Admins: the accounts (add, disable, enable) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from allocator.store import audit
from allocator.store import models as m
from allocator.store import users as accounts
from allocator.store.engine import transaction
from allocator.store.users import Account, UserError
from allocator.web.auth import require
from allocator.web.pages import engine_of, flash, reader_of, record, redirect, render
from allocator.web.security import check_csrf

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
admin = require("admin")
AUDIT_PAGE = 100


@router.get("/users")
def users(request: Request, user: Account = Depends(admin)) -> Response:
    with transaction(reader_of(request)) as session:
        rows = accounts.all_users(session)
    return render(request, "users.html", users=rows, roles=m.ROLES)


@router.post("/users")
def add_user(request: Request, user: Account = Depends(admin),
             username: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "",
             password: Annotated[str, Form()] = "") -> Response:
    try:
        with transaction(engine_of(request)) as session:
            made = accounts.add_user(session, username.strip(), role, password)
            audit.record(session, "user added", user_id=user.id, username=user.username,
                         target=made.username, detail=f"role {made.role}",
                         client=request.client.host if request.client else "")
    except UserError as error:
        flash(request, f"Not added: {error}.", "error")
        return redirect("/admin/users")
    flash(request, f"User {made.username} added ({made.role}).", "ok")
    return redirect("/admin/users")


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: int, user: Account = Depends(admin),
               active: Annotated[str, Form()] = "") -> Response:
    if user_id == user.id:
        flash(request, "You cannot disable your own account.", "error")
        return redirect("/admin/users")
    try:
        with transaction(engine_of(request)) as session:
            changed = accounts.set_active(session, user_id, active == "1")
    except UserError as error:
        flash(request, str(error), "error")
        return redirect("/admin/users")
    state = "enabled" if changed.active else "disabled"
    record(request, f"user {state}", target=changed.username)
    flash(request, f"User {changed.username} {state}.", "ok")
    return redirect("/admin/users")


@router.get("/audit")
def audit_log(request: Request, user: Account = Depends(admin),
              offset: Annotated[int, Query(ge=0)] = 0, action: str = "",
              username: str = "") -> Response:
    with transaction(reader_of(request)) as session:
        rows, total = audit.entries(session, offset=offset, limit=AUDIT_PAGE,
                                    action=action or None, username=username or None)
    return render(request, "audit.html", rows=rows, total=total, offset=offset,
                  size=AUDIT_PAGE, action=action, username=username)
