"""The market zoo (issue 15): each family varies the structure it names, and only that.

Figures are checked at scale M where a rate needs a few thousand draws to be stable (the
tolerances are a few standard errors), at scale S where the structure is exact.
"""

from __future__ import annotations

from functools import cache

import pytest

from allocator.core.check import check
from allocator.core.problem import Problem
from allocator.core.result import Solution
from allocator.generate import generate, planned_assignment
from allocator.generate.families import BASE, COMBINED, EXTREME, FAMILIES, family, variant
from allocator.instance.io import save_instance
from allocator.instance.schema import Instance
from benchmarks.zoo import structure


@cache
def market(name: str, scale: str = "M") -> Instance:
    return generate(scale, seed=1, blocks=True, family=name)


@cache
def stats(name: str, scale: str = "M") -> dict:
    return structure(market(name, scale))


def test_base_family_is_the_calibrated_generator(tmp_path):
    """``family="base"`` (and the default) draw the very market the generator drew before."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_instance(generate("S", seed=3, blocks=True), a)
    save_instance(generate("S", seed=3, blocks=True, family="base"), b)
    assert a.read_bytes() == b.read_bytes()
    assert family(None) is BASE


def test_unknown_family_and_bad_knobs():
    with pytest.raises(ValueError, match="unknown family 'zebra'.*county"):
        generate("S", seed=1, family="zebra")
    with pytest.raises(ValueError, match="current_share"):
        variant(BASE, "bad", current_share=1.5)
    with pytest.raises(ValueError, match="provider_cap_share"):
        variant(BASE, "bad", provider_cap_share=(0.9, 0.8))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_validates_at_s_and_is_named(name):
    inst = market(name, "S")
    assert isinstance(inst, Instance)
    assert (name == "base") == ("generated-S-seed1" == inst.name)
    assert Problem.from_instance(inst).n_pairs > 0


def test_dense_about_twice_the_eligible_pairs():
    base, dense = stats("base"), stats("dense")
    assert dense["offers_per_cell"] >= 1.8 * base["offers_per_cell"]
    assert dense["pairs_per_need"] >= 1.7 * base["pairs_per_need"]
    # nothing else moves
    for key in ("alt_package", "alt_placement", "placement_share", "in_care"):
        assert dense[key] == pytest.approx(base[key])


def test_reach_acceptable_zone_rates():
    st = stats("reach")
    assert st["alt_package"] == pytest.approx(0.15, abs=0.015)  # ~6,000 packages
    assert st["alt_placement"] == pytest.approx(0.35, abs=0.08)  # ~400 placements
    assert st["two_alt_share"] == pytest.approx(0.5, abs=0.06)
    assert stats("base")["two_alt_share"] == 0.0


def test_schemes_more_placements_in_small_schemes():
    st, base = stats("schemes"), stats("base")
    assert st["placement_share"] == pytest.approx(0.12, abs=0.001)
    assert st["beds_per_scheme"] == pytest.approx(4.6, abs=0.3)
    assert base["beds_per_scheme"] == pytest.approx(479 / 125, abs=0.3)


def test_tight_provider_caps_against_their_offers():
    inst = market("tight")
    st = stats("tight")
    assert 0.85 <= st["cap_over_offers"] <= 0.95  # uniform on [0.8, 1.0]
    assert st["cap_over_offers_min"] >= 0.8 - 1e-9
    assert stats("base")["cap_over_offers"] == pytest.approx(1.0, abs=0.01)
    # caps never fall below the planned work: the plan stays feasible
    report = check(inst, Solution(assignment=planned_assignment("M", seed=1, family="tight")))
    assert report.violations == []


def test_incare_share_and_those_who_cannot_continue():
    st = stats("incare")
    assert st["in_care"] == pytest.approx(0.30, abs=0.01)
    assert st["cannot_continue"] == pytest.approx(0.10, abs=0.02)
    assert stats("base")["cannot_continue"] == 0.0


def test_sharecap_binds_on_the_planned_market():
    """The cap cuts off the plan the capacities were sized from: some provider holds more."""
    inst = market("sharecap")
    assert inst.policy.max_provider_share == 0.15
    report = check(inst, Solution(assignment=planned_assignment("M", seed=1,
                                                                family="sharecap")))
    share_rows = [v for v in report.violations if "share" in str(v).lower()]
    assert len(share_rows) >= 10


def test_blockonly_lots_are_funded_by_contracts():
    inst = market("blockonly")
    closed = {lot.id for lot in inst.lots if not lot.framework}
    assert len(closed) >= 10  # every highly complex lot: 3 zone groups x 3 hourly + 1 bed
    assert all(lot.complexities == ("highly_complex",) for lot in inst.lots
               if lot.id in closed)
    held = {c.lot for c in inst.block_contracts}
    assert closed <= held
    demand = Problem.from_instance(inst)
    lot_ix = {lid: i for i, lid in enumerate(demand.lot_ids)}
    volume = {lid: 0.0 for lid in closed}
    for c in inst.block_contracts:
        if c.lot in closed:
            volume[c.lot] += c.volume
    covered = sum(volume.values()) / sum(demand.lot_demand[lot_ix[lid]] for lid in closed)
    assert 0.4 <= covered <= 0.91  # up to 90%, capped by the holders' supply


def test_lexicographic_policy():
    assert market("lexicographic", "S").policy.objective == "lexicographic"
    assert market("base", "S").policy.objective == "weighted"


def test_county_combines_the_independent_structure():
    st, base = stats("county"), stats("base")
    assert st["pairs_per_need"] >= 1.7 * base["pairs_per_need"]
    assert st["alt_package"] == pytest.approx(0.15, abs=0.015)
    assert st["placement_share"] == pytest.approx(0.12, abs=0.001)
    assert st["beds_per_scheme"] == pytest.approx(4.6, abs=0.3)
    assert 0.85 <= st["cap_over_offers"] <= 0.95
    assert st["in_care"] == pytest.approx(0.30, abs=0.01)
    assert st["cannot_continue"] == pytest.approx(0.10, abs=0.02)


def test_registry_and_suites():
    from benchmarks import registry

    for scale in ("S", "M", "L"):
        names = registry.SUITES[f"zoo-{scale.lower()}"]
        assert len(names) == len(FAMILIES)
        for name in names:
            spec = registry.get(name)
            assert spec.size == scale and spec.param("family") in FAMILIES
    assert registry.get("zoo-county-M").param("seed") == registry.ZOO_SEED


def test_capcounty_is_the_county_with_the_share_cap():
    """The combination outside the zoo: every county figure, and the cap binds on the plan."""
    st, county = stats("capcounty"), stats("county")
    for key in ("pairs_per_need", "alt_package", "placement_share", "beds_per_scheme",
                "cap_over_offers", "in_care", "cannot_continue"):
        assert st[key] == pytest.approx(county[key])
    assert st["max_provider_share"] == 0.15 and county["max_provider_share"] is None
    report = check(market("capcounty"), Solution(assignment=planned_assignment(
        "M", seed=1, family="capcounty")))
    assert sum("share" in str(v).lower() for v in report.violations) >= 10
    assert family("capcounty") is COMBINED["capcounty"]
    assert not set(COMBINED) & set(FAMILIES)


def test_combined_suite_is_registered_apart_from_the_zoo():
    from benchmarks import registry

    names = registry.SUITES["zoo-combined"]
    assert "zoo-capcounty-S-101" in names and "zoo-capcounty-M" in names
    assert {"zoo-capcounty-L", "zoo-capcounty-XL"} <= set(names)
    assert not set(names) & {n for s in ("zoo-s", "zoo-m", "zoo-l", "zoo-xl")
                             for n in registry.SUITES[s]}
    spec = registry.get("zoo-capcounty-S-101")
    assert spec.param("seed") == 101 and spec.param("family") == "capcounty"
    assert spec.load().name == generate("S", seed=101, blocks=True, family="capcounty").name


def test_independent_markets_are_registered_apart_and_differ_from_ours(tmp_path):
    """``instances/independent/gen.py`` (written blind to allocator.generate): its S markets
    validate, load the same twice, and have the structure issue 15 describes, denser than our
    own county's (about twice the eligible pairs per need, offers of a third the capacity)."""
    import statistics

    from allocator.instance.validate import validate_path
    from benchmarks import registry

    names = registry.SUITES["zoo-indep"]
    assert {"zoo-indep-S-1", "zoo-indep-S-6", "zoo-indep-M-3"} <= set(names)
    assert not set(names) & {n for s in ("zoo-s", "zoo-m", "zoo-l", "zoo-xl", "zoo-combined")
                             for n in registry.SUITES[s]}
    spec = registry.get("zoo-indep-S-3")
    inst = spec.load()
    assert inst == spec.load() and inst.name == "indep-S-3"
    path = tmp_path / "indep.json"
    save_instance(inst, path)
    assert validate_path(path)[1] == []
    st, county = structure(inst), stats("county", "S")
    assert st["pairs_per_need"] >= 1.7 * county["pairs_per_need"]
    assert st["in_care"] == pytest.approx(0.30, abs=0.01)
    assert st["cannot_continue"] == pytest.approx(0.10, abs=0.02)
    assert 0.8 <= st["cap_over_offers"] <= 1.0
    assert st["max_provider_share"] == 0.5  # seeds divisible by 3, as its command line

    def median_hours_offer(market: Instance) -> float:
        return statistics.median(o.capacity for o in market.offers if o.unit == "hours")

    assert median_hours_offer(inst) <= 0.5 * median_hours_offer(market("county", "S"))


@pytest.mark.parametrize("name", sorted(EXTREME))
def test_extreme_families_generate_what_they_say(name):
    """Each extreme family (suite ``zoo-extreme``) draws a valid 250-need market whose knobs
    show in it, by the same measures as the zoo's (:func:`benchmarks.zoo.structure`)."""
    inst = generate("S", needs=250, seed=1, blocks=True, family=name)
    assert family(name) is EXTREME[name]
    assert name in inst.name and len(inst.needs) == 250
    st, base = structure(inst), structure(generate("S", needs=250, seed=1, blocks=True))
    fam = EXTREME[name]
    if fam.current_share > 0.5:
        assert st["in_care"] > 0.5 > base["in_care"]
    if fam.cannot_continue_share >= 0.3:
        assert st["cannot_continue"] > 0.2
    if fam.placement_share >= 0.6:
        assert st["placement_share"] > 0.5 > base["placement_share"]
    if fam.placement_share == 0:
        assert st["placement_share"] == 0
    if fam.max_provider_share is not None:
        assert st["max_provider_share"] == fam.max_provider_share
    if fam.provider_cap_share is not None and fam.offer_headroom > 1:
        # caps are never drawn below a provider's planned work, so they bind only where the
        # offers carry more than it
        assert st["cap_over_offers"] < fam.provider_cap_share[1] + 0.05 < base["cap_over_offers"]
    assert (inst.policy.objective == "lexicographic") is fam.lexicographic
    assert not set(EXTREME) & (set(FAMILIES) | set(COMBINED))


def test_extreme_suite_is_registered_apart():
    from benchmarks import registry

    names = registry.SUITES["zoo-extreme"]
    assert len(names) == 2 * len(EXTREME)
    spec = registry.get("zoo-xlexmix-2")
    assert spec.param("needs") == 250 and spec.param("family") == "xlexmix"
    assert spec.load() == generate("S", needs=250, seed=2, blocks=True, family="xlexmix")

