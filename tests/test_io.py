"""Reading and writing instances: round trips between formats, bad files, atomic saves."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from allocator.instance.errors import InstanceError
from allocator.instance.io import convert, dump_json, load_instance, save_instance
from allocator.instance.schema import Instance
from allocator.instance.tabular import columns


def full_document() -> dict[str, Any]:
    """An instance that uses every field, with floats that need all 17 digits."""
    return {
        "schema_version": 1,
        "name": "Devon test",
        "currency": "GBP",
        "zones": [{"id": "Z1", "name": "North Devon"}, {"id": "007", "name": "=Exeter"}],
        "providers": [
            {"id": "P1", "name": "Care One", "quality": 72.5, "capacity": 300.25,
             "cqc_rating": "Good"},
            {"id": "P2", "name": "Homes Ltd", "quality": 55},
            {"id": "P3", "quality": 90.1},
        ],
        "offers": [
            {"provider": "P1", "zone": "Z1", "service": "personal_care", "unit": "hours",
             "price": 23.45, "capacity": 200, "max_complexity": "complex",
             "travel_factor": 1.15, "care_groups": ["OP", "PD"]},
            {"id": "P1-007-pc", "provider": "P1", "zone": "007", "service": "personal_care",
             "unit": "hours", "price": 24.0, "capacity": 80, "max_complexity": "highly_complex"},
            {"provider": "P2", "zone": "007", "service": "supported_living", "unit": "beds",
             "price": 1234.5678901234567, "capacity": 3, "max_complexity": "highly_complex",
             "scheme": "S-Meadow", "care_groups": ["LD", "Autism"]},
            {"provider": "P3", "zone": "Z1", "service": "individual_support", "unit": "hours",
             "price": 0.1 + 0.2, "capacity": 1 / 3, "max_complexity": "less_complex"},
        ],
        "needs": [
            {"id": "N1", "kind": "package", "zone": "Z1", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 10.5,
             "priority": "urgent", "acceptable_zones": ["Z1", "007"], "current_provider": "P1"},
            {"id": "N2", "kind": "placement", "zone": "007", "service": "supported_living",
             "complexity": "highly_complex", "care_group": "LD", "quantity": 1,
             "priority": "standard_bed"},
            {"id": "N3", "kind": "package", "zone": "Z1", "service": "individual_support",
             "complexity": "less_complex", "care_group": "MH", "quantity": 1 / 3},
        ],
        "lots": [
            {"id": "L1", "name": "Home care", "unit": "hours", "zones": ["Z1", "007"],
             "services": ["personal_care", "individual_support"],
             "complexities": ["less_complex", "complex", "highly_complex"],
             "block": {"min_providers": 1, "max_providers": 2, "min_share": 0.1,
                       "max_share": 0.9, "min_quality": 50}},
            {"id": "L2", "unit": "beds", "zones": ["007"], "services": ["supported_living"],
             "complexities": ["highly_complex"], "framework": False, "reservation": True},
        ],
        "block_contracts": [{"provider": "P1", "lot": "L1", "rate": 20.5, "volume": 100}],
        "block_bids": [
            {"provider": "P3", "lot": "L1", "rate": 19, "min_volume": 10, "max_volume": 50.5,
             "award_cost": 250},
            {"provider": "P2", "lot": "L2", "rate": 1100, "max_volume": 3},
        ],
        "policy": {
            "unmet_penalty": {"standard": 60, "urgent": 120.5, "standard_bed": 6000},
            "transfer_penalty": 500, "quality_weight": 2.5, "out_of_zone_penalty": 1.25,
            "min_framework_quality": 40, "max_provider_share": 0.6,
            "objective": "lexicographic",
        },
        "scenarios": [
            {"id": "S1", "weight": 0.5, "demand_multiplier": 1.2},
            {"id": "S2", "weight": 0.25, "needs": [
                {"id": "N1", "kind": "package", "zone": "Z1", "service": "personal_care",
                 "complexity": "complex", "care_group": "OP", "quantity": 14.75,
                 "priority": "urgent", "acceptable_zones": ["Z1"]},
                {"id": "N9", "kind": "placement", "zone": "007", "service": "supported_living",
                 "complexity": "highly_complex", "care_group": "Autism", "quantity": 1,
                 "priority": "standard_bed", "current_provider": "P2"},
            ]},
            {"id": "S3", "weight": 0.25},
            {"id": "S4", "weight": 0.0, "needs": []},
        ],
        "benchmark": {"problem": "cap", "source": "orlib/cap71", "index": 2, "sense": "max",
                      "offset": 1.5, "scale": 0.001, "variant": "v"},
    }


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def problems_of(path: Path) -> list:
    with pytest.raises(InstanceError) as caught:
        load_instance(path)
    return caught.value.problems


def test_round_trip_json_xlsx_csv_json(tmp_path: Path) -> None:
    original = Instance.model_validate(full_document())
    save_instance(original, tmp_path / "a.json")
    convert(tmp_path / "a.json", tmp_path / "b.xlsx")
    convert(tmp_path / "b.xlsx", tmp_path / "c")
    convert(tmp_path / "c", tmp_path / "d.json")
    back = load_instance(tmp_path / "d.json")
    assert back.model_dump() == original.model_dump()
    assert (tmp_path / "a.json").read_text() == (tmp_path / "d.json").read_text()
    # The floats that need 17 significant digits survived every format.
    assert back.offers[2].price == 1234.5678901234567
    assert back.offers[3].price == 0.1 + 0.2
    assert back.scenarios[3].needs == () and back.scenarios[2].needs is None


def test_csv_layout(tmp_path: Path) -> None:
    save_instance(Instance.model_validate(full_document()), tmp_path / "inst")
    names = {p.name for p in (tmp_path / "inst").iterdir()}
    assert names == {f"{t}.csv" for t in ("instance", "zones", "providers", "offers", "needs",
                                          "lots", "block_contracts", "block_bids", "policy",
                                          "scenarios", "scenario_needs")}
    lots = list(csv.DictReader((tmp_path / "inst" / "lots.csv").open()))
    assert lots[0]["zones"] == "Z1;007" and lots[0]["block.max_providers"] == "2"
    assert all(lots[1][c] == "" for c in lots[1] if c.startswith("block."))
    policy = dict(csv.reader((tmp_path / "inst" / "policy.csv").open()))
    assert policy["unmet_penalty.urgent"] == "120.5" and policy["objective"] == "lexicographic"
    header = dict(csv.reader((tmp_path / "inst" / "instance.csv").open()))
    assert header["benchmark.problem"] == "cap"
    scenario_needs = list(csv.DictReader((tmp_path / "inst" / "scenario_needs.csv").open()))
    assert [(r["scenario"], r["id"]) for r in scenario_needs] == [("S2", "N1"), ("S2", "N9")]


def test_xlsx_keeps_text_and_numbers_apart(tmp_path: Path) -> None:
    save_instance(Instance.model_validate(full_document()), tmp_path / "a.xlsx")
    workbook = openpyxl.load_workbook(tmp_path / "a.xlsx")
    zones = list(workbook["zones"].values)
    assert zones[2] == ("007", "=Exeter")  # text stays text, not a number or a formula
    offers = list(workbook["offers"].values)
    assert isinstance(offers[1][offers[0].index("price")], float)


def test_minimal_tables_and_normalisation(tmp_path: Path) -> None:
    document = {
        "zones": [{"id": "Z1"}], "providers": [], "offers": [],
        "needs": [{"id": "N1", "kind": "package", "zone": "Z1", "service": "personal_care",
                   "complexity": "complex", "care_group": "OP", "quantity": 2,
                   "acceptable_zones": []}],
        "policy": {"unmet_penalty": {"standard": 1}},
    }
    instance = load_instance(write_json(tmp_path / "a.json", document))
    assert instance.needs[0].acceptable_zones is None  # [] means absent: the own zone
    save_instance(instance, tmp_path / "folder")
    assert not (tmp_path / "folder" / "lots.csv").exists()
    assert load_instance(tmp_path / "folder") == instance


def test_hand_written_csv_cells(tmp_path: Path) -> None:
    save_instance(Instance.model_validate(full_document()), tmp_path / "inst")
    lots = tmp_path / "inst" / "lots.csv"
    rows = list(csv.reader(lots.open()))
    framework = rows[0].index("framework")
    rows[1][framework], rows[2][framework] = "YES", "0"
    rows[1][rows[0].index("zones")] = " Z1 ; 007 ;"
    csv.writer(lots.open("w", newline="")).writerows(rows)
    instance = load_instance(tmp_path / "inst")
    assert instance.lots[0].framework is True and instance.lots[1].framework is False
    assert instance.lots[0].zones == ("Z1", "007")


def test_missing_file(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "nope.json")
    assert problem.file == str(tmp_path / "nope.json") and "not found" in problem.message


def test_broken_json(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"zones": [}', encoding="utf-8")
    [problem] = problems_of(path)
    assert "not valid JSON" in problem.message and "line 1" in problem.message


def test_missing_required_tables(tmp_path: Path) -> None:
    problems = problems_of(write_json(tmp_path / "a.json", {"zones": []}))
    assert {p.table for p in problems} == {"providers", "offers", "needs"}
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    (folder / "policy.csv").unlink()
    (folder / "needs.csv").unlink()
    assert {p.table for p in problems_of(folder)} == {"policy", "needs"}


def test_unknown_table_field_and_column(tmp_path: Path) -> None:
    document = full_document()
    document["contracts"] = []
    document["zones"][0]["population"] = 3
    document["policy"]["penalty"] = 3
    problems = problems_of(write_json(tmp_path / "a.json", document))
    found = {(p.table, p.row, p.field) for p in problems}
    assert found == {("contracts", "", ""), ("zones", "Z1", "population"),
                     ("policy", "", "penalty")}
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    (folder / "extra.csv").write_text("a\n1\n")
    zones = folder / "zones.csv"
    zones.write_text(zones.read_text().replace("id,name", "id,nmae"))
    problems = problems_of(folder)
    assert {(p.table, p.row, p.field) for p in problems} == {("extra", "", ""),
                                                             ("zones", "row 1", "nmae")}


@pytest.mark.parametrize(("value", "words"), [
    (float("nan"), "finite"), (float("inf"), "finite"), (-3, ">= 0, got -3"),
])
def test_bad_numbers(tmp_path: Path, value: float, words: str) -> None:
    document = full_document()
    document["offers"][1]["price"] = value
    [problem] = problems_of(write_json(tmp_path / "a.json", document))
    assert (problem.table, problem.row, problem.field) == ("offers", "P1-007-pc", "price")
    assert words in problem.message


def test_placement_with_quantity_two(tmp_path: Path) -> None:
    document = full_document()
    document["needs"][1]["quantity"] = 2
    [problem] = problems_of(write_json(tmp_path / "a.json", document))
    assert (problem.table, problem.row, problem.field) == ("needs", "N2", "quantity")
    assert "quantity 1" in problem.message


def test_bad_csv_number_cell_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    providers = folder / "providers.csv"
    rows = list(csv.reader(providers.open()))
    rows[2][rows[0].index("quality")] = "fifty"  # P2, on spreadsheet row 3, column C
    csv.writer(providers.open("w", newline="")).writerows(rows)
    [problem] = problems_of(folder)
    assert (problem.file, problem.table, problem.row, problem.field) == (
        str(folder), "providers", "P2", "quality")
    assert "must be a number, got 'fifty'" in problem.message and "cell C3" in problem.message


def test_row_numbers_in_csv_without_ids(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    contracts = folder / "block_contracts.csv"
    contracts.write_text(contracts.read_text() + "P1,L1,-1,5\n")
    problems = problems_of(folder)
    assert {(p.table, p.row, p.field) for p in problems} == {("block_contracts", "row 3",
                                                              "rate")}


def test_missing_csv_column_reported_once(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    needs = folder / "needs.csv"
    rows = [row[:6] + row[7:] for row in csv.reader(needs.open())]  # drop quantity
    csv.writer(needs.open("w", newline="")).writerows(rows)
    [problem] = problems_of(folder)
    assert (problem.table, problem.row, problem.field) == ("needs", "row 1", "quantity")


def test_xlsx_bad_cell(tmp_path: Path) -> None:
    path = tmp_path / "a.xlsx"
    save_instance(Instance.model_validate(full_document()), path)
    workbook = openpyxl.load_workbook(path)
    lots = workbook["lots"]
    header = [cell.value for cell in lots[1]]
    lots.cell(row=2, column=header.index("framework") + 1, value="maybe")  # L1
    workbook["policy"]["B2"] = -4  # the first penalty
    workbook.save(path)
    problems = problems_of(path)
    found = {(p.table, p.row, p.field) for p in problems}
    assert ("lots", "L1", "framework") in found
    assert ("policy", "row 2", "unmet_penalty.standard") in found
    assert len(problems) == 2


def test_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = Instance.model_validate(full_document())
    # A zone id with ';' cannot be a ';'-separated cell. Such an instance cannot be validated
    # (no zone has that id), so it is made the unchecked way, with model_copy.
    lot = instance.lots[0].model_copy(update={"zones": ["Z1;x"]})
    broken = instance.model_copy(update={"lots": (lot, *instance.lots[1:])})
    save_instance(instance, tmp_path / "a.json")
    for target in (tmp_path / "a.xlsx", tmp_path / "folder"):
        save_instance(instance, target)
        before = _snapshot(target)
        with pytest.raises(ValueError, match="contains ';'"):
            save_instance(broken, target)
        assert _snapshot(target) == before
    monkeypatch.setattr("allocator.instance.io.dump_json", _fail)
    with pytest.raises(RuntimeError):
        save_instance(instance, tmp_path / "a.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.xlsx", "folder"]
    assert load_instance(tmp_path / "a.json") == instance


def _fail(instance: Instance) -> str:
    raise RuntimeError("disk full")


def _snapshot(path: Path) -> dict[str, bytes]:
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return {p.name: p.read_bytes() for p in files}


def test_save_refuses_folder_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="notes.txt"):
        save_instance(Instance.model_validate(full_document()), tmp_path / "f")


def test_json_is_canonical(tmp_path: Path) -> None:
    instance = Instance.model_validate(full_document())
    text = dump_json(instance)
    assert text == dump_json(Instance.model_validate(json.loads(text)))
    assert list(json.loads(text)) == list(Instance.model_fields)
    assert "null" not in text


def test_every_row_table_has_its_model_columns() -> None:
    assert "block.min_quality" in columns("lots")
    assert columns("scenario_needs")["acceptable_zones"] is True
    assert "needs" not in columns("scenarios")


def test_unreadable_files(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_text("not a workbook")
    [problem] = problems_of(tmp_path / "a.xlsx")
    assert "not a readable XLSX workbook" in problem.message
    (tmp_path / "a.txt").write_text("{}")
    [problem] = problems_of(tmp_path / "a.txt")
    assert "unknown file type" in problem.message
    [problem] = problems_of(write_json(tmp_path / "b.json", [1, 2]))
    assert "JSON object" in problem.message


def test_rows_that_are_not_objects(tmp_path: Path) -> None:
    document = full_document()
    document["zones"].append("Z3")
    document["lots"] = {"id": "L1"}
    problems = problems_of(write_json(tmp_path / "a.json", document))
    assert {(p.table, p.row) for p in problems} == {("zones", "row 3"), ("lots", "")}
    assert any("must be an object of named fields, got 'Z3'" in p.message for p in problems)


def test_key_value_table_needs_key_and_value_columns(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    save_instance(Instance.model_validate(full_document()), folder)
    policy = folder / "policy.csv"
    policy.write_text(policy.read_text().replace("key,value", "name,amount", 1))
    problems = problems_of(folder)
    assert [(p.table, p.row) for p in problems] == [("policy", "row 1")]
    policy.write_text("key,value\nunmet_penalty.standard,60\nunmet_penalty.standard,70\n")
    found = {(p.table, p.row, p.field) for p in problems_of(folder)}
    assert ("policy", "row 3", "unmet_penalty.standard") in found


def test_format_argument_overrides_suffix(tmp_path: Path) -> None:
    instance = Instance.model_validate(full_document())
    save_instance(instance, tmp_path / "market.dat", fmt="json")
    assert json.loads((tmp_path / "market.dat").read_text())["name"] == "Devon test"
    with pytest.raises(ValueError, match="unknown instance format"):
        save_instance(instance, tmp_path / "x", fmt="yaml")  # type: ignore[arg-type]
