"""Downloads through the one output-writing layer: no formula, numbers stay numbers."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from allocator.web.downloads import csv_bytes, xlsx_bytes

DANGEROUS = ["=1+2", "+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1",
             '=HYPERLINK("http://x","y")']


def test_csv_and_xlsx_downloads_hold_no_formula():
    rows = [[t, -1.5, None] for t in DANGEROUS]
    text = csv_bytes(["need", "saving", "empty"], rows).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == ["need", "saving", "empty"]
    assert [r[0] for r in parsed[1:]] == ["'" + t for t in DANGEROUS]
    assert parsed[1][1] == "-1.5"  # a number, not neutralised text

    sheet = load_workbook(io.BytesIO(xlsx_bytes({"s": (["need", "saving"], [
        r[:2] for r in rows])}))).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    cells = [sheet.cell(r, 1) for r in range(2, 2 + len(DANGEROUS))]
    assert [c.value for c in cells] == DANGEROUS
    assert all(c.quotePrefix for c in cells)
    assert sheet.cell(2, 2).value == -1.5
