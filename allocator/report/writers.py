"""The one layer that writes the CSV and XLSX files people open.

Every table the package writes for people (result tables, the nightly morning workbook, design
comparisons, downloads of the web app) goes through :func:`write_csv` or
:func:`write_workbook`; instance files written by ``allocator convert`` use the same cell rule
(:mod:`allocator.instance.cells`).

What a file written here guarantees:

* **No formula.** Text that a spreadsheet would run (``=``, ``+``, ``-``, ``@``, tab or CR
  first) is neutralised: in CSV an apostrophe is put before it
  (:func:`allocator.instance.cells.neutralise`; :func:`allocator.instance.cells.restore`
  reads it back); in XLSX every text cell is a text cell, never a formula, marked
  ``quotePrefix`` as Excel marks text typed after an apostrophe. Numbers, negative ones
  included, stay numbers.
* **Readable numbers.** CSV numbers are rounded to 9 decimals and 12 significant digits, so
  that ``0.9199999999999999`` is written ``0.92`` and ``1e-15`` of void is written ``0``.
  XLSX cells keep the full value and carry a number format by the column's kind
  (:data:`KINDS`): money in the currency (``£#,##0.00`` for GBP), shares as percentages,
  counts as integers.
* **Readable workbooks.** Headers in words (``need_zone`` -> ``Need zone``), bold header row,
  frozen, with an autofilter, columns sized to their content; a summary sheet of label and
  value rows instead of a JSON blob (:func:`key_value_sheet`).
* **Whole files.** Written to a temporary file beside the target and renamed into place
  (:mod:`allocator.instance.atomic`): no half-written file, no leftover, the user's umask.

Typical use::

    from allocator.report.writers import Sheet, write_csv, write_workbook

    write_csv("out/assignments.csv", df)
    write_workbook("out/result.xlsx", [Sheet("assignments", df)], currency="GBP")

For a download without a file: :func:`table_to_csv` (text) and :func:`workbook_bytes`.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from allocator.instance.atomic import replace_file, replacing
from allocator.instance.cells import is_formula_like, neutralise, restore, safe_value

__all__ = [
    "KINDS", "Kind", "Sheet", "column_kind", "csv_number", "header_words", "is_formula_like",
    "key_value_sheet", "money_format", "neutralise", "restore", "safe_value", "table_to_csv",
    "workbook_bytes", "write_csv", "write_workbook",
]

Kind = Literal["text", "money", "percent", "count", "number", "flag", "date"]
KINDS: tuple[Kind, ...] = ("text", "money", "percent", "count", "number", "flag", "date")

CSV_DECIMALS = 9
CSV_DIGITS = 12
MAX_WIDTH = 60
MIN_WIDTH = 9
WIDTH_SAMPLE = 500  # rows looked at to size a column (a county's table has 100,000s)

# Column names (as the tables name them) by kind; anything else is inferred from its dtype.
_MONEY = re.compile(
    r"(^|[_ ])(cost|costs|rate|saving|savings|penalty|objective|bound|price|spend|budget)"
    r"($|[_ ])")
_PERCENT = re.compile(r"(^|_| )(share|utilisation|gap|percent|pct)($|_| )")
_COUNT = re.compile(
    r"(^|_| )(people|needs|providers|referrals|count|suggested|moves|runs|served_people)($|_| )"
    r"|^n_|^needs_served$|^unmet_people$")
# cost_rank is a place and price_score points, not money
_NOT_MONEY = re.compile(r"^(contract_)?volume$|^rule$|_rank$|_score$")
_WORDS = {
    "need_zone": "Need's own zone", "care_group": "Care group",
    "quality_zone_cost": "Quality and out-of-zone cost", "runtime_s": "Run time (s)",
    "build_s": "Build time (s)", "solve_s": "Solve time (s)", "utilisation": "Utilisation",
    "named_providers": "Providers named", "largest_provider": "Largest provider",
    "largest_share": "Largest provider's share", "block_share": "Block share of demand",
    "offer_capacity": "Offer capacity", "needs_served": "Needs served",
    "unmet_people": "People unmet", "id": "Id", "kg": "kg",
}


def header_words(name: str) -> str:
    """A column name as words for people: ``need_zone`` -> ``Need's own zone``.

    Names already in words (with a space or a capital) are kept as they are.
    """
    if name in _WORDS:
        return _WORDS[name]
    if " " in name or any(c.isupper() for c in name):
        return name
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def column_kind(name: str, values: pd.Series | Sequence[Any] | None = None) -> Kind:
    """The kind of a column, from its name, else from its values.

    Money (costs, rates, savings, penalties, objective, bound), percent (shares, utilisation,
    gap: stored as fractions), count (people, needs, providers), flag (booleans), number
    (other numbers) or text.
    """
    series = values if isinstance(values, pd.Series) else (
        pd.Series(list(values)) if values is not None else None)
    if series is not None and pd.api.types.is_bool_dtype(series):
        return "flag"
    numeric = series is None or pd.api.types.is_numeric_dtype(series) or _all_numbers(series)
    key = name.lower()
    if numeric and not _NOT_MONEY.search(key):
        if _PERCENT.search(key):
            return "percent"
        if _MONEY.search(key):
            return "money"
        if _COUNT.search(key):
            return "count"
    if series is None:
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_integer_dtype(series):
        return "count"
    if pd.api.types.is_numeric_dtype(series) or _all_numbers(series):
        return "number"
    return "text"


def _all_numbers(series: pd.Series) -> bool:
    seen = False
    for v in series.head(WIDTH_SAMPLE):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
            return False
        seen = True
    return seen


def money_format(currency: str = "GBP") -> str:
    """The Excel number format of an amount of ``currency``."""
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency.upper())
    if symbol:
        return f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'
    return f'#,##0.00 "{currency}"'


def _number_format(kind: Kind, currency: str) -> str | None:
    return {
        "money": money_format(currency), "percent": "0.0%", "count": "#,##0",
        "number": "#,##0.00", "date": "yyyy-mm-dd hh:mm",
    }.get(kind)


# ---------------------------------------------------------------------- CSV


def csv_number(x: float) -> float | int:
    """``x`` rounded for a CSV file (9 decimals, 12 significant digits; -0 is 0)."""
    if not math.isfinite(x):
        return x
    y = float(f"{round(x, CSV_DECIMALS):.{CSV_DIGITS}g}")
    return 0.0 if y == 0 else y


def _csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_float_dtype(s):
            out[col] = s.round(CSV_DECIMALS).map(csv_number).where(s.notna())
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_integer_dtype(s):
            out[col] = s
        else:
            out[col] = s.map(_csv_cell)
    return pd.DataFrame(out, columns=df.columns)


def _csv_cell(v: Any) -> Any:
    if isinstance(v, str):
        return neutralise(v)
    if isinstance(v, float | np.floating) and not isinstance(v, bool):
        return csv_number(float(v))
    if isinstance(v, list | tuple):
        return neutralise(";".join(str(x) for x in v))
    if isinstance(v, dict):
        return neutralise("; ".join(f"{k}: {x}" for k, x in v.items()))
    return v


def table_to_csv(df: pd.DataFrame) -> str:
    """The CSV text of a table (column names as they are; cells neutralised and rounded)."""
    frame = _csv_frame(df)
    frame.columns = [neutralise(str(c)) for c in frame.columns]
    # CRLF as RFC 4180 has it: the csv module then quotes a cell holding a bare CR, which
    # with "\n" endings it would write unquoted (and a spreadsheet would split the row).
    return frame.to_csv(index=False, lineterminator="\r\n", float_format=f"%.{CSV_DIGITS}g")


def write_csv(path: str | os.PathLike[str], df: pd.DataFrame) -> Path:
    """Write a table as CSV (see the module docstring), atomically; returns the path.

    Column names stay as the tables name them (machines read these files back); text cells
    are neutralised, numbers rounded, missing values empty.
    """
    text = table_to_csv(df)
    return replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8", newline=""))


# ---------------------------------------------------------------------- XLSX


@dataclass
class Sheet:
    """One sheet of a workbook.

    name
        Sheet name (cut to Excel's 31 characters; ``[]:*?/\\`` replaced).
    table
        The rows.
    kinds
        Column -> kind, overriding :func:`column_kind`.
    titles
        Column -> header text, overriding :func:`header_words`.
    key_value
        A two-column label/value sheet (a summary): each value's format by its own kind
        (given in ``row_kinds``), no filter.
    row_kinds
        For a key/value sheet: one kind per row (None: from the value).
    """

    name: str
    table: pd.DataFrame
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    titles: Mapping[str, str] = field(default_factory=dict)
    key_value: bool = False
    row_kinds: Sequence[Kind | None] = ()
    heading: str | None = None


def key_value_sheet(name: str, rows: Iterable[tuple[str, Any] | tuple[str, Any, Kind | None]],
                    *, heading: str | None = None) -> Sheet:
    """A summary sheet: one ``(label, value[, kind])`` per row.

    Lists are written as ``a; b; c`` and mappings as ``key: value; ...``; ``heading`` is a
    bold title above the rows.
    """
    labels, values, kinds = [], [], []
    for row in rows:
        labels.append(str(row[0]))
        values.append(row[1])
        kinds.append(row[2] if len(row) > 2 else None)  # type: ignore[misc]
    table = pd.DataFrame({"Item": labels, "Value": pd.Series(values, dtype=object)})
    return Sheet(name, table, key_value=True, row_kinds=kinds, heading=heading)


def _sheet_title(name: str, used: set[str]) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", name)[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title.lower())
    return title


def write_workbook(
    path: str | os.PathLike[str],
    sheets: Sequence[Sheet] | Mapping[str, pd.DataFrame],
    *,
    currency: str = "GBP",
) -> Path:
    """Write a formatted XLSX workbook atomically (see the module docstring).

    ``sheets`` is a list of :class:`Sheet` or a mapping of sheet name -> table. Uses
    openpyxl's write-only mode (rows streamed, flat memory), one reused styled cell per column.
    """
    items = ([Sheet(n, df) for n, df in sheets.items()] if isinstance(sheets, Mapping)
             else list(sheets))
    with replacing(path) as tmp:
        _write_book(tmp, items, currency)
    return Path(path)


def workbook_bytes(sheets: Sequence[Sheet] | Mapping[str, pd.DataFrame], *,
                   currency: str = "GBP") -> bytes:
    """The same workbook as :func:`write_workbook`, as bytes (for a web download)."""
    items = ([Sheet(n, df) for n, df in sheets.items()] if isinstance(sheets, Mapping)
             else list(sheets))
    buffer = io.BytesIO()
    _write_book(buffer, items, currency)
    return buffer.getvalue()


def _write_book(path: Path | Any, sheets: list[Sheet], currency: str) -> None:
    book = Workbook(write_only=True)
    used: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(title=_sheet_title(sheet.name, used))
        if sheet.key_value:
            _write_key_values(ws, sheet, currency)
        else:
            _write_table(ws, sheet, currency)
    if not sheets:
        book.create_sheet("Empty")
    book.save(path)


def _styled(ws: Any, kind: Kind, currency: str, *, bold: bool = False, wrap: bool = False) -> Any:
    cell = WriteOnlyCell(ws)
    fmt = _number_format(kind, currency)
    if fmt:
        cell.number_format = fmt
    if bold:
        cell.font = Font(bold=True)
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell


class _Column:
    """Two reusable write-only cells of one column's style: plain, and text kept as text
    (``quotePrefix``). Two objects because openpyxl registers a cell's style array by
    reference: changing one cell's style between rows would change every row written."""

    def __init__(self, ws: Any, kind: Kind, currency: str, *, bold: bool = False,
                 wrap: bool = False) -> None:
        self.plain = _styled(ws, kind, currency, bold=bold, wrap=wrap)
        self.quoted = _styled(ws, kind, currency, bold=bold, wrap=wrap)
        self.quoted.quotePrefix = True

    def put(self, value: Any) -> Any:
        """The cell for ``value``; text is always a text cell (never a formula)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and math.isinf(value):
            value = "infinite" if value > 0 else "-infinite"
        if isinstance(value, list | tuple):
            value = "; ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        elif not isinstance(value, str | int | float | bool) and not hasattr(value, "isoformat"):
            value = str(value)
        if isinstance(value, str):
            cell = self.quoted if is_formula_like(value) else self.plain
            cell._value = value  # bypasses openpyxl's "starts with = means formula"
            cell.data_type = "s"
            return cell
        self.plain.value = value
        return self.plain


def _write_table(ws: Any, sheet: Sheet, currency: str) -> None:
    df = sheet.table
    names = [str(c) for c in df.columns]
    kinds = [sheet.kinds.get(n) or column_kind(n, df[c]) for n, c in zip(names, df.columns,
                                                                         strict=True)]
    titles = [neutralise(sheet.titles.get(n) or header_words(n)) for n in names]
    widths = _widths(df, titles, kinds)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    if names:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{len(df) + 1}"
    ws.append([_Column(ws, "text", currency, bold=True, wrap=True).put(t) for t in titles])
    cells = [_Column(ws, k, currency) for k in kinds]
    columns = [df[c].tolist() for c in df.columns]
    for row in zip(*columns, strict=True):
        ws.append([cell.put(v) for cell, v in zip(cells, row, strict=True)])


def _write_key_values(ws: Any, sheet: Sheet, currency: str) -> None:
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 60
    if sheet.heading:
        ws.append([_Column(ws, "text", currency, bold=True).put(sheet.heading)])
        ws.append([])
    ws.append([_Column(ws, "text", currency, bold=True).put("Item"),
               _Column(ws, "text", currency, bold=True).put("Value")])
    ws.freeze_panes = "A3" if sheet.heading else "A2"
    df = sheet.table
    kinds = list(sheet.row_kinds) or [None] * len(df)
    for label, value, kind in zip(df["Item"], df["Value"], kinds, strict=True):
        k: Kind = kind or ("flag" if isinstance(value, bool) else
                           column_kind(str(label).lower(), [value])
                           if isinstance(value, int | float) else "text")
        ws.append([_Column(ws, "text", currency, bold=True).put(label),
                   _Column(ws, k, currency, wrap=k == "text").put(value)])


def _widths(df: pd.DataFrame, titles: list[str], kinds: list[Kind]) -> list[float]:
    out = []
    head = df.head(WIDTH_SAMPLE)
    for col, title, kind in zip(df.columns, titles, kinds, strict=True):
        longest = max((len(w) for w in title.split()), default=4)
        sample = head[col]
        if kind in ("money", "number"):
            vals = pd.to_numeric(sample, errors="coerce").abs().max()
            digits = len(f"{vals:,.2f}") + (2 if kind == "money" else 0) if vals == vals else 6
            longest = max(longest, digits, min(len(title), 14))
        elif kind in ("percent", "count", "flag"):
            longest = max(longest, min(len(title), 12), 7)
        else:
            lengths = sample.map(lambda v: len(str(v)) if v is not None else 0)
            longest = max(longest, int(lengths.max()) if len(lengths) else 0,
                          min(len(title), 14))
        # +3: room for the autofilter button beside the header text
        out.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 3))))
    return out
