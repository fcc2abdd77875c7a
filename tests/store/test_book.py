"""Import a market, export it back: the same instance, on every backend."""

import pytest
from random_instances import random_instance

from allocator.store import book
from allocator.store.engine import transaction
from store.databases import consistent_book


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_export_after_import_gives_back_the_instance(engine, seed):
    inst = random_instance(seed, n_needs=12)
    with transaction(engine) as session:
        summary = book.import_instance(session, inst)
    assert summary.needs_active + summary.needs_new == len(inst.needs)
    with transaction(engine) as session:
        assert book.export_instance(session) == inst


def test_import_refuses_a_full_book_unless_replace(engine):
    inst, _ = consistent_book(4)
    with transaction(engine) as session:
        book.import_instance(session, inst)
    with pytest.raises(book.BookNotEmpty), transaction(engine) as session:
        book.import_instance(session, inst)
    with transaction(engine) as session:
        book.import_instance(session, inst, replace=True)
        assert book.counts(session)["active"] == sum(1 for n in inst.needs if n.current_provider)


def test_active_needs_are_pinned_to_the_given_or_best_offer(engine):
    inst, offers = consistent_book(5)
    with transaction(engine) as session:
        book.import_instance(session, inst, offers=offers)
    with transaction(engine) as session:
        pins = book.pins(session)
        version = book.book_version(session)
    assert {n: p.offer for n, p in pins.items()} == offers
    assert version == 1


def test_current_offers_prefer_the_own_zone_then_the_cheapest():
    from allocator.instance.schema import Instance

    inst = Instance.model_validate({
        "zones": [{"id": "a"}, {"id": "b"}],
        "providers": [{"id": "p", "quality": 50}],
        "offers": [
            {"provider": "p", "zone": "b", "service": "personal_care", "unit": "hours",
             "price": 10, "capacity": 50, "max_complexity": "complex"},
            {"provider": "p", "zone": "a", "service": "personal_care", "unit": "hours",
             "price": 20, "capacity": 50, "max_complexity": "complex"},
        ],
        "needs": [{"id": "n", "kind": "package", "zone": "a", "service": "personal_care",
                   "complexity": "complex", "care_group": "OP", "quantity": 5,
                   "acceptable_zones": ["a", "b"], "current_provider": "p"}],
        "policy": {"unmet_penalty": {"standard": 50}},
    })
    assert book.current_offers(inst) == {"n": "p/a/personal_care"}
