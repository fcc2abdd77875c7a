"""The nightly run: start it, watch it, then tonight's suggestions, their explanations and the
brokers' decisions (one by one or in bulk), and downloads of what is on screen."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from allocator.nightly import board
from allocator.nightly.decisions import DecisionError, decide_many
from allocator.nightly.run import NightlyOptions
from allocator.store import jobs as store
from allocator.store.engine import transaction
from allocator.store.users import Account
from allocator.web.auth import require, safe_next
from allocator.web.charts import progress_chart
from allocator.web.downloads import csv_bytes, xlsx_bytes
from allocator.web.jobs import nightly_job
from allocator.web.pages import (
    CSV,
    XLSX,
    NotFound,
    download,
    engine_of,
    flash,
    job_of,
    reader_of,
    record,
    redirect,
    render,
)
from allocator.web.security import check_csrf

router = APIRouter(prefix="/night", dependencies=[Depends(check_csrf)])
broker = require("broker")
SOLVERS = ("auto", "highs", "cbc")


@router.get("")
def night(request: Request, user: Account = Depends(broker)) -> Response:
    engine = reader_of(request)
    with transaction(engine) as session:
        active = store.active(session, "nightly")
        recent = store.recent(session, "nightly", 10)
    return render(request, "night.html", runs=board.runs(engine), active=active, jobs=recent,
                  solvers=SOLVERS,
                  time_limit=request.app.state.settings.nightly_time_limit)


@router.post("/run")
def start(request: Request, user: Account = Depends(broker),
          time_limit: Annotated[float | None, Form()] = None,
          max_moves: Annotated[str, Form()] = "", solver: Annotated[str, Form()] = "auto"
          ) -> Response:
    settings = request.app.state.settings
    try:
        if solver not in SOLVERS:
            raise ValueError(f"solver: choose one of {', '.join(SOLVERS)}")
        moves = int(max_moves) if max_moves.strip() else None
        options = NightlyOptions(solver=solver, max_moves=moves,
                                 time_limit=time_limit or settings.nightly_time_limit)
    except (ValueError, ValidationError) as error:
        flash(request, f"The run was not started: {error}", "error")
        return redirect("/night")
    engine = engine_of(request)
    with transaction(engine) as session:
        if store.active(session, "nightly") is not None:
            flash(request, "A nightly run is already running: watch it below.", "error")
            return redirect("/night")
        job = store.create(session, "nightly", title="nightly run", user_id=user.id,
                           params=options.model_dump(mode="json"),
                           server=request.app.state.jobs.server)
        job_id = job.id
    request.app.state.jobs.submit(job_id, nightly_job)
    record(request, "nightly run started", target=f"job {job_id}",
           detail=options.model_dump_json())
    return redirect(f"/night/jobs/{job_id}")


def _job(request: Request, job_id: int, kind: str = "nightly") -> store.m.Job:
    return job_of(request, job_id, kind, f"{kind} job")


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, user: Account = Depends(broker)) -> Response:
    return render(request, "job.html", job=_job(request, job_id), kind="nightly")


@router.get("/jobs/{job_id}/status")
def job_status(request: Request, job_id: int, user: Account = Depends(broker)) -> Response:
    return render(request, "job_status.html", job=_job(request, job_id), kind="nightly")


@router.get("/jobs/{job_id}/progress.png")
def job_chart(request: Request, job_id: int, user: Account = Depends(broker)) -> Response:
    job = _job(request, job_id)
    return Response(progress_chart(job.progress or []), media_type="image/png")


# ----------------------------------------------------------------------------- suggestions


def _page(request: Request, run_id: int, zone: str, priority: str, action: str,
          decided: str, offset: int, limit: int | None) -> board.SuggestionPage:
    try:
        return board.suggestions(reader_of(request), run_id, zone=zone or None,
                                 priority=priority or None,
                                 action=action if action in board.ACTIONS else None,
                                 decided=decided if decided in board.DECIDED else None,
                                 offset=max(0, offset), limit=limit)
    except board.NoSuchRun as error:
        raise NotFound(str(error)) from None


@router.get("/latest")
def latest(request: Request, user: Account = Depends(broker)) -> Response:
    run_id = board.latest_run_id(reader_of(request))
    if run_id is None:
        flash(request, "No nightly run yet: start one.")
        return redirect("/night")
    return redirect(f"/night/runs/{run_id}")


@router.get("/runs/{run_id}")
def suggestions(request: Request, run_id: int, user: Account = Depends(broker),
                zone: str = "", priority: str = "", action: str = "", decided: str = "",
                offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    size = request.app.state.settings.page_size
    page = _page(request, run_id, zone, priority, action, decided, offset, size)
    filters = {"zone": zone, "priority": priority, "action": action, "decided": decided}
    query = urlencode({k: v for k, v in filters.items() if v})
    here = f"/night/runs/{run_id}" + (f"?{query}&offset={offset}" if query
                                      else f"?offset={offset}")
    return render(request, "suggestions.html", page=page, filters=filters, query=query,
                  here=here, columns=board.COLUMNS, size=size,
                  currency=page.currency)


@router.get("/runs/{run_id}/suggestions.{fmt}")
def suggestions_download(request: Request, run_id: int, fmt: str,
                         user: Account = Depends(broker), zone: str = "", priority: str = "",
                         action: str = "", decided: str = "") -> Response:
    if fmt not in ("csv", "xlsx"):
        raise NotFound(f"no {fmt} download")
    page = _page(request, run_id, zone, priority, action, decided, 0, None)
    header, rows = board.table(page)
    record(request, "suggestions downloaded", target=f"run {run_id}",
           detail=f"{fmt}, {len(rows)} rows")
    name = f"run{run_id}_suggestions.{fmt}"
    if fmt == "csv":
        return download(csv_bytes(header, rows), name, CSV)
    return download(xlsx_bytes({f"run {run_id}": (header, rows)}, page.currency), name, XLSX)


@router.get("/runs/{run_id}/needs/{need_id}")
def explanation(request: Request, run_id: int, need_id: str, user: Account = Depends(broker),
                back: str = "") -> Response:
    try:
        detail = board.suggestion(reader_of(request), run_id, need_id)
    except board.NoSuchRun as error:
        raise NotFound(str(error)) from None
    return render(request, "suggestion.html", d=detail,
                  back=safe_next(back) or f"/night/runs/{run_id}")


@router.post("/runs/{run_id}/decide")
def decide(request: Request, run_id: int, user: Account = Depends(broker),
           need: Annotated[list[str] | None, Form()] = None,
           decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
           back: Annotated[str, Form()] = "") -> Response:
    """Accept or reject one suggestion (one ``need``) or several (the ticked ones)."""
    target = safe_next(back) or f"/night/runs/{run_id}"
    needs = [n for n in (need or []) if n]
    if not needs:
        flash(request, "Tick at least one suggestion first.", "error")
        return redirect(target)
    try:
        outcomes = decide_many(engine_of(request), run_id, needs, decision,
                               reason=reason.strip())
    except DecisionError as error:
        flash(request, f"Nothing decided: {error}.", "error")
        return redirect(target)
    done = [(n, o) for n, o in outcomes if not isinstance(o, DecisionError)]
    refused = [(n, o) for n, o in outcomes if isinstance(o, DecisionError)]
    for need_id, outcome in done:
        record(request, f"suggestion {decision}ed", target=f"run {run_id} need {need_id}",
               detail=f"{outcome}" + (f"; reason: {reason.strip()}" if reason.strip() else ""))
    if done:
        verb = "accepted" if decision == "accept" else "rejected"
        names = ", ".join(n for n, _ in done[:10]) + (" ..." if len(done) > 10 else "")
        after = (" The next nightly run will suggest another provider for them, or say why"
                 " nobody can take them." if decision == "reject" else "")
        flash(request, f"{len(done)} suggestion(s) {verb}: {names}.{after}", "ok")
    for need_id, refusal in refused[:10]:
        flash(request, f"{need_id}: not {decision}ed: {refusal}.", "error")
    return redirect(target)
