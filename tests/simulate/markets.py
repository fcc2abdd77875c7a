"""Small markets for the simulation tests."""

from __future__ import annotations

from pathlib import Path

from allocator.instance.io import load_instance
from allocator.instance.schema import Instance

ROOT = Path(__file__).resolve().parents[2]


def devon_sample() -> Instance:
    """The shipped 152-need sample of a Devon county (8 zones, block contracts)."""
    return load_instance(ROOT / "instances" / "devon_personal_care.json")


def dps_market(needs: list[dict]) -> Instance:
    """One zone, three home-care providers (the hand-worked first-come case).

    A: quality 90, price 25, 10 hours; B: quality 60, price 20, 10 hours; C: quality 40,
    price 18, 5 hours. Travel factor 1, any complexity and care group.
    """
    offer = {"zone": "Z", "service": "personal_care", "unit": "hours",
             "max_complexity": "highly_complex"}
    return Instance.model_validate({
        "name": "dps",
        "zones": [{"id": "Z"}],
        "providers": [{"id": "A", "quality": 90}, {"id": "B", "quality": 60},
                      {"id": "C", "quality": 40}],
        "offers": [{**offer, "provider": "A", "price": 25, "capacity": 10},
                   {**offer, "provider": "B", "price": 20, "capacity": 10},
                   {**offer, "provider": "C", "price": 18, "capacity": 5}],
        "needs": [{"kind": "package", "zone": "Z", "service": "personal_care",
                   "complexity": "less_complex", "care_group": "OP", **n} for n in needs],
        "policy": {"unmet_penalty": {"standard": 60, "hospital_discharge": 200}},
    })
