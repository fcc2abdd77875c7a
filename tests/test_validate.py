"""Cross-table rules and plain-English messages: each bad input names file, table, row, field."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from allocator.instance.errors import InputProblem, InstanceError
from allocator.instance.io import load_instance, save_instance
from allocator.instance.schema import Instance
from allocator.instance.validate import check_references, validate_path


def need(id_: str, zone: str = "Z1", **fields: Any) -> dict[str, Any]:
    row = {"id": id_, "kind": "package", "zone": zone, "service": "personal_care",
           "complexity": "complex", "care_group": "OP", "quantity": 5}
    return {**row, **fields}


def offer(provider: str, zone: str = "Z1", **fields: Any) -> dict[str, Any]:
    row = {"provider": provider, "zone": zone, "service": "personal_care", "unit": "hours",
           "price": 20, "capacity": 100, "max_complexity": "highly_complex"}
    return {**row, **fields}


def lot(id_: str, zones: list[str], services: list[str], unit: str = "hours",
        complexities: tuple[str, ...] = ("complex",)) -> dict[str, Any]:
    return {"id": id_, "unit": unit, "zones": zones, "services": services,
            "complexities": list(complexities)}


def base() -> dict[str, Any]:
    """A small consistent instance; each test breaks one thing."""
    return {
        "zones": [{"id": "Z1"}, {"id": "Z2"}],
        "providers": [{"id": "P1", "quality": 80}, {"id": "P2", "quality": 60}],
        "offers": [offer("P1"), offer("P2", "Z2"),
                   offer("P2", "Z2", service="supported_living", unit="beds", scheme="S1")],
        "needs": [need("N1"), need("N2", "Z2", acceptable_zones=["Z1", "Z2"],
                                   current_provider="P2")],
        "lots": [lot("L1", ["Z1", "Z2"], ["personal_care"]),
                 lot("L2", ["Z2"], ["supported_living"], unit="beds")],
        "block_contracts": [{"provider": "P1", "lot": "L1", "rate": 18, "volume": 10}],
        "block_bids": [{"provider": "P2", "lot": "L1", "rate": 17, "max_volume": 20}],
        "policy": {"unmet_penalty": {"standard": 60}},
        "scenarios": [{"id": "S1", "weight": 0.5, "demand_multiplier": 1.1},
                      {"id": "S2", "weight": 0.5, "needs": [need("N1"), need("N3", "Z2")]}],
    }


def problems(tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> list[InputProblem]:
    document = base()
    change(document)
    path = tmp_path / "market.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    instance, found = validate_path(path)
    assert instance is None and found
    for problem in found:
        assert problem.file == str(path) and problem.table and problem.row and problem.field
    return found


def one(tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> InputProblem:
    found = problems(tmp_path, change)
    assert len(found) == 1, found
    return found[0]


def test_base_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "market.json"
    path.write_text(json.dumps(base()), encoding="utf-8")
    instance, found = validate_path(path)
    assert found == [] and instance is not None
    assert check_references(instance, "x") == []


@pytest.mark.parametrize("table", ["zones", "providers", "needs", "lots", "scenarios"])
def test_duplicate_ids(tmp_path: Path, table: str) -> None:
    problem = one(tmp_path, lambda d: d[table].append({**d[table][0], "weight": 0}
                                                      if table == "scenarios" else d[table][0]))
    assert (problem.table, problem.field) == (table, "id")
    assert problem.row == base()[table][0]["id"]
    assert "more than once" in problem.message


def test_duplicate_offer_by_effective_id(tmp_path: Path) -> None:
    # No id and no scheme: both offers are P1/Z1/personal_care (clarification 2).
    problem = one(tmp_path, lambda d: d["offers"].append(offer("P1", price=25)))
    assert (problem.table, problem.row, problem.field) == ("offers", "P1/Z1/personal_care", "id")
    assert "row 1, row 4" in problem.message


def test_duplicate_scheme_and_explicit_ids(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["offers"].append(offer("P1", "Z2", service="supported_living", unit="beds",
                                 scheme="S1"))
        d["offers"] += [offer("P1", id="A"), offer("P2", id="A")]

    found = problems(tmp_path, change)
    assert {(p.row, p.field) for p in found} == {("S1", "id"), ("A", "id")}


@pytest.mark.parametrize(("table", "index", "field", "value", "row", "expected"), [
    ("offers", 0, "provider", "PX", "row 1", "unknown provider 'PX'"),
    ("offers", 1, "zone", "Z9", "row 2", "unknown zone 'Z9'"),
    ("needs", 0, "zone", "Z9", "N1", "unknown zone 'Z9'"),
    ("needs", 1, "acceptable_zones", ["Z1", "Z9"], "N2", "unknown zone 'Z9'"),
    ("needs", 1, "current_provider", "PX", "N2", "unknown provider 'PX'"),
    ("lots", 0, "zones", ["Z1", "Z9"], "L1", "unknown zone 'Z9'"),
    ("block_contracts", 0, "provider", "PX", "row 1", "unknown provider 'PX'"),
    ("block_contracts", 0, "lot", "LX", "row 1", "unknown lot 'LX'"),
    ("block_bids", 0, "provider", "PX", "row 1", "unknown provider 'PX'"),
    ("block_bids", 0, "lot", "LX", "row 1", "unknown lot 'LX'"),
])
def test_unknown_references(tmp_path: Path, table: str, index: int, field: str, value: Any,
                            row: str, expected: str) -> None:
    def change(d: dict[str, Any]) -> None:
        d[table][index][field] = value

    problem = one(tmp_path, change)
    assert (problem.table, problem.row, problem.field) == (table, row, field)
    assert problem.message == expected


def test_overlapping_lots_name_both_and_the_cell(tmp_path: Path) -> None:
    problem = one(tmp_path, lambda d: d["lots"].append(lot("L3", ["Z2"], ["personal_care"])))
    assert (problem.table, problem.row, problem.field) == ("lots", "L3", "zones")
    assert "'L1'" in problem.message and "'L3'" in problem.message
    assert "(Z2, personal_care, complex)" in problem.message


@pytest.mark.parametrize(("unit", "services"), [
    ("beds", ["personal_care"]), ("hours", ["supported_living", "group_support"]),
])
def test_lot_unit_must_fit_its_services(tmp_path: Path, unit: str, services: list[str]) -> None:
    problem = one(tmp_path, lambda d: d["lots"].append(lot("L3", ["Z1"], services, unit=unit,
                                                           complexities=("highly_complex",))))
    assert (problem.table, problem.row, problem.field) == ("lots", "L3", "unit")
    assert "cannot hold" in problem.message


def test_service_and_kind_are_not_coupled_on_needs_and_offers(tmp_path: Path) -> None:
    document = base()
    document["needs"].append(need("N9", kind="placement", quantity=1))  # personal_care bed
    document["offers"].append(offer("P1", "Z2", service="group_support", unit="beds"))
    path = tmp_path / "market.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert validate_path(path)[1] == []


def test_block_contract_on_a_lot_of_another_unit(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        # P1 sells supported living in Z2 only by the hour; L2 is a lot of beds.
        d["offers"].append(offer("P1", "Z2", service="supported_living"))
        d["block_contracts"].append({"provider": "P1", "lot": "L2", "rate": 900, "volume": 2})

    problem = one(tmp_path, change)
    assert (problem.table, problem.row, problem.field) == ("block_contracts", "row 2", "lot")
    assert "'hours'" in problem.message and "beds" in problem.message


def test_two_contracts_for_one_provider_and_lot_pool(tmp_path: Path) -> None:
    """Two contracts in force for one provider and lot are one pool, not an error."""
    from allocator.core.problem import Problem
    from allocator.instance.io import load_instance

    document = base()
    document["block_contracts"].append({"provider": "P1", "lot": "L1", "rate": 15, "volume": 5})
    path = tmp_path / "market.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    instance = load_instance(path)
    problem = Problem.from_instance(instance)
    first = instance.block_contracts[0]
    h = list(problem.holder_lot).index(problem.lot_ids.index("L1"))
    assert problem.holder_volume[h] == first.volume + 5
    assert problem.fixed_block_cost == first.rate * first.volume + 15 * 5


def test_two_bids_by_one_provider_on_one_lot(tmp_path: Path) -> None:
    problem = one(tmp_path, lambda d: d["block_bids"].append(
        {"provider": "P2", "lot": "L1", "rate": 16, "max_volume": 30}))
    assert (problem.table, problem.row, problem.field) == ("block_bids", "row 2", "lot")
    assert "one bid per provider per lot" in problem.message


def test_priority_without_penalty(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["needs"][1]["priority"] = "urgent"
        d["scenarios"][1]["needs"][0]["priority"] = "urgent_bed"

    found = problems(tmp_path, change)
    assert {(p.table, p.row, p.field) for p in found} == {("needs", "N2", "priority"),
                                                          ("scenarios", "N1", "priority")}
    assert any("scenario 'S2'" in p.message and "'urgent_bed'" in p.message for p in found)


def test_priorities_are_reported_once_each(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["needs"] += [need(f"M{i}", priority="urgent") for i in range(20)]

    problem = one(tmp_path, change)
    assert "used by 20 need(s)" in problem.message


def test_scenario_weights_must_sum_to_one(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["scenarios"][0]["weight"] = 0.4

    problem = one(tmp_path, change)
    assert (problem.table, problem.row, problem.field) == ("scenarios", "S1", "weight")
    assert "0.9" in problem.message


def test_scenario_weights_tolerance(tmp_path: Path) -> None:
    document = base()
    document["scenarios"][0]["weight"] = 0.5 + 1e-9
    path = tmp_path / "market.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert validate_path(path)[1] == []


def test_scenario_needs_bad_references_and_duplicates(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        own = d["scenarios"][1]["needs"]
        own[1]["zone"] = "Z9"
        own.append(need("N1", current_provider="PX"))

    found = problems(tmp_path, change)
    assert {(p.table, p.row, p.field) for p in found} == {
        ("scenarios", "N3", "zone"), ("scenarios", "N1", "id"),
        ("scenarios", "N1", "current_provider")}
    assert all("in scenario 'S2'" in p.message for p in found)


def test_scenario_needs_rows_in_csv(tmp_path: Path) -> None:
    folder = tmp_path / "market"
    save_instance(Instance.model_validate(base()), folder)
    rows = list(csv.reader((folder / "scenario_needs.csv").open()))
    rows[2][rows[0].index("zone")] = "Z9"
    rows.append(["S9", *rows[1][1:]])
    csv.writer((folder / "scenario_needs.csv").open("w", newline="")).writerows(rows)
    instance, found = validate_path(folder)
    assert instance is None
    assert {(p.table, p.row, p.field) for p in found} == {
        ("scenario_needs", "N3", "zone"), ("scenario_needs", "N1", "scenario")}


def test_scenario_needs_with_unreadable_scenarios_csv(tmp_path: Path) -> None:
    # The scenario ids are unknown then: report the unreadable file, do not crash on the needs.
    folder = tmp_path / "market"
    save_instance(Instance.model_validate(base()), folder)
    (folder / "scenarios.csv").write_bytes(b"\xff\xfebad\x80")
    instance, found = validate_path(folder)
    assert instance is None
    assert {(p.table, p.field) for p in found} == {("scenarios", "")}
    assert "cannot read scenarios.csv" in found[0].message


def test_every_problem_at_once(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["providers"][0]["quality"] = 120  # row rule
        d["offers"][1]["zone"] = "Z9"  # unknown reference
        d["needs"][0]["priority"] = "urgent"  # no penalty
        d["lots"].append(lot("L3", ["Z1"], ["personal_care"]))  # overlaps L1
        d["scenarios"][0]["weight"] = 0.2  # weights sum to 0.7

    found = problems(tmp_path, change)
    assert sorted((p.table, p.field) for p in found) == [
        ("lots", "zones"), ("needs", "priority"), ("offers", "zone"),
        ("providers", "quality"), ("scenarios", "weight")]


def test_failed_rows_do_not_cascade(tmp_path: Path) -> None:
    # P1 fails its row model; the offers, contract and needs naming it are not "unknown".
    problem = one(tmp_path, lambda d: d["providers"][0].update(quality=-1))
    assert (problem.table, problem.row, problem.field) == ("providers", "P1", "quality")
    assert problem.message == "must be >= 0, got -1"


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda d: d["needs"][0].update(kind="bed"), "kind", "'package' or 'placement'"),
    (lambda d: d["needs"][0].update(quantity=0), "quantity", "must be > 0, got 0"),
    (lambda d: d["needs"][0].update(quantity="lots"), "quantity", "must be a number"),
    (lambda d: d["needs"][0].update(care_group="Elderly"), "care_group", "'Elderly'"),
    (lambda d: d["needs"][0].pop("zone"), "zone", "is required"),
    (lambda d: d["needs"][0].update(id=""), "id", "must not be empty"),
    (lambda d: d["needs"][0].update(colour="red"), "colour", "not a known field"),
])
def test_row_messages_are_plain(tmp_path: Path, change: Callable[[dict[str, Any]], Any],
                                field: str, words: str) -> None:
    problem = one(tmp_path, change)
    assert (problem.table, problem.field) == ("needs", field)
    assert words in problem.message


def test_row_rules_name_their_field(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["offers"][0]["scheme"] = "S9"  # hours offer
        d["lots"][0]["block"] = {"min_share": 0.8, "max_share": 0.5}
        d["scenarios"][1]["demand_multiplier"] = 2
        d["block_bids"][0]["min_volume"] = 40

    found = problems(tmp_path, change)
    assert {(p.table, p.row, p.field) for p in found} == {
        ("offers", "row 1", "scheme"), ("lots", "L1", "block.max_share"),
        ("scenarios", "S2", "demand_multiplier"), ("block_bids", "row 1", "max_volume")}


def test_an_instance_is_checked_when_constructed(tmp_path: Path) -> None:
    """Constructing an Instance from Python runs the cross-table rules of loading a file,
    with the same message; what was built is immutable."""
    import pydantic

    document = base()
    document["needs"][0]["zone"] = "Z9"
    with pytest.raises(pydantic.ValidationError,
                       match="instance, needs, N1, field 'zone': unknown zone 'Z9'"):
        Instance.model_validate(document)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(InstanceError, match="needs, N1, field 'zone': unknown zone 'Z9'"):
        load_instance(path)
    # the rules themselves, on an instance made without validation
    unchecked = Instance.model_construct(**Instance.model_validate(base()).__dict__)
    problems = check_references(unchecked.model_copy(update={"needs": (
        unchecked.needs[0].model_copy(update={"zone": "Z9"}), *unchecked.needs[1:])}), "memory")
    assert [(p.file, p.table, p.row, p.field) for p in problems] == [
        ("memory", "needs", "N1", "zone")]
    good = Instance.model_validate(base())
    assert isinstance(good.needs, tuple)
    with pytest.raises(AttributeError):
        good.needs.append(good.needs[0])  # type: ignore[attr-defined]
    with pytest.raises(pydantic.ValidationError):
        good.needs = ()  # type: ignore[misc]


def test_an_unchecked_instance_fails_with_the_loaders_message() -> None:
    """Problem.from_instance on an instance made the unchecked way (model_copy) whose offer
    names an unknown provider: an InstanceError naming it, not a bare KeyError."""
    from allocator.core.problem import Problem

    inst = load_instance(Path(__file__).parent / "data" / "small_market.json")
    offer = inst.offers[0].model_copy(update={"provider": "nobody"})
    broken = inst.model_copy(update={"offers": (offer, *inst.offers[1:])})
    with pytest.raises(InstanceError, match="nobody"):
        Problem.from_instance(broken)


def test_validated_data_is_immutable() -> None:
    """Tables and the lists inside rows are tuples; rows are frozen models."""
    import pydantic

    inst = load_instance(Path(__file__).parent / "data" / "small_market.json")
    assert isinstance(inst.needs, tuple) and isinstance(inst.lots[0].zones, tuple)
    with pytest.raises(AttributeError):
        inst.needs.append(inst.needs[0])  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        inst.lots[0].zones.append("z9")  # type: ignore[attr-defined]
    with pytest.raises(pydantic.ValidationError):
        inst.needs[0].quantity = 99.0  # type: ignore[misc]


def test_rules_an_independent_reading_of_design_md_found_open(tmp_path: Path) -> None:
    """Three rules of DESIGN.md section 3 an independent implementation put to the engine:
    a travel factor is for hours only (a 1-bed scheme with 1.5 left its placement unmet);
    a demand multiplier of 0 would make every package quantity 0, which no need may have; a
    placement's quantity is 1, so it may be left out."""
    problem = one(tmp_path, lambda d: d["offers"][2].update(travel_factor=1.5))
    assert (problem.table, problem.field) == ("offers", "travel_factor")
    assert problem.message == ("travel_factor applies to hours only (DESIGN.md section 3); a "
                               "beds offer has travel_factor 1, got 1.5")
    problem = one(tmp_path, lambda d: d["scenarios"][0].update(demand_multiplier=0))
    assert (problem.table, problem.row, problem.field) == ("scenarios", "S1",
                                                           "demand_multiplier")
    assert problem.message == "must be > 0, got 0"
    document = base()
    document["offers"][2]["travel_factor"] = 1  # 1 on beds is the default, said or not
    document["needs"].append({"id": "N9", "kind": "placement", "zone": "Z2",
                              "service": "supported_living", "complexity": "complex",
                              "care_group": "LD"})
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    instance, found = validate_path(path)
    assert not found and instance is not None
    assert next(n for n in instance.needs if n.id == "N9").quantity == 1.0
