"""Downloads of what a page shows, as CSV or XLSX bytes, through the one output-writing layer
(:mod:`allocator.report.writers`): every text cell that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@``, tab, CR first) is neutralised, numbers stay numbers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from allocator.report.writers import Sheet, table_to_csv, workbook_bytes

Table = tuple[Sequence[str], Iterable[Sequence[Any]]]


def frame(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    return pd.DataFrame([list(r) for r in rows], columns=list(header))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 CSV (with a byte-order mark, so that Excel reads the accents)."""
    return frame_csv_bytes(frame(header, rows))


def frame_csv_bytes(df: pd.DataFrame) -> bytes:
    """A DataFrame as a UTF-8 CSV with a byte-order mark (see :func:`csv_bytes`)."""
    return ("\ufeff" + table_to_csv(df)).encode("utf-8")


def xlsx_bytes(sheets: Mapping[str, Table], currency: str = "GBP") -> bytes:
    """An XLSX workbook, one sheet per table, formatted as the CLI's workbooks are."""
    return workbook_bytes({name: frame(*table) for name, table in sheets.items()},
                          currency=currency)


def sheets_xlsx_bytes(sheets: Sequence[Sheet], currency: str = "GBP") -> bytes:
    """An XLSX workbook of ready-made sheets (a label/value summary sheet, tables), as the
    CLI writes them (:func:`allocator.report.writers.write_workbook`)."""
    return workbook_bytes(list(sheets), currency=currency)
