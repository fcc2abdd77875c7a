"""``allocator template``: the workbook a commissioner fills in, read back like any other."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from allocator.cli.main import app
from allocator.instance.io import load_instance
from allocator.instance.tabular import TABLE_ORDER, columns
from allocator.instance.template import column_title, field_of_title

runner = CliRunner()


def template(tmp_path: Path) -> Path:
    path = tmp_path / "market.xlsx"
    result = runner.invoke(app, ["template", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_every_sheet_words_drop_downs_and_an_example(tmp_path):
    book = openpyxl.load_workbook(template(tmp_path))
    assert book.sheetnames == ["Instructions", "Lists", *TABLE_ORDER]
    needs = book["needs"]
    header = [c.value for c in needs[1]]
    assert header[:2] == ["Id", "Kind"] and "Care group" in header
    assert "Quantity (hours a week; 1 for a bed)" in header
    assert needs["A2"].value == "N1" and needs.freeze_panes == "A2"
    assert needs["A1"].comment is not None
    lists = {str(dv.sqref).split(":")[0][:1]: dv.formula1
             for dv in needs.data_validations.dataValidation}
    col = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in
           enumerate(columns("needs"))}
    assert lists[col["zone"]] == "zones!$A$2:$A$1000"  # zones once entered
    assert lists[col["service"]].startswith("Lists!")
    assert lists[col["care_group"]].startswith("Lists!")
    assert lists[col["priority"]].startswith("Lists!")
    assert lists[col["kind"]].startswith("Lists!")
    offers = {dv.formula1 for dv in book["offers"].data_validations.dataValidation}
    assert "providers!$A$2:$A$1000" in offers
    vocab = [c.value for c in book["Lists"]["A"] if c.value]
    assert vocab[0] == "service" and "supported_living" in vocab
    for sheet in book.worksheets:  # a template holds values, never formulas
        for row in sheet.iter_rows():
            assert all(c.data_type != "f" for c in row), sheet.title


def test_the_template_as_written_validates_and_converts(tmp_path):
    path = template(tmp_path)
    inst = load_instance(path)
    assert [n.id for n in inst.needs] == ["N1"] and inst.policy.unmet_penalty["urgent"] == 120
    out = runner.invoke(app, ["convert", str(path), str(tmp_path / "market.json")])
    assert out.exit_code == 0, out.output
    doc = json.loads((tmp_path / "market.json").read_text())
    assert doc["offers"][0]["price"] == 24.5 and doc["lots"][0]["complexities"] == [
        "less_complex", "complex"]


def test_a_filled_template_reports_sheet_row_and_cell(tmp_path):
    path = template(tmp_path)
    book = openpyxl.load_workbook(path)
    needs = book["needs"]
    needs.append(["N2", "package", "Z1", "personal_care", "complex", "OP", "lots", "standard"])
    needs.append(["N3", "package", "Z9", "personal_care", "complex", "OP", 5, "standard"])
    needs["G2"] = "=2*5"
    book["providers"]["C2"] = 120
    book.save(path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    out = result.output
    assert "needs, row 2, field 'quantity': cell G2 holds a formula (=2*5)" in out
    assert "needs, N2, field 'quantity': must be a number, got 'lots' (cell G3)" in out
    assert "providers, P1, field 'quality': must be <= 100, got 120 (cell C2)" in out
    assert "needs, N3, field 'zone': unknown zone 'Z9'" in out


def test_titles_read_back_to_field_names():
    for table in ("offers", "needs", "lots", "block_bids", "scenario_needs"):
        for name in columns(table):
            assert field_of_title(column_title(name)) == name
    assert field_of_title("care_group") == "care_group"


def test_template_refuses_to_overwrite_and_bad_names(tmp_path):
    path = template(tmp_path)
    again = runner.invoke(app, ["template", str(path)])
    assert again.exit_code == 2 and "already exists (use --force" in again.output
    assert runner.invoke(app, ["template", str(path), "--force"]).exit_code == 0
