"""Spreadsheet downloads that cannot run formulas: CSV and XLSX writing with every text cell
that starts like a formula neutralised (formula or CSV injection, OWASP).

A text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which some
spreadsheets skip before reading a formula) gets a leading apostrophe, which spreadsheets read
as "this is text". Numbers stay numbers: a negative saving is a number cell, not a formula.
Referral ids, provider names and reasons typed by users reach our downloads, so every CSV or
XLSX the web app serves goes through here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Rows = Iterable[Sequence[Any]]


def neutralise(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell (text only; other types unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    return neutralise(str(value))


def csv_bytes(header: Sequence[str], rows: Rows) -> bytes:
    """A UTF-8 CSV (with a byte-order mark, so that Excel reads the accents) of the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_cell(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(sheets: Mapping[str, tuple[Sequence[str], Rows]]) -> bytes:
    """An XLSX workbook with one sheet per (header, rows); every cell is a value, never a
    formula."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(_sheet_name(name))
        sheet.append([_cell(h) for h in header])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([_cell(v) for v in row])
        for row_cells in sheet.iter_rows():
            for cell in row_cells:
                if cell.data_type == "f":  # openpyxl reads any "=..." text as a formula
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _sheet_name(name: str) -> str:
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31]
    return cleaned or "sheet"
