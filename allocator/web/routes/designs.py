"""Commissioners: upload a market and lot designs, compare them over demand scenarios as a
background job, and read the comparison as charts and tables (with downloads)."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from allocator.store import jobs as store
from allocator.store.engine import transaction
from allocator.store.users import Account
from allocator.web.auth import require
from allocator.web.charts import COMPARISON_CHARTS, comparison_chart, progress_chart
from allocator.web.downloads import csv_bytes, xlsx_bytes
from allocator.web.jobs import compare_job
from allocator.web.pages import (
    CSV,
    XLSX,
    NotFound,
    download,
    engine_of,
    job_of,
    reader_of,
    record,
    redirect,
    render,
)
from allocator.web.security import check_csrf
from allocator.web.uploads import (
    BOOK_MARKET,
    MarketRefused,
    Saved,
    UploadRefused,
    read_market,
    save,
)

router = APIRouter(prefix="/designs", dependencies=[Depends(check_csrf)])
commissioner = require("commissioner")
DESIGN_SUFFIXES = (".json", ".toml")
TABLES = ("summary", "lots", "providers", "scenarios", "awards")


def _form(request: Request, status_code: int = 200, **extra: Any) -> Response:
    with transaction(reader_of(request)) as session:
        recent = store.recent(session, "compare", 20)
    settings = request.app.state.settings
    return render(request, "designs.html", status_code=status_code, jobs=recent,
                  max_scenarios=settings.compare_max_scenarios, **extra)


@router.get("")
def designs(request: Request, user: Account = Depends(commissioner)) -> Response:
    return _form(request)


@router.post("/compare")
async def compare(request: Request, user: Account = Depends(commissioner),
                  market: Annotated[UploadFile | None, File()] = None,
                  designs: Annotated[list[UploadFile] | None, File()] = None,
                  scenarios: Annotated[int, Form(ge=1)] = 20,
                  seed: Annotated[int, Form(ge=0)] = 0,
                  time_limit: Annotated[float, Form(gt=0, le=3600)] = 60.0) -> Response:
    from allocator.design.designs import apply_design, load_design
    from allocator.instance.errors import InstanceError

    settings = request.app.state.settings
    folder = settings.data_dir / "uploads"
    limit = settings.max_upload_bytes
    problems: list[str] = []
    if scenarios > settings.compare_max_scenarios:
        problems.append(f"scenarios: at most {settings.compare_max_scenarios}")
    saved_market: Saved | None = None
    saved_designs: list[Saved] = []
    inst = None
    try:
        inst, saved_market = await read_market(request, market, folder)
    except MarketRefused as error:
        problems += error.problems
    try:
        for upload in designs or []:
            if upload.filename:
                saved_designs.append(await save(upload, folder, DESIGN_SUFFIXES, limit,
                                                "design"))
    except UploadRefused as error:
        problems.append(str(error))
    if not saved_designs and not problems:
        problems.append("choose at least one lot design file (.json or .toml)")
    names = {str(s.path): s.name for s in [*saved_designs, saved_market] if s}
    loaded = []
    if not problems and inst is not None:
        try:
            for s in saved_designs:
                loaded.append((str(s.path), load_design(s.path)))
            for label, design in loaded:
                apply_design(inst, design, label)
        except InstanceError as error:
            problems += [_named(str(p), names) for p in error.problems[:50]]
    if problems:
        for s in [*saved_designs, *([saved_market] if saved_market else [])]:
            shutil.rmtree(s.path.parent, ignore_errors=True)  # nothing kept of a refusal
        record(request, "comparison refused", detail="; ".join(problems[:5]))
        return _form(request, status_code=400, problems=problems)
    params = {"market": str(saved_market.path) if saved_market else None,
              "designs": [label for label, _ in loaded], "scenarios": scenarios, "seed": seed,
              "time_limit": time_limit,
              "names": [names[label] for label, _ in loaded],
              "market_name": saved_market.name if saved_market else BOOK_MARKET}
    title = (f"{len(loaded)} design(s) on {params['market_name']}: "
             + ", ".join(d.name for _, d in loaded))
    with transaction(engine_of(request)) as session:
        job = store.create(session, "compare", title=title, user_id=user.id, params=params,
                           server=request.app.state.jobs.server)
        job_id = job.id
    request.app.state.jobs.submit(job_id, compare_job)
    record(request, "comparison started", target=f"job {job_id}", detail=title)
    return redirect(f"/designs/jobs/{job_id}")


def _named(text: str, names: dict[str, str]) -> str:
    """A problem's text with our upload paths replaced by the names the user gave."""
    for path, name in names.items():
        text = text.replace(path, name)
    return text


def _job(request: Request, job_id: int) -> store.m.Job:
    return job_of(request, job_id, "compare", "comparison")


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, user: Account = Depends(commissioner)
             ) -> Response:
    from allocator.design.report import summary_cells
    from allocator.web.charts import frame

    job = _job(request, job_id)
    summary = tables = None
    if job.status == "done":
        tables = job.result["tables"]
        summary = summary_cells(frame(tables["summary"]), job.result.get("currency", "GBP"))
    return render(request, "design_job.html", job=job, kind="compare", summary=summary,
                  tables=tables, charts=COMPARISON_CHARTS)


@router.get("/jobs/{job_id}/status")
def job_status(request: Request, job_id: int, user: Account = Depends(commissioner)
               ) -> Response:
    return render(request, "job_status.html", job=_job(request, job_id), kind="compare")


@router.get("/jobs/{job_id}/progress.png")
def job_progress(request: Request, job_id: int, user: Account = Depends(commissioner)
                 ) -> Response:
    return Response(progress_chart(_job(request, job_id).progress or []),
                    media_type="image/png")


@router.get("/jobs/{job_id}/charts/{name}.png")
def chart(request: Request, job_id: int, name: str, user: Account = Depends(commissioner)
          ) -> Response:
    job = _job(request, job_id)
    if job.status != "done" or name not in COMPARISON_CHARTS:
        raise NotFound(f"no chart {name} for comparison {job_id}")
    png = comparison_chart(name, job.result["tables"], job.result.get("currency", "GBP"))
    return Response(png, media_type="image/png")


@router.get("/jobs/{job_id}/comparison.{fmt}")
def comparison_download(request: Request, job_id: int, fmt: str, table: str = "summary",
                        user: Account = Depends(commissioner)) -> Response:
    job = _job(request, job_id)
    if job.status != "done" or fmt not in ("csv", "xlsx") or table not in TABLES:
        raise NotFound(f"no {fmt} download of {table} for comparison {job_id}")
    tables = job.result["tables"]
    record(request, "comparison downloaded", target=f"job {job_id}", detail=f"{fmt} {table}")
    if fmt == "csv":
        t = tables[table]
        return download(csv_bytes(t["columns"], t["rows"]),
                        f"comparison{job_id}_{table}.csv", CSV)
    sheets = {name: (t["columns"], t["rows"]) for name, t in tables.items()}
    return download(xlsx_bytes(sheets, job.result.get("currency", "GBP")),
                    f"comparison{job_id}.xlsx", XLSX)
