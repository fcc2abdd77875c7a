"""Rendering pages: the templates, what every page gets (user, CSRF token, messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from allocator.core import reasons
from allocator.store import audit
from allocator.store.engine import transaction
from allocator.web.security import csrf_token

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def templates() -> Jinja2Templates:
    """The app's templates (autoescaped), with the number and date filters the pages use."""
    t = Jinja2Templates(directory=str(TEMPLATES))
    t.env.filters["money"] = lambda v, cur="GBP": "" if v is None else f"{cur} {v:,.2f}"
    # as the library's sentences write it (``£1,234.50``): for pages that quote them
    t.env.filters["cash"] = lambda v, cur="GBP": "" if v is None else reasons.money(v, cur)
    t.env.filters["num"] = lambda v, d=1: "" if v is None else f"{v:,.{d}f}"
    t.env.filters["pct"] = lambda v, d=1: "" if v is None else f"{100 * v:.{d}f}%"
    t.env.filters["when"] = lambda v: "" if v is None else f"{v:%Y-%m-%d %H:%M}"
    return t


def render(request: Request, template: str, status_code: int = 200, **context: Any
           ) -> HTMLResponse:
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    base = {"user": getattr(request.state, "user", None),
            "csrf_token": csrf_token(request.session) if "session" in request.scope else "",
            "flashes": flashes}
    return request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code)


def flash(request: Request, text: str, kind: str = "info") -> None:
    """A message shown once on the next page rendered for this session."""
    request.session.setdefault("flash", [])
    request.session["flash"] = [*request.session["flash"], [kind, text]][-10:]


def redirect(url: str) -> RedirectResponse:
    """After a POST: see the result with a GET (303), so a reload repeats nothing."""
    return RedirectResponse(url, status_code=303)


def engine_of(request: Request) -> Engine:
    """The book's engine for changes (and reads that must see the latest writes)."""
    return request.app.state.engine


def reader_of(request: Request) -> Engine:
    """The book's engine for what only reads (on SQLite, readers that never queue for the
    write lock; see :func:`allocator.store.engine.make_engine`)."""
    return request.app.state.reader


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def record(request: Request, action: str, *, target: str = "", detail: str = "") -> None:
    """An audit entry for the current user (its own transaction)."""
    user = getattr(request.state, "user", None)
    with transaction(engine_of(request)) as session:
        audit.record(session, action, user_id=user.id if user else None,
                     username=user.username if user else "", target=target, detail=detail,
                     client=client_address(request))


def download(body: bytes, filename: str, media_type: str) -> Response:
    """A file download; the name is reduced to safe characters (it may echo user input)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[:100] or "download"
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{safe}"'})


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


class NotFound(LookupError):
    """A run, need or job that does not exist (404)."""


def job_of(request: Request, job_id: int, kind: str, label: str, *,
           done_for: str | None = None) -> Any:
    """The job ``job_id`` of ``kind`` (404 naming it as ``label`` otherwise); with ``done_for``
    (what the caller wants of it: "charts", "workbook"), a done one only."""
    from allocator.store import jobs as store

    with transaction(reader_of(request)) as session:
        job = store.get(session, job_id)
    if job is None or job.kind != kind:
        raise NotFound(f"there is no {label} {job_id}")
    if done_for is not None and job.status != "done":
        raise NotFound(f"{label} {job_id} has no {done_for}: it is {job.status}")
    return job
