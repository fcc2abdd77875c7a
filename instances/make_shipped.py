"""Write the instances shipped in this folder (run from anywhere; output is reproducible).

    python instances/make_shipped.py

* ``tiny.json``: ten needs, four providers, two Devon zones, written by hand so that a person
  can follow the optimum (see README.md): a block contract in use, a transfer and an unmet
  placement.
* ``devon_personal_care.json``: the personal-care part of a generated Devon county (seed 001's
  8 zones, 152 packages).
* ``staffordshire_supported_living.json``: the supported-living part of a generated county sized
  to seed 003 (416 placements by complexity 71/299/46, 479 beds in ~125 schemes, 63 vacant,
  weekly rates by complexity), with 003's lots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from allocator.generate import calibration as cal
from allocator.generate import generate
from allocator.instance.io import save_instance
from allocator.instance.schema import Instance

HERE = Path(__file__).resolve().parent

DEVON = cal.DEVON_ZONES  # 001: the 8 zones of Living Well at Home


def tiny() -> Instance:
    """A hand-written market small enough to solve by hand (README.md gives the answer)."""
    doc: dict[str, Any] = {
        "name": "tiny",
        "zones": [
            {"id": "Z4", "name": f"Zone 4: {DEVON[3]}"},  # 001
            {"id": "Z8", "name": f"Zone 8: {DEVON[7]}"},  # 001
        ],
        "providers": [
            {"id": "P1", "name": "Exe Home Care", "quality": 80, "capacity": 40,
             "cqc_rating": "good"},
            {"id": "P2", "name": "Moorland Carers", "quality": 70, "capacity": 20,
             "cqc_rating": "good"},
            # 000: supporting independence is unregulated (no CQC rating)
            {"id": "P3", "name": "Valley Support", "quality": 65, "capacity": 30},
            {"id": "P4", "name": "Moorview Living", "quality": 75, "cqc_rating": "outstanding"},
        ],
        "offers": [
            # rural Dartmoor (zone 8) is dearer and needs more travel per hour delivered
            {"provider": "P1", "zone": "Z4", "service": "personal_care", "unit": "hours",
             "price": 21.0, "capacity": 40, "max_complexity": "highly_complex"},
            {"provider": "P1", "zone": "Z8", "service": "personal_care", "unit": "hours",
             "price": 24.5, "capacity": 10, "max_complexity": "complex", "travel_factor": 1.3},
            {"provider": "P2", "zone": "Z8", "service": "personal_care", "unit": "hours",
             "price": 23.0, "capacity": 20, "max_complexity": "complex", "travel_factor": 1.2},
            # 003: the upper reference price for daytime support, GBP 15.87 an hour
            {"provider": "P3", "zone": "Z4", "service": "individual_support", "unit": "hours",
             "price": 15.87, "capacity": 30, "max_complexity": "complex"},
            # 003: complex placements average GBP 983 a week; one vacant bed in this scheme
            {"provider": "P4", "zone": "Z8", "service": "supported_living", "unit": "beds",
             "price": 983.0, "capacity": 1, "max_complexity": "complex",
             "care_groups": ["LD", "Autism"], "scheme": "Moorview House"},
        ],
        "needs": [
            _package("N01", "Z4", "less_complex", 10, current="P1"),
            _package("N02", "Z4", "complex", 7, priority="urgent"),
            _package("N03", "Z4", "highly_complex", 12, priority="hospital_discharge"),
            _package("N04", "Z8", "less_complex", 6, current="P1"),
            # reassessed from personal care to individual support: P1 cannot keep it
            _package("N05", "Z4", "less_complex", 9, service="individual_support",
                     care_group="LD", current="P1"),
            _package("N06", "Z8", "complex", 8, current="P2"),
            _package("N07", "Z8", "less_complex", 5, priority="urgent", zones=["Z8", "Z4"]),
            _package("N08", "Z4", "less_complex", 4, service="individual_support",
                     care_group="MH"),
            {"id": "N09", "kind": "placement", "zone": "Z8", "service": "supported_living",
             "complexity": "complex", "care_group": "LD", "quantity": 1,
             "priority": "standard_bed"},
            # 003: "a lack of highly complex/forensic placements": no scheme here takes it
            {"id": "N10", "kind": "placement", "zone": "Z8", "service": "supported_living",
             "complexity": "highly_complex", "care_group": "Autism", "quantity": 1,
             "priority": "urgent_bed"},
        ],
        "lots": [
            {"id": "EX-PC", "name": "Exeter personal care", "unit": "hours", "zones": ["Z4"],
             "services": ["personal_care"],
             "complexities": ["less_complex", "complex", "highly_complex"]},
            {"id": "DM-PC", "name": "Dartmoor personal care", "unit": "hours", "zones": ["Z8"],
             "services": ["personal_care"],
             "complexities": ["less_complex", "complex", "highly_complex"]},
        ],
        # 001: a prime provider's block volume in Exeter, paid whether used or not
        "block_contracts": [{"provider": "P1", "lot": "EX-PC", "rate": 19.5, "volume": 20}],
        "policy": {
            "unmet_penalty": dict(cal.UNMET_PENALTY),
            "transfer_penalty": cal.TRANSFER_PENALTY,
            "quality_weight": cal.QUALITY_WEIGHT,
            "out_of_zone_penalty": cal.OUT_OF_ZONE_PENALTY,
            "min_framework_quality": cal.MIN_FRAMEWORK_QUALITY,
        },
    }
    return Instance.model_validate(doc)


def _package(nid: str, zone: str, complexity: str, hours: float, *,
             service: str = "personal_care", care_group: str = "OP",
             priority: str = "standard", current: str | None = None,
             zones: list[str] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"id": nid, "kind": "package", "zone": zone, "service": service,
                           "complexity": complexity, "care_group": care_group,
                           "quantity": hours, "priority": priority}
    if zones is not None:
        row["acceptable_zones"] = zones
    if current is not None:
        row["current_provider"] = current
    return row


def only_services(inst: Instance, services: set[str], name: str) -> Instance:
    """The part of an instance that deals in ``services`` (providers with no offer dropped)."""
    offers = [o for o in inst.offers if o.service in services]
    keep = {o.provider for o in offers}
    lots = [lot for lot in inst.lots if set(lot.services) <= services]
    lot_ids = {lot.id for lot in lots}
    return Instance.model_validate({
        **inst.model_dump(exclude_none=True),
        "name": name,
        "providers": [p.model_dump(exclude_none=True) for p in inst.providers if p.id in keep],
        "offers": [o.model_dump(exclude_none=True) for o in offers],
        "needs": [n.model_dump(exclude_none=True) for n in inst.needs if n.service in services],
        "lots": [lot.model_dump(exclude_none=True) for lot in lots],
        "block_contracts": [c.model_dump() for c in inst.block_contracts if c.lot in lot_ids],
        "block_bids": [],
        "scenarios": [],
    })


def devon_personal_care() -> Instance:
    """Personal care in a generated Devon (001's zones, prices, unmet shares), with blocks."""
    # 152 packages: the largest Devon-like book whose optimum both exact backends reach in
    # seconds (HiGHS proves it in under a second; CBC, without its preprocessing, finds the
    # same objective but proves it more slowly). At 380 packages neither proved optimality in
    # 300 s, so the shipped file could not show that they agree.
    county = generate(needs=240, providers=24, zones=8, seed=2019, blocks=True)
    return only_services(county, {"personal_care"}, "devon_personal_care")


# Staffordshire County Council's eight districts and boroughs (public fact; 003 lets lots by
# "District or Borough"). They take the generator's zones Z1..Z8 in this order.
STAFFORDSHIRE = (
    "Staffordshire Moorlands", "Newcastle-under-Lyme", "Stafford", "East Staffordshire",
    "Lichfield", "Tamworth", "Cannock Chase", "South Staffordshire",
)
# Assumption: two areas for the lots of complex and less complex placements.
STAFFORDSHIRE_AREAS = {"North": ("Z1", "Z2", "Z3", "Z4"), "South": ("Z5", "Z6", "Z7", "Z8")}


def staffordshire_supported_living() -> Instance:
    """Supported living sized to 003: 416 placements, 53 providers, 479 beds, 63 vacant."""
    # 416 placements: the generator makes 400 of every 6,400 needs placements; 53 of its
    # providers are supported-living ones when there are 212 (a quarter)
    county = generate(needs=6_656, providers=212, zones=8, seed=2022)
    inst = only_services(county, {"supported_living"}, "staffordshire_supported_living")
    zones = [{"id": z.id, "name": name} for z, name in zip(inst.zones, STAFFORDSHIRE, strict=True)]
    # 003's proposal: highly complex county-wide on block from 1-3 providers; the others by
    # geography x complexity, ~70% of all placements on block from 8-12 providers
    lots = [{"id": "SL-HC", "name": "Staffordshire: highly complex", "unit": "beds",
             "zones": [z["id"] for z in zones], "services": ["supported_living"],
             "complexities": ["highly_complex"],
             "block": {**cal.SL_HIGHLY_COMPLEX_BLOCK, "min_quality": cal.BLOCK_MIN_QUALITY}}]
    for area, area_zones in STAFFORDSHIRE_AREAS.items():
        for cx, code in (("complex", "CX"), ("less_complex", "LC")):
            lots.append({"id": f"SL-{area[0]}-{code}",
                         "name": f"{area}: {cx.replace('_', ' ')}", "unit": "beds",
                         "zones": list(area_zones), "services": ["supported_living"],
                         "complexities": [cx],
                         "block": {**cal.SL_OTHER_BLOCK, "min_quality": cal.BLOCK_MIN_QUALITY}})
    return Instance.model_validate({**inst.model_dump(exclude_none=True), "zones": zones,
                                    "lots": lots})


SHIPPED = {
    "tiny": tiny,
    "devon_personal_care": devon_personal_care,
    "staffordshire_supported_living": staffordshire_supported_living,
}


def write_all(out_dir: Path = HERE) -> list[Path]:
    """Write every shipped instance into ``out_dir``; returns the files written."""
    written = []
    for name, make in SHIPPED.items():
        inst = make()
        target = Path(out_dir) / f"{name}.json"
        save_instance(inst, target)
        written.append(target)
        print(f"wrote {target.name}: {len(inst.needs)} needs, {len(inst.providers)} providers, "
              f"{len(inst.offers)} offers, {len(inst.zones)} zones")
    return written


def main() -> None:
    write_all()


if __name__ == "__main__":
    main()
