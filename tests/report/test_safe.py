"""Downloads cannot carry formulas: text cells that start like one are neutralised."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from allocator.report.safe import FORMULA_START, csv_bytes, neutralise, xlsx_bytes

DANGEROUS = ["=1+2", "+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1",
             '=HYPERLINK("http://x","y")']


def test_text_starting_like_a_formula_gets_an_apostrophe_numbers_stay_numbers():
    for text in DANGEROUS:
        assert neutralise(text) == "'" + text
    assert neutralise("N001") == "N001"
    assert neutralise(-3.5) == -3.5
    assert neutralise(None) is None


@given(st.text())
def test_no_neutralised_text_starts_like_a_formula(text):
    assert not str(neutralise(text)).startswith(FORMULA_START)


def test_csv_and_xlsx_hold_no_formula():
    rows = [[t, -1.5, None, ["a", "=b"]] for t in DANGEROUS]
    text = csv_bytes(["=head", "n", "empty", "list"], rows).decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0][0] == "'=head"
    assert [r[0] for r in parsed[1:]] == ["'" + t for t in DANGEROUS]
    assert parsed[1][1] == "-1.5"  # a number, not neutralised text

    book = load_workbook(io.BytesIO(xlsx_bytes({"s/1": (["=head", "n"], rows)})))
    sheet = book.active
    assert sheet.title == "s_1"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    # (XML reads a carriage return back as a line feed)
    assert [sheet.cell(r, 1).value for r in range(2, 2 + len(DANGEROUS))] == [
        "'" + t.replace("\r", "\n") for t in DANGEROUS]
    assert sheet.cell(2, 2).value == -1.5
