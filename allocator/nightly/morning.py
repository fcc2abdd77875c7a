"""The morning report of a nightly run: an XLSX workbook and a self-contained HTML page.

Tables (the same in both):

* **New referrals** - every new referral, its suggested provider and weekly cost, or why it is
  unmet and the cheapest change that would serve it;
* **Moves** - people in care the run suggests moving (with ``--max-moves``), and the saving;
  people in care whose provider can no longer serve them go here too, with their new
  provider or "no place";
* **Unmet by zone** - unmet need by zone and priority, hours (or beds) and people (referrals
  and people in care with no place), like the unmet-need table of seed 001;
* **Providers** - utilisation of each provider's hours (people in care plus tonight's
  suggestions) and beds;
* **Blocks** - block volume in force, used, void;
* **Changes** - against the previous run: new referrals, suggestions that changed, needs newly
  unmet or newly served, decisions taken and needs that ended since.

The HTML page has no external resources (inline CSS, bars drawn with plain ``div``s).
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from allocator.instance.atomic import write_text
from allocator.report.html import BASE_CSS, format_value
from allocator.report.writers import Kind, Sheet, column_kind, key_value_sheet, write_workbook
from allocator.store import models as m
from allocator.store.engine import transaction

Table = tuple[list[str], list[list[Any]]]


@dataclass(frozen=True)
class MorningReport:
    run_id: int
    title: str
    summary: list[tuple[str, Any]]
    tables: dict[str, Table]
    currency: str = "GBP"

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``morning_run<ID>.xlsx`` and ``.html`` in ``folder`` (each atomically)."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        xlsx = out / f"morning_run{self.run_id}.xlsx"
        page = out / f"morning_run{self.run_id}.html"
        self._write_xlsx(xlsx)
        write_text(page, self.html())
        return xlsx, page

    def _write_xlsx(self, path: Path) -> None:
        sheets = [key_value_sheet("Summary", [(k, v, _SUMMARY_KINDS.get(k)) for k, v in
                                              self.summary], heading=self.title)]
        for name, (header, rows) in self.tables.items():
            table = pd.DataFrame([[_xlsx_value(v) for v in row] for row in rows],
                                 columns=header, dtype=object).infer_objects()
            sheets.append(Sheet(name, table, kinds=_KINDS))
        write_workbook(path, sheets, currency=self.currency)

    def html(self) -> str:
        e = html.escape
        parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                 f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                 f"<title>{e(self.title)}</title><style>{BASE_CSS}{_CSS}</style></head><body>"
                 f"<h1>{e(self.title)}</h1>", "<div class='scroll'><table class='summary'>"]
        for k, v in self.summary:
            kind = _SUMMARY_KINDS.get(k) or column_kind(k.lower(), [v]) \
                if isinstance(v, int | float) and not isinstance(v, bool) else "text"
            parts.append(f"<tr><th>{e(str(k))}</th>"
                         f"<td>{e(format_value(v, kind, self.currency))}</td></tr>")
        parts.append("</table></div>")
        for name, (header, rows) in self.tables.items():
            parts.append(f"<h2>{e(name)} ({len(rows)})</h2>")
            if not rows:
                parts.append("<p class='none'>none</p>")
                continue
            kinds = [_KINDS.get(h) or column_kind(h, [r[i] for r in rows[:200]])
                     for i, h in enumerate(header)]
            numeric = [k in ("money", "percent", "count", "number") for k in kinds]
            head = "".join(f"<th{' class=num' if num else ''}>{e(h)}</th>"
                           for h, num in zip(header, numeric, strict=True))
            parts.append(f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>")
            for row in rows:
                cells = []
                for h, v, kind, num in zip(header, row, kinds, numeric, strict=True):
                    if h == "utilisation" and isinstance(v, float):
                        pct = max(0.0, min(100.0, 100 * v))
                        cells.append(f"<td class='num'><div class='bar'><div "
                                     f"style='width:{pct:.0f}%'></div></div>{100 * v:.0f}%</td>")
                    else:
                        text = format_value(_xlsx_value(v), kind, self.currency)
                        cells.append(f"<td{' class=num' if num else ''}>{e(text)}</td>")
                parts.append("<tr>" + "".join(cells) + "</tr>")
            parts.append("</tbody></table></div>")
        parts.append("</body></html>")
        return "\n".join(parts)


_CSS = """
.summary th { background: #f6f6f6; } .none { color: #777; }
.bar { display: inline-block; width: 80px; height: 10px; background: #eee; margin-right: 6px; }
.bar div { height: 10px; background: #4a7; }
@media print { .bar { border: 1px solid #999; } .bar div { print-color-adjust: exact; } }
"""


# Columns whose kind the names alone do not say (see allocator.report.writers.column_kind).
_KINDS: dict[str, Kind] = {"quality": "number", "hours or beds": "number", "quantity": "number",
                           "block quantity": "number", "volume": "number", "used": "number",
                           "void": "number"}
_SUMMARY_KINDS: dict[str, Kind] = {"bound": "money", "objective if nobody moves": "money",
                                   "run": "count", "needs in the model": "count",
                                   "new referrals": "count", "suggested": "count",
                                   "unmet": "count", "moves": "count", "max moves": "count"}


def _xlsx_value(v: Any) -> Any:
    if isinstance(v, (list, dict)):
        return str(v)
    return v


def _utc(t: datetime | None) -> datetime | None:
    if t is not None and t.tzinfo is None:  # SQLite keeps no zone: the store writes UTC
        return t.replace(tzinfo=UTC)
    return t


def build_report(engine: Engine, run_id: int) -> MorningReport:
    """Gather the morning report of run ``run_id`` from the book."""
    with transaction(engine) as session:
        run = session.get(m.Run, run_id)
        if run is None:
            raise ValueError(f"there is no run {run_id}")
        state = session.execute(select(m.BookState)).scalar_one()
        suggestions = list(session.execute(select(m.Suggestion).where(
            m.Suggestion.run_id == run_id).order_by(m.Suggestion.seq)).scalars())
        needs = {n.id: n for n in session.execute(select(m.Need).where(
            m.Need.id.in_([s.need_id for s in suggestions]))).scalars()} if suggestions else {}
        previous = session.execute(select(m.Run).where(m.Run.id < run_id)
                                   .order_by(m.Run.id.desc()).limit(1)).scalar_one_or_none()
        changes = _changes(session, run, previous, suggestions)
        currency = state.currency
    new_rows, move_rows = [], []
    unmet: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    in_care_unmet = 0
    for s in suggestions:
        need = needs[s.need_id]
        if s.action == "move":
            move = s.explanation.get("move", {})
            move_rows.append([s.need_id, need.zone_id, s.from_provider_id, s.provider_id,
                              s.quantity, move.get("from_cost"), s.cost, s.saving, s.reason])
            continue
        if s.action == "unmet":
            unit = "beds" if need.kind == "placement" else "hours"
            cell = unmet[(need.zone_id, f"{need.priority} ({unit})")]
            cell[0] += s.quantity
            cell[1] += 1
        if s.action == "unmet" and s.from_provider_id:
            # a person in care whose provider can no longer serve them, with no place: not a
            # new referral; listed with the moves, "no place" as where they go
            in_care_unmet += 1
            move_rows.append([s.need_id, need.zone_id, s.from_provider_id, "no place",
                              s.quantity, None, None, None, s.reason])
            continue
        change = s.explanation.get("change", {}).get("sentence", "") if s.action == "unmet" \
            else ""
        new_rows.append([s.need_id, need.zone_id, need.service, need.complexity,
                         need.care_group, need.priority, s.quantity, s.action,
                         s.provider_id or "", s.offer_id or "", s.cost, s.block_quantity,
                         s.reason if s.action == "assign" else
                         s.explanation.get("detail", s.reason), change])
    # table rows mix labels and numbers
    unmet_rows: list[list[Any]] = [[zone, prio, qty, int(people)]
                                   for (zone, prio), (qty, people) in sorted(unmet.items())]
    if unmet_rows:
        unmet_rows.append(["total", "", sum(r[2] for r in unmet_rows),
                           sum(r[3] for r in unmet_rows)])
    providers = [[r["provider"], r["quality"], r["hours_capacity"], r["hours_in_care"],
                  r["hours_used"], r["utilisation"], r["beds"], r["beds_used"]]
                 for r in run.usage.get("providers", [])]
    blocks = [[r["provider"], r["lot"], r["rate"], r["volume"], r["used"], r["void"]]
              for r in run.usage.get("blocks", [])]
    finished = _utc(run.finished_at)
    summary: list[tuple[str, Any]] = [
        ("run", run.id), ("finished (UTC)", f"{finished:%Y-%m-%d %H:%M:%S}" if finished else ""),
        ("solver", run.solver), ("status", run.status),
        (f"objective ({currency} a week)", run.objective), ("bound", run.bound),
        ("gap", None if run.gap is None else f"{100 * run.gap:.4f}%"),
        ("time (s)", run.runtime_s), ("needs in the model", run.n_needs),
        ("new referrals", run.n_new), ("suggested", run.n_suggested), ("unmet", run.n_unmet),
        ("of which people in care with no place", in_care_unmet),
        ("moves", run.n_moves), ("max moves", run.max_moves),
        ("objective if nobody moves", run.baseline_objective),
        ("previous run", previous.id if previous else "none"),
    ]
    tables: dict[str, Table] = {
        "New referrals": (["need", "zone", "service", "complexity", "care group", "priority",
                           "quantity", "suggestion", "provider", "offer", "weekly cost",
                           "block quantity", "why", "cheapest change"], new_rows),
        "Moves": (["need", "zone", "from", "to", "quantity", "cost before", "cost after",
                   "saving a week", "why"], move_rows),
        "Unmet by zone": (["zone", "priority", "hours or beds", "people"], unmet_rows),
        "Providers": (["provider", "quality", "hours capacity", "hours in care",
                       "hours used with suggestions", "utilisation", "beds", "beds used"],
                      providers),
        "Blocks": (["provider", "lot", "rate", "volume", "used", "void"], blocks),
        "Changes": (["what", "need", "before", "now"], changes),
    }
    title = f"Morning report - {state.name} - run {run.id}"
    return MorningReport(run_id=run.id, title=title, summary=summary, tables=tables,
                         currency=currency)


def _changes(session: Session, run: m.Run, previous: m.Run | None,
             suggestions: list[m.Suggestion]) -> list[list[Any]]:
    if previous is None:
        return [["first run", "", "", "nothing to compare with"]]
    before = {s.need_id: s for s in session.execute(select(m.Suggestion).where(
        m.Suggestion.run_id == previous.id)).scalars()}
    rows: list[list[Any]] = []
    for s in suggestions:
        old = before.get(s.need_id)
        now = s.provider_id or "unmet"
        if old is None:
            rows.append(["new suggestion" if s.action != "move" else "new move", s.need_id, "",
                         now])
        elif (old.provider_id or "unmet") != now:
            what = ("newly unmet" if s.action == "unmet" else
                    "newly served" if old.action == "unmet" else "suggestion changed")
            rows.append([what, s.need_id, old.provider_id or "unmet", now])
    seen = {s.need_id for s in suggestions}
    for need_id, old in before.items():
        if need_id not in seen:
            rows.append(["no longer suggested", need_id, old.provider_id or "unmet",
                         "decided or ended"])
    decided = session.execute(select(m.Decision).where(
        m.Decision.decided_at > previous.finished_at, m.Decision.decided_at <= run.started_at)
        .order_by(m.Decision.id)).scalars()
    for d in decided:
        rows.append([f"{d.decision}ed (run {d.run_id})", d.need_id, "",
                     f"{d.provider_id}{': ' + d.reason if d.reason else ''}"])
    ended = session.execute(select(m.Need).where(
        m.Need.ended_at > previous.finished_at, m.Need.ended_at <= run.started_at)).scalars()
    for n in ended:
        rows.append(["ended", n.id, "", ""])
    return rows


def write_report(engine: Engine, run_id: int, folder: str | Path) -> tuple[Path, Path]:
    """Build and write the morning report of a run; returns (xlsx, html) paths."""
    return build_report(engine, run_id).write(folder)
