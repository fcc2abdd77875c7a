"""A tiny market and three lot designs for it, small enough to solve in a blink.

Two zones; four providers; supported-living schemes (beds) and home-care offers (hours);
ten placements and eight packages. The designs mirror the Staffordshire three: all framework,
a mix (block-only highly complex lot, block plus framework elsewhere) and all block.
"""

from __future__ import annotations

from allocator.design.designs import Design
from allocator.instance.schema import Instance


def tiny_market() -> Instance:
    """The market (no lots: the designs bring them)."""
    offers = []
    schemes = [  # provider, zone, beds, price, max complexity
        ("p1", "z1", 3, 950.0, "complex"), ("p1", "z2", 2, 1000.0, "complex"),
        ("p2", "z1", 3, 900.0, "complex"), ("p2", "z2", 2, 2700.0, "highly_complex"),
        ("p3", "z2", 3, 980.0, "complex"), ("p4", "z1", 2, 2900.0, "highly_complex"),
        ("p4", "z2", 2, 350.0, "less_complex"),
    ]
    for k, (p, z, beds, price, cx) in enumerate(schemes, start=1):
        offers.append({"id": f"s{k}", "provider": p, "zone": z, "service": "supported_living",
                       "unit": "beds", "price": price, "capacity": float(beds),
                       "max_complexity": cx, "scheme": f"s{k}"})
    for p, z, price in (("p1", "z1", 21.0), ("p3", "z1", 19.5), ("p3", "z2", 20.0),
                        ("p4", "z2", 23.0)):
        offers.append({"provider": p, "zone": z, "service": "personal_care", "unit": "hours",
                       "price": price, "capacity": 30.0, "max_complexity": "highly_complex"})
    needs = []
    placements = [("z1", "complex"), ("z1", "complex"), ("z1", "highly_complex"),
                  ("z1", "less_complex"), ("z2", "complex"), ("z2", "complex"),
                  ("z2", "highly_complex"), ("z2", "less_complex"), ("z1", "complex"),
                  ("z2", "complex")]
    for k, (z, cx) in enumerate(placements, start=1):
        needs.append({"id": f"pl{k}", "kind": "placement", "zone": z,
                      "service": "supported_living", "complexity": cx, "care_group": "LD",
                      "quantity": 1.0, "priority": "standard_bed",
                      "acceptable_zones": ["z1", "z2"]})
    for k, (z, hours) in enumerate([("z1", 10.0), ("z1", 7.5), ("z1", 14.0), ("z2", 6.0),
                                    ("z2", 12.0), ("z2", 9.0), ("z1", 5.0), ("z2", 8.0)],
                                   start=1):
        needs.append({"id": f"pk{k}", "kind": "package", "zone": z, "service": "personal_care",
                      "complexity": "complex", "care_group": "OP", "quantity": hours})
    return Instance.model_validate({
        "name": "tiny market",
        "zones": [{"id": "z1"}, {"id": "z2"}],
        "providers": [{"id": "p1", "quality": 80}, {"id": "p2", "quality": 70},
                      {"id": "p3", "quality": 55}, {"id": "p4", "quality": 90}],
        "offers": offers, "needs": needs,
        "policy": {"unmet_penalty": {"standard": 60.0, "standard_bed": 6000.0},
                   "quality_weight": 10.0, "out_of_zone_penalty": 50.0},
    })


def _lots(framework: dict[str, bool], block: dict | None) -> list[dict]:
    lots = [
        {"id": "hc", "unit": "beds", "zones": ["z1", "z2"], "services": ["supported_living"],
         "complexities": ["highly_complex"], "framework": framework["hc"]},
        {"id": "sl", "unit": "beds", "zones": ["z1", "z2"], "services": ["supported_living"],
         "complexities": ["less_complex", "complex"], "framework": framework["sl"]},
        {"id": "hours", "unit": "hours", "zones": ["z1", "z2"], "services": ["personal_care"],
         "complexities": ["less_complex", "complex", "highly_complex"],
         "framework": framework["hours"]},
    ]
    if block is not None:
        for lot in lots:
            if lot["id"] in block:
                lot["block"] = block[lot["id"]]
    return lots


RULES = [{"rate_factor": 0.85, "award_cost": 40.0}]


def designs() -> dict[str, Design]:
    """all_framework, mixed and all_block designs of :func:`tiny_market`."""
    every = {"hc": True, "sl": True, "hours": True}
    return {
        "all_framework": Design.model_validate(
            {"name": "all framework", "lots": _lots(every, None)}),
        "mixed": Design.model_validate({
            "name": "mixed",
            "lots": _lots({"hc": False, "sl": True, "hours": True},
                          {"hc": {"min_providers": 1, "max_providers": 2},
                           "sl": {"max_providers": 2, "max_share": 0.8},
                           "hours": {"max_providers": 1, "max_share": 0.6}}),
            "bid_rules": RULES}),
        "all_block": Design.model_validate({
            "name": "all block",
            "lots": _lots({"hc": False, "sl": False, "hours": False},
                          {"hc": {"min_providers": 1}, "sl": {"min_providers": 1},
                           "hours": {"min_providers": 1}}),
            "bid_rules": RULES}),
    }
