"""The application factory: :func:`create_app` builds one app on one book from its settings.

Nothing is global: the engine, the templates and the job runner live on ``app.state``, so
tests build as many apps as they like, each on its own temporary book.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from allocator.store.engine import is_sqlite, make_engine
from allocator.store.migrate import require_current
from allocator.web import auth
from allocator.web.jobs import JobRunner
from allocator.web.pages import STATIC, NotFound, redirect, render, templates
from allocator.web.routes import admin, book, designs, minicomp, night, simulate
from allocator.web.security import BodyLimit, CsrfError, SecurityHeaders
from allocator.web.settings import WebSettings

SESSION_COOKIE = "allocator_session"


def create_app(settings: WebSettings) -> FastAPI:
    """The web app on the book at ``settings.db_url`` (which must be at the current schema).

    Raises
    ------
    allocator.store.migrate.SchemaOutOfDate
        When the book is missing or not migrated (the message gives the fix).
    """
    engine = make_engine(settings.db_url)
    require_current(engine)
    reader = make_engine(settings.db_url, read_only=True) if is_sqlite(engine) else engine
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    runner = JobRunner(engine)
    hashing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="allocator-login")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner.start()
        try:
            yield
        finally:
            runner.stop()
            hashing.shutdown(wait=False)

    app = FastAPI(title="Care allocator", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.reader = reader
    app.state.templates = templates()
    app.state.jobs = runner
    app.state.hashing = hashing

    # outermost last: size limit first, then headers on every answer, then the session
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie=SESSION_COOKIE, max_age=settings.session_max_age_s,
                       same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(SecurityHeaders, tls=settings.secure_cookies)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + 64 * 1024)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, book.router, night.router, designs.router, minicomp.router,
                   simulate.router, admin.router):
        app.include_router(router)
    _handlers(app)
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(auth.NotLoggedIn)
    async def not_logged_in(request: Request, _error: auth.NotLoggedIn) -> Response:
        if request.method == "GET" and "hx-request" not in request.headers:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return redirect(f"/login?next={_quote(target)}")
        return Response("Log in first.", status_code=401, media_type="text/plain")

    @app.exception_handler(auth.Forbidden)
    async def forbidden(request: Request, error: auth.Forbidden) -> Response:
        return render(request, "error.html", status_code=403, title="Not allowed",
                      message=str(error))

    @app.exception_handler(CsrfError)
    async def csrf(request: Request, error: CsrfError) -> Response:
        return render(request, "error.html", status_code=403, title="Form expired",
                      message=str(error))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> Response:
        return render(request, "error.html", status_code=404, title="Not found",
                      message=str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        lines = [f"{'.'.join(str(x) for x in e['loc'][1:]) or 'request'}: {e['msg']}"
                 for e in error.errors()]
        return render(request, "error.html", status_code=400, title="Check the form",
                      message="; ".join(lines))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        return render(request, "error.html", status_code=error.status_code,
                      title="Not found" if error.status_code == 404 else "Error",
                      message=str(error.detail))


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
