"""Commissioners: a mini-competition for one lot (DESIGN.md 9.4) as a background job.

Two steps, so that the lot can be chosen from a list without JavaScript: the market is
checked first (an upload, or the book's market), which lists its lots that have block bids;
then the lot, the points and the time limit start the job. The job calls
:func:`allocator.design.minicompetition.mini_competition` as ``allocator mini-competition``
does; the result page, its chart and its downloads are drawn from the job's result with the
report helpers of :mod:`allocator.design.minicomp_report`.

A checked upload waits under a random name, named by the session (never by a server path),
until the job reads it (then it is deleted), another market is checked or the user cancels.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from allocator.store import jobs as store
from allocator.store.engine import transaction
from allocator.store.users import Account
from allocator.web.auth import require
from allocator.web.charts import minicomp_chart, progress_chart
from allocator.web.downloads import frame_csv_bytes, sheets_xlsx_bytes
from allocator.web.jobs import mini_competition_of, minicomp_job
from allocator.web.pages import (
    CSV,
    XLSX,
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
from allocator.web.uploads import (
    BOOK_MARKET,
    MARKET_SUFFIXES,
    MarketRefused,
    Saved,
    read_market,
    sha256,
)

router = APIRouter(prefix="/mini-competitions", dependencies=[Depends(check_csrf)])
commissioner = require("commissioner")
PENDING = "minicomp"  # the session's key for the checked market
DEFAULTS = {"lot": "", "quality_points": 60.0, "price_points": 40.0, "time_limit": 60.0}


def _uploads(request: Request) -> Path:
    return request.app.state.settings.data_dir / "uploads"


def _pending(request: Request) -> dict[str, Any] | None:
    """The checked market waiting for its lot: ``{"name", "path"}`` (path None: the book's)."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if pending.get("source") == "book":
        return {"name": BOOK_MARKET, "path": None}
    folder, suffix = str(pending.get("id", "")), str(pending.get("suffix", ""))
    path = _uploads(request) / folder / f"upload{suffix}"
    if not re.fullmatch(r"[0-9a-f]{16}", folder) or suffix not in MARKET_SUFFIXES \
            or not path.exists() or sha256(path) != pending.get("sha256"):
        request.session.pop(PENDING, None)
        return None
    return {"name": str(pending.get("name", "market")), "path": path}


def _discard(request: Request) -> None:
    """Forget the checked market and delete its upload (a market names people)."""
    pending = _pending(request)
    if pending is not None and pending["path"] is not None:
        shutil.rmtree(pending["path"].parent, ignore_errors=True)
    request.session.pop(PENDING, None)


def _market(request: Request, path: Path | None) -> Any:
    from allocator.instance.io import load_instance
    from allocator.store.book import export_instance

    if path is not None:
        return load_instance(path)
    with transaction(reader_of(request)) as session:
        return export_instance(session)


def _lots(market: Any) -> list[dict[str, Any]]:
    """The market's lots that have block bids, in the market's order."""
    counts: dict[str, int] = {}
    for bid in market.block_bids:
        counts[bid.lot] = counts.get(bid.lot, 0) + 1
    return [{"id": lot.id, "name": lot.name, "unit": lot.unit, "bids": counts[lot.id],
             "min_quality": lot.block.min_quality if lot.block is not None else 0.0}
            for lot in market.lots if counts.get(lot.id)]


def _page(request: Request, status_code: int = 200, **extra: Any) -> Response:
    with transaction(reader_of(request)) as session:
        recent = store.recent(session, "minicomp", 20)
    return render(request, "minicomp.html", status_code=status_code, jobs=recent,
                  **{"pending": None, "lots": [], "form": DEFAULTS, **extra})


@router.get("")
def minicomp_form(request: Request, user: Account = Depends(commissioner)) -> Response:
    from allocator.instance.errors import InstanceError

    pending = _pending(request)
    lots: list[dict[str, Any]] = []
    if pending is not None:
        try:
            lots = _lots(_market(request, pending["path"]))
        except InstanceError:  # the book changed under a checked book market
            lots = []
        if not lots:
            _discard(request)
            pending = None
    return _page(request, pending=pending, lots=lots)


@router.post("/market")
async def check_market(request: Request, user: Account = Depends(commissioner),
                       market: Annotated[UploadFile | None, File()] = None) -> Response:
    """Step 1: read the market (an upload, or the book's) and list its lots with bids."""
    _discard(request)  # one checked market at a time
    problems: list[str] = []
    saved: Saved | None = None
    name = BOOK_MARKET
    lots: list[dict[str, Any]] = []
    try:
        instance, saved = await read_market(request, market, _uploads(request))
        name = saved.name if saved else BOOK_MARKET
        lots = _lots(instance)
        if not lots:
            problems.append(f"{name}: no lot has block bids, so there is nothing to compete"
                            " (a mini-competition needs block bids on the lot)")
    except MarketRefused as error:
        name = error.name
        problems += error.problems
    if problems:
        if saved is not None:
            shutil.rmtree(saved.path.parent, ignore_errors=True)  # nothing kept of a refusal
        record(request, "mini-competition refused", target=name,
               detail="; ".join(problems[:5]))
        return _page(request, status_code=400, problems=problems)
    # the session (a signed, not encrypted, cookie) names the upload, never a server path
    request.session[PENDING] = ({"source": "book"} if saved is None else
                                {"source": "upload", "id": saved.path.parent.name,
                                 "suffix": saved.path.suffix, "name": saved.name,
                                 "sha256": saved.sha256})
    record(request, "mini-competition market checked", target=name,
           detail=", ".join(f"lot {lot['id']}: {lot['bids']} bid(s)" for lot in lots))
    return _page(request, pending={"name": name, "path": saved.path if saved else None},
                 lots=lots)


@router.post("/start")
def start(request: Request, user: Account = Depends(commissioner),
          lot: Annotated[str, Form()] = "",
          quality_points: Annotated[float, Form(ge=0, le=1000)] = 60.0,
          price_points: Annotated[float, Form(ge=0, le=1000)] = 40.0,
          time_limit: Annotated[float, Form(gt=0, le=3600)] = 60.0) -> Response:
    """Step 2: the lot, the points and the time limit start the job."""
    from allocator.design.minicompetition import MiniCompetitionError, lot_bids
    from allocator.instance.errors import InstanceError

    pending = _pending(request)
    if pending is None:
        flash(request, "Choose the market first (upload it, or use the book's).", "error")
        return redirect("/mini-competitions")
    form = {"lot": lot, "quality_points": quality_points, "price_points": price_points,
            "time_limit": time_limit}
    problems: list[str] = []
    lots: list[dict[str, Any]] = []
    n_bids = 0
    try:
        inst = _market(request, pending["path"])
        lots = _lots(inst)
        n_bids = len(lot_bids(inst, lot.strip()))
    except (MiniCompetitionError, InstanceError) as error:
        problems.append(str(error) if isinstance(error, MiniCompetitionError)
                        else "; ".join(str(p) for p in error.problems[:5]))
    if not math.isfinite(quality_points + price_points) or quality_points + price_points <= 0:
        problems.append("quality and price points are both 0: nothing to score")
    if problems:
        record(request, "mini-competition refused", target=pending["name"],
               detail="; ".join(problems[:5]))
        return _page(request, status_code=400, problems=problems, pending=pending, lots=lots,
                     form=form)
    lot = lot.strip()
    params = {"market": str(pending["path"]) if pending["path"] else None,
              "market_name": pending["name"], "lot": lot, "bids": n_bids,
              "quality_points": quality_points, "price_points": price_points,
              "time_limit": time_limit}
    title = (f"lot {lot} of {pending['name']}: quality {quality_points:g},"
             f" price {price_points:g}")
    with transaction(engine_of(request)) as session:
        job = store.create(session, "minicomp", title=title, user_id=user.id, params=params,
                           server=request.app.state.jobs.server)
        job_id = job.id
    request.session.pop(PENDING, None)  # the upload is the job's now (it deletes it)
    request.app.state.jobs.submit(job_id, minicomp_job)
    record(request, "mini-competition started", target=f"job {job_id}", detail=title)
    return redirect(f"/mini-competitions/jobs/{job_id}")


@router.post("/cancel")
def cancel(request: Request, user: Account = Depends(commissioner)) -> Response:
    _discard(request)
    flash(request, "The checked market was put away: nothing was started.")
    return redirect("/mini-competitions")


def _job(request: Request, job_id: int) -> store.m.Job:
    return job_of(request, job_id, "minicomp", "mini-competition")


def _done(request: Request, job_id: int, what: str) -> tuple[store.m.Job, Any]:
    job = job_of(request, job_id, "minicomp", "mini-competition", done_for=what)
    return job, mini_competition_of(job.result)


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, user: Account = Depends(commissioner)
             ) -> Response:
    from allocator.design.minicomp_report import headline, ranking_table, sentence

    job = _job(request, job_id)
    context: dict[str, Any] = {}
    if job.status == "done":
        mc = mini_competition_of(job.result)
        table = ranking_table(mc)
        context = {"mc": mc, "sentence": sentence(mc), "headline": headline(mc),
                   "rows": table.astype(object).where(table.notna(), None).to_dict("records")}
    return render(request, "minicomp_job.html", job=job, kind="minicomp", **context)


@router.get("/jobs/{job_id}/status")
def job_status(request: Request, job_id: int, user: Account = Depends(commissioner)
               ) -> Response:
    return render(request, "job_status.html", job=_job(request, job_id), kind="minicomp")


@router.get("/jobs/{job_id}/progress.png")
def job_progress(request: Request, job_id: int, user: Account = Depends(commissioner)
                 ) -> Response:
    return Response(progress_chart(_job(request, job_id).progress or []),
                    media_type="image/png")


@router.get("/jobs/{job_id}/chart.png")
def chart(request: Request, job_id: int, user: Account = Depends(commissioner)) -> Response:
    _, mc = _done(request, job_id, "chart")
    return Response(minicomp_chart(mc), media_type="image/png")


@router.get("/jobs/{job_id}/ranking.csv")
def ranking_csv(request: Request, job_id: int, user: Account = Depends(commissioner)
                ) -> Response:
    """The ranking table, as the CLI's ``ranking.csv``."""
    from allocator.design.minicomp_report import ranking_table

    _, mc = _done(request, job_id, "ranking")
    record(request, "mini-competition downloaded", target=f"job {job_id}", detail="csv ranking")
    return download(frame_csv_bytes(ranking_table(mc)),
                    f"minicomp{job_id}_lot_{mc.lot}_ranking.csv", CSV)


@router.get("/jobs/{job_id}/result.xlsx")
def result_xlsx(request: Request, job_id: int, user: Account = Depends(commissioner)
                ) -> Response:
    """The summary and ranking sheets, as the CLI's ``result.xlsx``."""
    from allocator.design.minicomp_report import ranking_table, summary_sheet
    from allocator.report.writers import Sheet

    _, mc = _done(request, job_id, "workbook")
    table = ranking_table(mc)
    plain = table.astype(object).where(table.notna(), None)  # openpyxl knows no pd.NA
    record(request, "mini-competition downloaded", target=f"job {job_id}", detail="xlsx")
    return download(sheets_xlsx_bytes([summary_sheet(mc), Sheet("ranking", plain)],
                                      mc.currency),
                    f"minicomp{job_id}_lot_{mc.lot}.xlsx", XLSX)
