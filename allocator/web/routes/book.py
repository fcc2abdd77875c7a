"""The book at a glance, and referrals in: upload, see every bad row, then confirm."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from allocator.nightly.board import book_overview, overview_tables
from allocator.nightly.intake import IntakeFileError, add_referrals, preview_referrals
from allocator.store.users import Account
from allocator.web.auth import require
from allocator.web.downloads import csv_bytes, xlsx_bytes
from allocator.web.pages import (
    CSV,
    XLSX,
    NotFound,
    download,
    engine_of,
    flash,
    reader_of,
    record,
    redirect,
    render,
)
from allocator.web.security import check_csrf
from allocator.web.uploads import UploadRefused, save, sha256

router = APIRouter(dependencies=[Depends(check_csrf)])
broker = require("broker")
REFERRAL_SUFFIXES = (".csv", ".xlsx")


@router.get("/book")
def book(request: Request, user: Account = Depends(require("broker", "commissioner"))
         ) -> Response:
    return render(request, "book.html", overview=book_overview(reader_of(request)))


@router.get("/book.{fmt}")
def book_download(request: Request, fmt: str,
                  user: Account = Depends(require("broker", "commissioner"))) -> Response:
    """The book page's tables: XLSX (one sheet each) or CSV (``?table=``)."""
    overview = book_overview(reader_of(request))
    tables = overview_tables(overview)
    table = request.query_params.get("table", "waiting")
    if fmt == "xlsx":
        return download(xlsx_bytes(tables, overview.currency), "book.xlsx", XLSX)
    if fmt == "csv" and table in tables:
        return download(csv_bytes(*tables[table]), f"book_{table}.csv", CSV)
    raise NotFound(f"no {fmt} download of {table}")


@router.get("/referrals")
def referrals_form(request: Request, user: Account = Depends(broker)) -> Response:
    return render(request, "referrals.html", pending=request.session.get("pending"))


@router.post("/referrals/upload")
async def upload(request: Request, file: UploadFile | None = File(None),
                 user: Account = Depends(broker)) -> Response:
    settings = request.app.state.settings
    saved = None
    try:
        saved = await save(file, settings.data_dir / "uploads", REFERRAL_SUFFIXES,
                           settings.max_upload_bytes, "referrals")
        summary = preview_referrals(reader_of(request), saved.path)
    except (UploadRefused, IntakeFileError) as error:
        if saved is not None:
            _discard(saved.path)
        text = str(error).replace(str(settings.data_dir), "upload")
        record(request, "referrals refused", target=(file.filename or "") if file else "",
               detail=text)
        return render(request, "referrals.html", status_code=400, error=text, pending=None)
    # the session (a signed, not encrypted, cookie) names the upload, never a server path
    request.session["pending"] = {"id": saved.path.parent.name, "suffix": saved.path.suffix,
                                  "name": saved.name, "sha256": saved.sha256}
    record(request, "referrals uploaded", target=saved.name,
           detail=f"{summary.rows} rows: {len(summary.added)} good,"
                  f" {len(summary.skipped)} already in the book,"
                  f" {summary.rejected_rows} with problems")
    return render(request, "referrals_preview.html", summary=summary, name=saved.name)


def _pending(request: Request) -> tuple[Path, str] | None:
    pending = request.session.get("pending")
    if not pending:
        return None
    folder, suffix = str(pending.get("id", "")), str(pending.get("suffix", ""))
    path = request.app.state.settings.data_dir / "uploads" / folder / f"upload{suffix}"
    if not re.fullmatch(r"[0-9a-f]{16}", folder) or suffix not in REFERRAL_SUFFIXES \
            or not path.exists() or sha256(path) != pending.get("sha256"):
        request.session.pop("pending", None)
        return None
    return path, str(pending.get("name", "referrals"))


def _discard(path: Path) -> None:
    """Delete an upload and what was written beside it (personal data kept no longer than
    needed: the book holds the referrals and their rejects)."""
    shutil.rmtree(path.parent, ignore_errors=True)


@router.post("/referrals/confirm")
def confirm(request: Request, user: Account = Depends(broker)) -> Response:
    pending = _pending(request)
    if pending is None:
        flash(request, "Nothing to add: upload the referrals file again.", "error")
        return redirect("/referrals")
    path, name = pending
    try:
        summary = add_referrals(engine_of(request), path)
    except IntakeFileError as error:
        flash(request, str(error), "error")
        return redirect("/referrals")
    request.session.pop("pending", None)
    _discard(path)
    text = (f"{name}: {len(summary.added)} referral(s) added, {len(summary.skipped)} already in"
            f" the book, {summary.rejected_rows} row(s) not added")
    record(request, "referrals added", target=name,
           detail=f"batch {summary.batch_id}: " + text)
    flash(request, text, "ok")
    return redirect("/book")


@router.post("/referrals/cancel")
def cancel(request: Request, user: Account = Depends(broker)) -> Response:
    pending = _pending(request)
    if pending is not None:
        _discard(pending[0])
    request.session.pop("pending", None)
    flash(request, "Upload cancelled: nothing was added.")
    return redirect("/referrals")


@router.get("/referrals/pending/rejects.csv")
def pending_rejects(request: Request, user: Account = Depends(broker)) -> Response:
    pending = _pending(request)
    if pending is None:
        return redirect("/referrals")
    path, name = pending
    summary = preview_referrals(reader_of(request), path)
    body = csv_bytes(["row", "id", "field", "reason"],
                     ([r.row, r.need_id or "", r.field, r.reason] for r in summary.rejects))
    return download(body, f"{Path(name).stem}.rejects.csv", CSV)
