"""Referrals in: ``allocator referrals add FILE.csv|xlsx``.

A referral file has one row per new need, with the columns of the instance's ``needs`` table
(``id, kind, zone, service, complexity, care_group, quantity, priority, acceptable_zones``;
``acceptable_zones`` is ``;``-separated, ``priority`` defaults to ``standard``). An XLSX
workbook is read from its ``referrals`` sheet, else its ``needs`` sheet, else its first sheet.

Each row is validated on its own - the schema's rules, then against the book: the zones exist,
the priority has an unmet penalty, and the id is new. Then:

* the rejects (row number as a spreadsheet counts it, the header being row 1; field; reason)
  are written to a CSV file beside the input (``NAME.rejects.csv``), replaced atomically;
* all good rows are committed in ONE transaction, with the batch's record and its rejects, so a
  process dying mid-way leaves either everything or nothing of the file in the book;
* a row whose id is already in the book with the same content is skipped, so re-adding the same
  file adds nothing twice (referral ids are the key); the same id with different content is a
  reject.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError
from sqlalchemy import Engine, insert, select

from allocator.instance.schema import Need
from allocator.report.writers import write_csv
from allocator.store import book
from allocator.store import models as m
from allocator.store.engine import transaction
from allocator.store.health import check_integrity

COLUMNS = ("id", "kind", "zone", "service", "complexity", "care_group", "quantity", "priority",
           "acceptable_zones")
REQUIRED = ("id", "kind", "zone", "service", "complexity", "care_group", "quantity")
SHEETS = ("referrals", "needs")


@dataclass(frozen=True)
class Reject:
    """One problem with one row."""

    row: int
    need_id: str | None
    field: str
    reason: str


@dataclass(frozen=True)
class IntakeSummary:
    """What :func:`add_referrals` did with a file."""

    file: str
    batch_id: int | None
    rows: int
    added: list[str]
    skipped: list[str]
    rejects: list[Reject] = field(default_factory=list)
    rejects_file: str | None = None

    @property
    def rejected_rows(self) -> int:
        return len({r.row for r in self.rejects})

    def __str__(self) -> str:
        text = (f"{self.file}: {self.rows} row(s): {len(self.added)} added,"
                f" {len(self.skipped)} already in the book, {self.rejected_rows} rejected")
        if self.rejects_file:
            text += f" (reasons in {self.rejects_file})"
        return text


class IntakeFileError(ValueError):
    """The file as a whole cannot be read (missing, wrong type, no header, missing column)."""


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, {column: text}) per non-blank row; header is row 1."""
    if not path.exists():
        raise IntakeFileError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        grid = [list(r) for r in csv.reader(io.StringIO(text))]
    elif suffix in (".xlsx", ".xlsm"):
        grid = _xlsx_grid(path)
    else:
        raise IntakeFileError(f"{path}: give a .csv file or an .xlsx workbook")
    if not grid:
        raise IntakeFileError(f"{path}: the file is empty (it needs a header row)")
    header = [h.strip() for h in grid[0]]
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise IntakeFileError(f"{path}: unknown column(s) {', '.join(unknown)} (the columns"
                              f" are {', '.join(COLUMNS)})")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise IntakeFileError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = []
    for number, cells in enumerate(grid[1:], start=2):
        values = {h: (cells[i].strip() if i < len(cells) and cells[i] is not None else "")
                  for i, h in enumerate(header) if h}
        if any(values.values()):
            rows.append((number, values))
    return rows


def _xlsx_grid(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several kinds for a bad file
        raise IntakeFileError(f"{path}: not a readable XLSX workbook ({error})") from error
    try:
        names = {n.lower(): n for n in workbook.sheetnames}
        sheet = next((workbook[names[s]] for s in SHEETS if s in names), workbook.worksheets[0])
        return [["" if v is None else _cell(v) for v in row]
                for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_row(values: dict[str, str]) -> tuple[Need | None, list[tuple[str, str]]]:
    """A need from one row's texts, or the (field, reason) problems with it."""
    data: dict[str, Any] = {k: v for k, v in values.items() if v != ""}
    if "acceptable_zones" in data:
        data["acceptable_zones"] = [z.strip() for z in data["acceptable_zones"].split(";")
                                    if z.strip()] or None
    try:
        return Need.model_validate(data), []
    except ValidationError as error:
        problems = []
        for err in error.errors():
            loc = [str(x) for x in err["loc"] if not isinstance(x, int)]
            name = loc[0] if loc else ""
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                message = "is required"
            elif "input" in err and name and err["type"] != "missing":
                message = f"{message} (got {values.get(name, err['input'])!r})"
            if not name:  # a rule across fields: name the first field the message names
                name = next((c for c in COLUMNS if c in message), "row")
            problems.append((name, message))
        return None, problems


def check_against_book(need: Need, zones: set[str], penalties: dict[str, float]
                       ) -> list[tuple[str, str]]:
    problems = []
    if need.zone not in zones:
        problems.append(("zone", f"unknown zone {need.zone!r}"))
    for z in need.acceptable_zones or []:
        if z not in zones:
            problems.append(("acceptable_zones", f"unknown zone {z!r}"))
    if need.priority not in penalties:
        problems.append(("priority", f"priority {need.priority!r} has no unmet penalty in the"
                                     f" book's policy (known: {', '.join(sorted(penalties))})"))
    return problems


def rejects_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.rejects.csv")


def preview_referrals(engine: Engine, path: str | Path) -> IntakeSummary:
    """What :func:`add_referrals` would do with a file, without writing anything.

    The web app shows every bad row (row, field, reason) before the broker confirms; the
    confirmation then runs :func:`add_referrals` on the same file, which checks it again
    against the book as it is by then.

    Raises
    ------
    IntakeFileError
        When the file as a whole cannot be read.
    """
    source = Path(path)
    rows = read_rows(source)
    good, skipped, rejects = _check(engine, rows)
    return IntakeSummary(file=str(source), batch_id=None, rows=len(rows),
                         added=[n.id for _, n in good], skipped=skipped, rejects=rejects)


def add_referrals(engine: Engine, path: str | Path, *, rejects_file: str | Path | None = None
                  ) -> IntakeSummary:
    """Add the referrals of a CSV or XLSX file to the book (see the module docstring).

    Raises
    ------
    IntakeFileError
        When the file as a whole cannot be read; nothing is written then.
    """
    source = Path(path)
    digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.exists() else ""
    rows = read_rows(source)
    check_integrity(engine)  # never write into a damaged book (StoreError)
    good, skipped, rejects = _check(engine, rows)

    written: str | None = None
    if rejects:
        target = Path(rejects_file) if rejects_file else rejects_path(source)
        _write_rejects(target, rejects)
        written = str(target)

    batch_id: int | None = None
    if good or rejects:
        with transaction(engine) as session:
            batch = m.IntakeBatch(file=str(source), sha256=digest, n_rows=len(rows),
                                  n_added=len(good), n_skipped=len(skipped),
                                  n_rejected=len({r.row for r in rejects}), rejects_file=written)
            session.add(batch)
            session.flush()
            batch_id = batch.id
            if rejects:
                session.execute(insert(m.IntakeReject), [
                    {"batch_id": batch.id, "row": r.row, "need_id": r.need_id,
                     "field": r.field, "reason": r.reason} for r in rejects])
            if good:
                seq = book.next_seq(session, m.Need)
                now = m.utcnow()
                session.execute(insert(m.Need), [
                    {**book.need_columns(need), "seq": seq + i, "status": "new",
                     "batch_id": batch.id, "created_at": now}
                    for i, (_, need) in enumerate(good)])
                book.bump_version(session)
    return IntakeSummary(file=str(source), batch_id=batch_id, rows=len(rows),
                         added=[n.id for _, n in good], skipped=skipped, rejects=rejects,
                         rejects_file=written)


def _check(engine: Engine, rows: list[tuple[int, dict[str, str]]]
           ) -> tuple[list[tuple[int, Need]], list[str], list[Reject]]:
    """Validate rows on their own and against the book: (good rows, skipped ids, rejects)."""
    with transaction(engine) as session:
        state = session.execute(select(m.BookState).where(m.BookState.id == 1)).scalar_one()
        penalties = dict(state.policy.get("unmet_penalty", {}))
        zones = set(session.execute(select(m.Zone.id)).scalars())
        if not zones:
            raise IntakeFileError("the book holds no market yet: `allocator db import` one"
                                  " first")
        ids = [values.get("id", "") for _, values in rows]
        existing = {r.id: r for r in session.execute(
            select(m.Need).where(m.Need.id.in_([i for i in ids if i]))).scalars()} if ids else {}

    rejects: list[Reject] = []
    good: list[tuple[int, Need]] = []
    skipped: list[str] = []
    first_row: dict[str, int] = {}
    for number, values in rows:
        need, problems = parse_row(values)
        rid = values.get("id") or None
        if need is not None:
            problems = check_against_book(need, zones, penalties)
        if need is not None and not problems:
            if need.id in first_row:
                problems = [("id", f"duplicate id: already on row {first_row[need.id]} of this"
                                   " file")]
            elif need.id in existing:
                if _same(existing[need.id], need):
                    skipped.append(need.id)
                    first_row[need.id] = number
                    continue
                problems = [("id", f"id already in the book ({existing[need.id].status}) with"
                                   " different values")]
        if problems:
            rejects += [Reject(number, rid, f, reason) for f, reason in problems]
            continue
        assert need is not None
        first_row[need.id] = number
        good.append((number, need))

    return good, skipped, rejects


def _same(row: m.Need, need: Need) -> bool:
    return book.need_columns(book.need_from_row(row)) == book.need_columns(need)


def _write_rejects(target: Path, rejects: list[Reject]) -> None:
    """Write the rejects CSV atomically, its cells neutralised (:mod:`allocator.report.writers`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([[r.row, r.need_id or "", r.field, r.reason] for r in rejects],
                         columns=["row", "id", "field", "reason"], dtype=object)
    write_csv(target, table)
