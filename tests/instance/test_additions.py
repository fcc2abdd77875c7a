"""DESIGN.md 9.1-9.3 in the schema: if_awarded offers, per-lot min_quality, design targets.

Each bad input names file, table, row and field; the three fields survive JSON -> XLSX -> CSV
-> JSON; a v1 file without them keeps its meaning (defaults that change nothing).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allocator.instance.errors import InputProblem
from allocator.instance.io import convert, load_instance, save_instance
from allocator.instance.validate import validate_path


def document() -> dict[str, Any]:
    """Two lots, a bid bringing an award-only scheme, a target across both lots."""
    hours = {"service": "personal_care", "unit": "hours", "max_complexity": "complex"}
    return {
        "zones": [{"id": "Z1"}, {"id": "Z2"}],
        "providers": [{"id": "P1", "quality": 80}, {"id": "P2", "quality": 40}],
        "offers": [
            {"provider": "P1", "zone": "Z1", "price": 20, "capacity": 10, **hours},
            {"id": "new", "provider": "P2", "zone": "Z2", "price": 15, "capacity": 30,
             "if_awarded": "L2", **hours},
        ],
        "needs": [{"id": "N1", "kind": "package", "zone": "Z1", "service": "personal_care",
                   "complexity": "complex", "care_group": "OP", "quantity": 5}],
        "lots": [
            {"id": "L1", "unit": "hours", "zones": ["Z1"], "services": ["personal_care"],
             "complexities": ["complex"], "min_quality": 50},
            {"id": "L2", "unit": "hours", "zones": ["Z2"], "services": ["personal_care"],
             "complexities": ["complex"]},
        ],
        "block_bids": [{"provider": "P2", "lot": "L2", "rate": 14, "max_volume": 30}],
        "design_targets": [{"id": "T", "lots": ["L1", "L2"], "min_block_share": 0.5,
                            "max_providers": 2}],
        "policy": {"unmet_penalty": {"standard": 60}},
    }


def problems(tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> list[InputProblem]:
    doc = document()
    change(doc)
    path = tmp_path / "market.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    instance, found = validate_path(path)
    assert instance is None
    return found


def test_fields_load_with_their_values(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    instance = load_instance(path)
    assert instance.offers[1].if_awarded == "L2"
    assert instance.offers[0].if_awarded is None
    assert [lot.min_quality for lot in instance.lots] == [50, 0]
    target = instance.design_targets[0]
    assert (target.lots, target.min_block_share, target.max_block_share) == (("L1", "L2"), 0.5, 1)
    assert (target.min_providers, target.max_providers) == (0, 2)


def test_v1_file_gets_neutral_defaults(tmp_path: Path) -> None:
    doc = document()
    del doc["design_targets"], doc["lots"][0]["min_quality"], doc["offers"][1]["if_awarded"]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    instance = load_instance(path)
    assert instance.design_targets == ()
    assert all(lot.min_quality == 0 for lot in instance.lots)
    assert all(offer.if_awarded is None for offer in instance.offers)


def test_round_trip_through_xlsx_and_csv(tmp_path: Path) -> None:
    src = tmp_path / "m.json"
    src.write_text(json.dumps(document()), encoding="utf-8")
    original = load_instance(src)
    convert(src, tmp_path / "m.xlsx")
    convert(tmp_path / "m.xlsx", tmp_path / "csv")
    convert(tmp_path / "csv", tmp_path / "back.json")
    assert load_instance(tmp_path / "back.json") == original
    with (tmp_path / "csv" / "design_targets.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["lots"] == "L1;L2"
    assert rows[0]["max_providers"] == "2"


def test_unknown_lot_in_if_awarded(tmp_path: Path) -> None:
    found = problems(tmp_path, lambda d: d["offers"][1].update(if_awarded="L9"))
    assert [(p.table, p.row, p.field) for p in found] == [("offers", "new", "if_awarded")]
    assert "unknown lot 'L9'" in found[0].message


def test_design_target_rules(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["design_targets"] = [
            {"id": "T", "lots": ["L1", "L9", "L1"]},
            {"id": "T", "lots": ["L2"]},
            {"id": "U", "lots": ["L2"], "min_providers": 3, "max_providers": 1},
            {"id": "V", "lots": ["L2"], "min_block_share": 0.8, "max_block_share": 0.7},
            {"id": "W", "lots": []},
            {"id": "X", "lots": ["L2"], "max_block_share": 1.5},
        ]

    listed = problems(tmp_path, change)
    messages = {(p.table, p.row, p.field, p.message) for p in listed}
    assert ("design_targets", "T", "lots", "unknown lot 'L9'") in messages
    assert ("design_targets", "T", "lots", "lot 'L1' is listed twice") in messages
    found = {(p.table, p.row, p.field): p.message for p in listed}
    assert "max_providers (1) is below min_providers (3)" in found["design_targets", "U",
                                                                      "max_providers"]
    assert "max_block_share (0.7) is below min_block_share (0.8)" in found[
        "design_targets", "V", "max_block_share"]
    assert "at least 1" in found["design_targets", "W", "lots"]
    assert "<= 1, got 1.5" in found["design_targets", "X", "max_block_share"]
    assert "used more than once" in found["design_targets", "T", "id"]


def test_lot_listed_twice_in_a_target(tmp_path: Path) -> None:
    found = problems(tmp_path, lambda d: d["design_targets"][0].update(lots=["L1", "L1"]))
    assert [(p.table, p.row, p.field) for p in found] == [("design_targets", "T", "lots")]
    assert "listed twice" in found[0].message


def test_lot_min_quality_range(tmp_path: Path) -> None:
    found = problems(tmp_path, lambda d: d["lots"][0].update(min_quality=120))
    assert [(p.table, p.row, p.field) for p in found] == [("lots", "L1", "min_quality")]
    assert "<= 100, got 120" in found[0].message


def test_true_and_false_are_not_numbers_in_the_additions(tmp_path: Path) -> None:
    """pydantic's lax mode would read ``true`` as 1: a lot's quality threshold of 1, a
    target's one provider. Refused, as everywhere else in the schema."""
    def change(d: dict[str, Any]) -> None:
        d["lots"][0]["min_quality"] = True
        d["design_targets"][0].update(min_providers=True, max_providers=False)

    found = {(p.table, p.row, p.field): p.message for p in problems(tmp_path, change)}
    assert set(found) == {("lots", "L1", "min_quality"), ("design_targets", "T", "min_providers"),
                          ("design_targets", "T", "max_providers")}
    assert all("must be a number, not true/false" in m for m in found.values())


def test_csv_design_target_cell_is_named(tmp_path: Path) -> None:
    src = tmp_path / "m.json"
    src.write_text(json.dumps(document()), encoding="utf-8")
    save_instance(load_instance(src), tmp_path / "csv")
    table = tmp_path / "csv" / "design_targets.csv"
    text = table.read_text(encoding="utf-8").replace("L1;L2", "L1;L7")
    table.write_text(text, encoding="utf-8")
    instance, found = validate_path(tmp_path / "csv")
    assert instance is None
    assert [(p.table, p.row, p.field) for p in found] == [("design_targets", "T", "lots")]
    assert "unknown lot 'L7'" in found[0].message


def test_validate_notes_an_offer_that_can_never_exist(tmp_path: Path) -> None:
    """Valid (DESIGN.md 9.1: capacity 0 for good), but a misspelt provider or lot reads the
    same: ``allocator validate`` says so after its ``ok`` line and still exits 0."""
    from typer.testing import CliRunner

    from allocator.cli.main import app

    doc = document()
    path = tmp_path / "market.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == 0 and "note:" not in res.output  # P2 bids in L2: its offer exists
    doc["offers"][1]["if_awarded"] = "L1"  # P2 has no bid and no contract in L1
    path.write_text(json.dumps(doc), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", str(path)])
    assert res.exit_code == 0, res.output
    assert ("note: offers, new, field 'if_awarded': provider P2 has neither a block bid nor a "
            "contract in force in lot L1, so this offer never has capacity") in res.output
