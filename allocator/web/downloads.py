"""Downloads of what a page shows, as CSV or XLSX bytes, through the one output-writing layer
(:mod:`allocator.report.writers`): every text cell that a spreadsheet would run as a formula
(``=``, ``+``, ``-``, ``@``, tab, CR first) is neutralised, numbers stay numbers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.report.writers import table_to_csv, write_workbook

Table = tuple[Sequence[str], Iterable[Sequence[Any]]]


def frame(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    return pd.DataFrame([list(r) for r in rows], columns=list(header))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A UTF-8 CSV (with a byte-order mark, so that Excel reads the accents)."""
    return ("\ufeff" + table_to_csv(frame(header, rows))).encode("utf-8")


def xlsx_bytes(sheets: Mapping[str, Table], currency: str = "GBP") -> bytes:
    """An XLSX workbook, one sheet per table, formatted as the CLI's workbooks are."""
    with tempfile.TemporaryDirectory(prefix="allocator-download-") as folder:
        path = Path(folder) / "download.xlsx"
        write_workbook(path, {name: frame(*table) for name, table in sheets.items()},
                       currency=currency)
        return path.read_bytes()
