"""Commissioners: a year of brokerage replayed (DESIGN.md 9.5) as a background job.

One form: the market (an upload, or the book's market), the policies to compare, the weeks,
replications and seed, and the assumptions a commissioner may want to argue with (providers
leaving, schemes opening, the DPS points of first-come brokerage, a night's time limit). The
job calls :func:`allocator.simulate.simulate` as ``allocator simulate`` does; the result page,
its charts and its downloads are drawn from what the job keeps
(:func:`allocator.web.jobs.simulation_record`) with the report helpers of
:mod:`allocator.simulate.report`.
"""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from allocator.store import jobs as store
from allocator.store.engine import transaction
from allocator.store.users import Account
from allocator.web.auth import require
from allocator.web.downloads import frame_csv_bytes
from allocator.web.jobs import simulate_job, simulation_of
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
from allocator.web.uploads import BOOK_MARKET, MarketRefused, Saved, read_market

router = APIRouter(prefix="/simulations", dependencies=[Depends(check_csrf)])
commissioner = require("commissioner")
POLICIES = ("first_come", "nightly", "nightly_moves")
CHARTS = {"unmet": "unmet_over_year", "waits": "wait_chart", "cost": "cost_chart",
          "zones": "zone_chart"}
CSV_TABLES = ("summary", "differences", "zones", "providers")
DEFAULTS: dict[str, Any] = {"policies": list(POLICIES), "moves": 5, "weeks": 52,
                            "replications": 20, "seed": 0, "exit_rate": 0.01,
                            "opening_rate": 0.02, "quality_points": 60.0,
                            "price_points": 40.0, "time_limit": 10.0}


def _form(request: Request, status_code: int = 200, **extra: Any) -> Response:
    with transaction(reader_of(request)) as session:
        recent = store.recent(session, "simulate", 20)
    settings = request.app.state.settings
    return render(request, "simulate.html", status_code=status_code, jobs=recent,
                  max_replications=settings.simulate_max_replications,
                  **{"form": DEFAULTS, **extra})


@router.get("")
def simulations(request: Request, user: Account = Depends(commissioner)) -> Response:
    return _form(request)


@router.post("/start")
async def start(request: Request, user: Account = Depends(commissioner),
                market: Annotated[UploadFile | None, File()] = None,
                policy: Annotated[list[str] | None, Form()] = None,
                moves: Annotated[int, Form(ge=0, le=10_000)] = 5,
                weeks: Annotated[int, Form(ge=1, le=520)] = 52,
                replications: Annotated[int, Form(ge=1)] = 20,
                seed: Annotated[int, Form(ge=0)] = 0,
                exit_rate: Annotated[float, Form(ge=0, le=1)] = 0.01,
                opening_rate: Annotated[float, Form(ge=0, le=10)] = 0.02,
                quality_points: Annotated[float, Form(ge=0, le=1000)] = 60.0,
                price_points: Annotated[float, Form(ge=0, le=1000)] = 40.0,
                time_limit: Annotated[float, Form(gt=0, le=600)] = 10.0) -> Response:
    """Check the market and the choices, then start the job (nothing is kept of a refusal)."""
    from pydantic import ValidationError

    from allocator.simulate import SimulationConfig
    from allocator.simulate.run import make_policies

    settings = request.app.state.settings
    chosen = [p for p in POLICIES if p in (policy or [])]
    form = {"policies": chosen, "moves": moves, "weeks": weeks, "replications": replications,
            "seed": seed, "exit_rate": exit_rate, "opening_rate": opening_rate,
            "quality_points": quality_points, "price_points": price_points,
            "time_limit": time_limit}
    problems: list[str] = []
    unknown = sorted(set(policy or []) - set(POLICIES))
    if unknown:
        problems.append(f"policies: unknown {', '.join(unknown)}; choose from "
                        f"{', '.join(POLICIES)}")
    if not chosen:
        problems.append("policies: choose at least one (two or more to compare them)")
    if replications > settings.simulate_max_replications:
        problems.append(f"replications: at most {settings.simulate_max_replications}")
    specs = [f"nightly_moves:{moves}" if p == "nightly_moves" else p for p in chosen]
    config = None
    try:
        config = SimulationConfig(weeks=weeks, replications=replications, seed=seed,
                                  provider_exit_rate=exit_rate,
                                  scheme_opening_rate=opening_rate,
                                  quality_points=quality_points, price_points=price_points,
                                  time_limit=time_limit)
        if chosen:
            make_policies(specs, config)
    except ValidationError as error:
        problems += [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
                     for e in error.errors()]
    except ValueError as error:
        problems.append(f"policies: {error}")
    saved: Saved | None = None
    name = BOOK_MARKET
    if not problems:
        try:
            instance, saved = await read_market(request, market,
                                                settings.data_dir / "uploads")
            name = saved.name if saved else BOOK_MARKET
            if not instance.needs:
                problems.append(f"{name}: no needs, so no book to start from and no referral "
                                "rates to replay")
        except MarketRefused as error:
            name = error.name
            problems += error.problems
    if problems or config is None:
        if saved is not None:
            shutil.rmtree(saved.path.parent, ignore_errors=True)  # nothing kept of a refusal
        record(request, "simulation refused", target=name, detail="; ".join(problems[:5]))
        return _form(request, status_code=400, problems=problems, form=form)
    params = {"market": str(saved.path) if saved else None, "market_name": name,
              "policies": specs, "config": config.model_dump(mode="json"),
              "workers": settings.simulate_workers}
    title = (f"{', '.join(specs)} on {name}: {weeks} weeks x {replications} replication(s),"
             f" seed {seed}")
    with transaction(engine_of(request)) as session:
        job = store.create(session, "simulate", title=title, user_id=user.id, params=params,
                           server=request.app.state.jobs.server)
        job_id = job.id
    request.app.state.jobs.submit(job_id, simulate_job)
    record(request, "simulation started", target=f"job {job_id}", detail=title)
    return redirect(f"/simulations/jobs/{job_id}")


def _job(request: Request, job_id: int) -> store.m.Job:
    return job_of(request, job_id, "simulate", "simulation")


def _done(request: Request, job_id: int, what: str) -> tuple[store.m.Job, Any]:
    job = job_of(request, job_id, "simulate", "simulation", done_for=what)
    return job, simulation_of(job.result)


def _zones(result: Any) -> list[tuple[str, list[Any]]]:
    """One row per zone: unmet hours, then people waiting, under each policy in turn."""
    z = result.zone_summary.set_index(["zone", "policy"])
    rows = []
    for zone in result.zone_ids:
        cells = [z["unmet_hours"].get((zone, p)) for p in result.policies]
        cells += [z["waiting_people"].get((zone, p)) for p in result.policies]
        rows.append((zone, [None if v is None or v != v else float(v) for v in cells]))
    return rows


def _rows(df: Any) -> list[dict[str, Any]]:
    return df.astype(object).where(df.notna(), None).to_dict("records")


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: int, user: Account = Depends(commissioner)
             ) -> Response:
    from allocator.simulate.metrics import METRICS
    from allocator.simulate.report import headline, provider_pivot, sentences

    job = _job(request, job_id)
    context: dict[str, Any] = {}
    if job.status == "done":
        result = simulation_of(job.result)
        head = headline(result)
        diff = result.differences
        shown = diff[diff["metric"].isin(["unmet_hours", "unmet_beds", "waiting_people",
                                          "days_waited", "days_waited_p90", "weekly_cost",
                                          "objective", "moves"])]
        runs = result.runs.groupby("policy", sort=False).agg(
            replications=("replication", "count"), runtime_s=("runtime_s", "mean"),
            solves=("solves", "mean"), time_limited=("time_limited", "sum"),
            failures=("failures", "sum")).reset_index()
        waits = result.waits.pivot(index="days_waited", columns="policy", values="share"
                                   ).reindex(result.waits["days_waited"].unique())
        context = {
            "sim": result, "sentences": sentences(result),
            "head_columns": list(head.columns), "head_rows": head.values.tolist(),
            "differences": _rows(shown), "metrics": METRICS, "zones": _zones(result),
            "waits": [(label, [row.get(p) for p in result.policies])
                      for label, row in zip(waits.index, _rows(waits), strict=True)],
            "runs": _rows(runs), "charts": CHARTS, "providers": provider_pivot(result),
            "currency": job.result.get("currency", "GBP")}
    return render(request, "simulate_job.html", job=job, kind="simulate", **context)


@router.get("/jobs/{job_id}/status")
def job_status(request: Request, job_id: int, user: Account = Depends(commissioner)
               ) -> Response:
    return render(request, "job_status.html", job=_job(request, job_id), kind="simulate")


@router.get("/jobs/{job_id}/charts/{name}.png")
def chart(request: Request, job_id: int, name: str, user: Account = Depends(commissioner)
          ) -> Response:
    from allocator.simulate import report

    if name not in CHARTS:
        raise NotFound(f"no chart {name} for simulation {job_id}")
    _, result = _done(request, job_id, "charts")
    return Response(getattr(report, CHARTS[name])(result), media_type="image/png")


@router.get("/jobs/{job_id}/simulation.xlsx")
def workbook(request: Request, job_id: int, user: Account = Depends(commissioner)
             ) -> Response:
    """Every table the job keeps, one sheet each (the CLI's workbook adds the weekly rows of
    every replication and zone)."""
    from allocator.report.writers import workbook_bytes

    job, result = _done(request, job_id, "workbook")
    record(request, "simulation downloaded", target=f"job {job_id}", detail="xlsx")
    return download(workbook_bytes(result.tables(), currency=job.result.get("currency", "GBP")),
                    f"simulation{job_id}.xlsx", XLSX)


@router.get("/jobs/{job_id}/{table}.csv")
def table_csv(request: Request, job_id: int, table: str,
              user: Account = Depends(commissioner)) -> Response:
    if table not in CSV_TABLES:
        raise NotFound(f"no table {table} for simulation {job_id}")
    _, result = _done(request, job_id, table)
    record(request, "simulation downloaded", target=f"job {job_id}", detail=f"csv {table}")
    return download(frame_csv_bytes(result.tables()[table]), f"simulation{job_id}_{table}.csv",
                    CSV)
