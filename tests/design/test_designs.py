"""Lot design files: loading (JSON, TOML), applying to a market, and clear rejections."""

from __future__ import annotations

import json

import pytest

from allocator.design.designs import apply_design, load_and_apply, load_design
from allocator.instance.errors import InstanceError

from .markets import designs, tiny_market

LOT = {"id": "sl", "unit": "beds", "zones": ["z1", "z2"], "services": ["supported_living"],
       "complexities": ["less_complex", "complex", "highly_complex"]}


def write(tmp_path, document, name="design.json"):
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def problems_of(excinfo) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


def test_rule_bids_price_and_volume_from_the_market():
    inst = apply_design(tiny_market(), designs()["mixed"])
    bids = {(b.provider, b.lot): b for b in inst.block_bids}
    # p1 runs two complex schemes (3 beds at 950, 2 at 1000): the sl lot's bid
    assert bids[("p1", "sl")].max_volume == 5
    assert bids[("p1", "sl")].rate == pytest.approx(0.85 * (3 * 950 + 2 * 1000) / 5, abs=0.01)
    assert bids[("p1", "sl")].award_cost == 40
    # a scheme made for highly complex needs is priced in the hc lot only
    assert bids[("p2", "hc")].max_volume == 2 and bids[("p2", "sl")].max_volume == 3
    assert ("p1", "hc") not in bids


def test_toml_and_json_give_the_same_design(tmp_path):
    toml = tmp_path / "d.toml"
    toml.write_text(
        'name = "one lot"\n[[lots]]\nid = "sl"\nunit = "beds"\nzones = ["z1", "z2"]\n'
        'services = ["supported_living"]\ncomplexities = ["less_complex", "complex", '
        '"highly_complex"]\n[lots.block]\nmax_providers = 2\n[[bid_rules]]\nrate_factor = 0.9\n',
        encoding="utf-8")
    lot = {**LOT, "block": {"max_providers": 2}}
    js = write(tmp_path, {"name": "one lot", "lots": [lot], "bid_rules": [{"rate_factor": 0.9}]})
    assert load_design(toml) == load_design(js)
    inst = load_and_apply(tiny_market(), toml)
    assert {b.lot for b in inst.block_bids} == {"sl"}


def test_min_providers_above_the_bids_is_rejected(tmp_path):
    lot = {**LOT, "block": {"min_providers": 3, "min_quality": 75}}
    path = write(tmp_path, {"name": "x", "lots": [lot], "block_bids": [
        {"provider": "p1", "lot": "sl", "rate": 900, "max_volume": 3},
        {"provider": "p3", "lot": "sl", "rate": 900, "max_volume": 3}]})
    with pytest.raises(InstanceError) as excinfo:
        load_and_apply(tiny_market(), path)
    (line,) = problems_of(excinfo)
    assert str(path) in line and "lots, sl, field 'block.min_providers'" in line
    assert "at least 3 block provider(s) but the lot has 1 awardable bid(s)" in line
    assert "below the lot's quality thresholds (block.min_quality 75" in line  # p3 (55)


def test_shares_outside_zero_one_are_rejected(tmp_path):
    lot = {**LOT, "block": {"min_share": -0.1, "max_share": 1.5}}
    path = write(tmp_path, {"name": "x", "lots": [lot]})
    with pytest.raises(InstanceError) as excinfo:
        load_design(path)
    lines = problems_of(excinfo)
    assert any("field 'block.min_share'" in s and "must be >= 0, got -0.1" in s for s in lines)
    assert any("field 'block.max_share'" in s and "must be <= 1, got 1.5" in s for s in lines)
    assert all(str(path) in s and "lots, sl" in s for s in lines)


def test_bid_for_an_unknown_lot_is_rejected(tmp_path):
    path = write(tmp_path, {"name": "x", "lots": [LOT], "block_bids": [
        {"provider": "p1", "lot": "nowhere", "rate": 900, "max_volume": 3}],
        "bid_rules": [{"lots": ["elsewhere"], "providers": ["p9"]}]})
    with pytest.raises(InstanceError) as excinfo:
        load_and_apply(tiny_market(), path)
    lines = problems_of(excinfo)
    assert any("block_bids, row 1, field 'lot'" in s and "unknown lot 'nowhere'" in s
               and "the design's lots are 'sl'" in s for s in lines)
    assert any("bid_rules, row 1, field 'lots'" in s and "unknown lot 'elsewhere'" in s
               for s in lines)
    assert any("bid_rules, row 1, field 'providers'" in s and "unknown provider 'p9'" in s
               for s in lines)


def test_other_misfits_are_rejected_all_at_once(tmp_path):
    lot_a = {**LOT, "framework": False}
    lot_b = {**LOT, "id": "again", "zones": ["z1"], "extra": 1}
    path = write(tmp_path, {"name": "", "lots": [lot_a, lot_b], "colour": "red"})
    with pytest.raises(InstanceError) as excinfo:
        load_design(path)
    lines = problems_of(excinfo)
    assert any("design" in s and "field 'name'" in s for s in lines)
    assert any("field 'colour'" in s and "not a known field" in s for s in lines)
    assert any("lots, again, field 'extra'" in s for s in lines)
    # the lots overlap and the block-only one has no bid: reported when applied
    with pytest.raises(InstanceError) as excinfo:
        apply_design(tiny_market(), load_design(write(tmp_path, {"name": "y", "lots": [
            lot_a, {**LOT, "id": "again", "zones": ["z1"]}]}, "y.json")), "y.json")
    lines = problems_of(excinfo)
    assert any("lots, sl, field 'framework'" in s and "could only go unmet" in s for s in lines)
    assert any("overlap" in s for s in lines)


def test_unreadable_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InstanceError, match="not valid JSON"):
        load_design(bad)
    with pytest.raises(InstanceError, match="cannot read"):
        load_design(tmp_path / "missing.json")


def test_design_targets_and_award_only_offers(tmp_path):
    """DESIGN.md 9.1/9.3 in a design file: targets replace the market's, offers are added,
    and an if_awarded offer counts in the derived bid of the lot it names only."""
    document = designs()["mixed"].model_dump(mode="json", exclude_none=True)
    document["design_targets"] = [{"id": "T", "lots": ["sl", "hc"], "max_providers": 2}]
    document["offers"] = [{"id": "new_p2", "provider": "p2", "zone": "z1",
                           "service": "supported_living", "unit": "beds", "price": 2500.0,
                           "capacity": 4.0, "max_complexity": "highly_complex",
                           "scheme": "new_p2", "if_awarded": "hc"}]
    inst = load_and_apply(tiny_market(), write(tmp_path, document))
    assert [t.id for t in inst.design_targets] == ["T"]
    assert inst.offers[-1].key == "new_p2" and inst.offers[-1].if_awarded == "hc"
    bids = {(b.provider, b.lot): b for b in inst.block_bids}
    # p2's hc bid: its 2 highly complex beds plus the 4 the award brings
    assert bids[("p2", "hc")].max_volume == 6
    assert bids[("p2", "sl")].max_volume == 3  # the new scheme is not the sl lot's
    document["design_targets"][0]["lots"] = ["sl", "nowhere"]
    document["offers"][0]["if_awarded"] = "elsewhere"
    with pytest.raises(InstanceError) as excinfo:
        load_and_apply(tiny_market(), write(tmp_path, document))
    found = problems_of(excinfo)
    assert any("design_targets" in p and "unknown lot 'nowhere'" in p for p in found)
    assert any("if_awarded" in p and "unknown lot 'elsewhere'" in p for p in found)
