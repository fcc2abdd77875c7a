"""The generator: sizes, calibration to the seeds, determinism, validity.

Tolerances are stated per test. Most figures are exact by construction (largest-remainder
apportionment), so their tolerance is rounding; the unmet share is checked on the LP relaxation
of the allocation model (HiGHS through scipy), which solves scale M in about two seconds and is
a lower bound on the unmet hours of the integer optimum.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from allocator.core.problem import Problem
from allocator.core.result import Solution
from allocator.generate import SCALES, generate, planned_assignment
from allocator.generate import calibration as cal
from allocator.instance.io import load_instance, save_instance
from allocator.instance.schema import Instance
from allocator.instance.validate import check_references

SEEDS = (1, 2, 3)


@cache
def county(seed: int) -> Instance:
    """Scale M with everything switched on (cached: several tests read it)."""
    return generate("M", seed=seed, blocks=True, bids=True, scenarios=4)


@cache
def plain(seed: int) -> Instance:
    """Scale M as an allocation market (no bids: every lot is open to framework work)."""
    return generate("M", seed=seed)


@cache
def small(seed: int) -> Instance:
    return generate("S", seed=seed, blocks=True, bids=True, scenarios=3)


def packages(inst: Instance) -> list:
    return [n for n in inst.needs if n.kind == "package"]


def placements(inst: Instance) -> list:
    return [n for n in inst.needs if n.kind == "placement"]


# ----------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("scale", ["S", "M"])
def test_scale_sizes(scale):
    inst = small(1) if scale == "S" else county(1)
    size = SCALES[scale]
    assert len(inst.needs) == size.needs
    assert len(inst.providers) == size.providers
    assert len(inst.zones) == size.zones


def test_custom_sizes_and_partial_county():
    inst = generate(needs=300, providers=20, zones=3, seed=4)
    assert (len(inst.needs), len(inst.providers), len(inst.zones)) == (300, 20, 3)
    # a partial county takes Exeter, the east coast and Mid Devon (connected, fill order)
    assert [z.id for z in inst.zones] == ["Z3", "Z4", "Z5"]
    assert inst.name == "generated-300n-20p-3z-seed4"


def test_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        generate("XXL", seed=1)
    with pytest.raises(ValueError, match="seed"):
        generate("S", seed=-1)
    with pytest.raises(ValueError, match="at least 1"):
        generate("S", needs=0, seed=1)


# ----------------------------------------------------------------------------- validity


@pytest.mark.parametrize("make", [lambda: small(1), lambda: county(1)], ids=["S", "M"])
def test_generated_instances_validate_fully(make):
    inst = make()
    # every row through pydantic again, from plain data, and every cross-reference rule
    again = Instance.model_validate(inst.model_dump())
    assert again == inst
    assert check_references(inst, "generated") == []


def test_cross_table_rules_the_engine_relies_on():
    inst = county(2)
    for table in (inst.zones, inst.providers, inst.needs, inst.lots, inst.scenarios):
        ids = [row.id for row in table]
        assert len(ids) == len(set(ids))
    offer_ids = [o.key for o in inst.offers]
    assert len(offer_ids) == len(set(offer_ids))
    used = {n.priority for n in inst.needs}
    assert used <= set(inst.policy.unmet_penalty)
    cells = Counter((z, s, c) for lot in inst.lots for z in lot.zones for s in lot.services
                    for c in lot.complexities)
    assert max(cells.values()) == 1  # lots do not overlap
    for lot in inst.lots:
        beds = list(lot.services) == ["supported_living"]
        assert lot.unit == ("beds" if beds else "hours")
        assert beds or "supported_living" not in lot.services
    bids = Counter((b.provider, b.lot) for b in inst.block_bids)
    contracts = Counter((c.provider, c.lot) for c in inst.block_contracts)
    assert max(bids.values()) == 1 and max(contracts.values()) == 1
    assert not set(bids) & set(contracts)  # bidders do not already hold the lot
    assert inst.block_contracts and inst.block_bids


def test_penalties_dearer_than_any_way_of_serving():
    inst = county(1)
    pol = inst.policy
    extra = pol.quality_weight + pol.out_of_zone_penalty
    hour_pen = min(v for k, v in pol.unmet_penalty.items() if not k.endswith("_bed"))
    bed_pen = min(v for k, v in pol.unmet_penalty.items() if k.endswith("_bed"))
    assert max(o.price for o in inst.offers if o.unit == "hours") + extra < hour_pen
    assert max(o.price for o in inst.offers if o.unit == "beds") + extra < bed_pen
    # clarification 1: a bed-week costs about 100 times an hour-week
    assert pol.unmet_penalty["standard_bed"] == 100 * pol.unmet_penalty["standard"]


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_instance(generate("S", seed=7, blocks=True, bids=True, scenarios=3), a)
    save_instance(generate("S", seed=7, blocks=True, bids=True, scenarios=3), b)
    assert a.read_bytes() == b.read_bytes()
    assert load_instance(a) == generate("S", seed=7, blocks=True, bids=True, scenarios=3)
    c = tmp_path / "c.json"
    save_instance(generate("S", seed=8, blocks=True, bids=True, scenarios=3), c)
    assert c.read_bytes() != a.read_bytes()


def test_options_do_not_change_the_market():
    plain = generate("S", seed=5)
    full = small(5)
    assert plain.needs == full.needs and plain.offers == full.offers
    assert not plain.block_contracts and not plain.block_bids and not plain.scenarios


# ----------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("seed", SEEDS)
def test_county_hours_and_packages(seed):
    """001: ~40,000 hours a week over ~6,000 packages, 6-7 hours each, spread out."""
    inst = county(seed)
    hours = np.array([n.quantity for n in packages(inst)])
    assert len(hours) == 6_000
    assert hours.sum() == pytest.approx(cal.COUNTY_HOURS_PER_WEEK, rel=0.01)
    assert 6.0 <= hours.mean() <= 7.0
    # a realistic spread: many short packages, a long tail, quarter hours
    assert np.quantile(hours, 0.25) < 3.5 and np.quantile(hours, 0.95) > 15
    assert hours.min() >= cal.PACKAGE_HOURS_MIN and hours.max() <= cal.PACKAGE_HOURS_MAX
    assert np.all(hours * 4 == np.round(hours * 4))


@pytest.mark.parametrize("seed", SEEDS)
def test_service_and_care_group_mix(seed):
    """000/001: services by people; 000: supporting independence by care group (within 1%)."""
    inst = county(seed)
    pk = packages(inst)
    people = cal.PACKAGE_SERVICE_PEOPLE
    by_service = Counter(n.service for n in pk)
    for service, count in people.items():
        assert by_service[service] / len(pk) == pytest.approx(
            count / sum(people.values()), abs=0.001)
    for service in ("individual_support", "group_support"):
        rows = [n for n in pk if n.service == service]
        groups = Counter(n.care_group for n in rows)
        want = cal.CARE_GROUP_PEOPLE[service]
        for g, w in zip(cal.CARE_GROUPS, want, strict=True):
            assert groups[g] / len(rows) == pytest.approx(w / sum(want), abs=0.01)


@pytest.mark.parametrize("seed", SEEDS)
def test_placements_and_schemes(seed):
    """003: complexity 71/299/46; 479 beds in 125 schemes with 63 vacant; weekly rates."""
    inst = county(seed)
    pl = placements(inst)
    assert len(pl) == 400
    mix = Counter(n.complexity for n in pl)
    want = dict(zip(cal.COMPLEXITIES, cal.PLACEMENT_COMPLEXITY_PEOPLE, strict=True))
    for cx, count in want.items():
        assert mix[cx] / len(pl) == pytest.approx(count / 416, abs=0.005)
    schemes = [o for o in inst.offers if o.unit == "beds"]
    beds = sum(o.capacity for o in schemes)
    assert beds / len(pl) == pytest.approx(479 / 416, abs=0.005)  # 63 of 479 vacant
    assert len(schemes) == pytest.approx(len(pl) * 125 / 416, rel=0.1)
    assert all(o.scheme for o in schemes)
    for cx, mean in zip(cal.COMPLEXITIES, cal.WEEKLY_RATE_MEAN, strict=True):
        rates = [o.price for o in schemes if o.max_complexity == cx]
        assert np.mean(rates) == pytest.approx(mean, rel=0.15)


@pytest.mark.parametrize("seed", SEEDS)
def test_quality_ratings_priorities_and_current_book(seed):
    """003: 80% of CQC-registered providers good or outstanding; a third with a provider."""
    inst = county(seed)
    rated = [p for p in inst.providers if p.cqc_rating is not None]
    good = sum(p.cqc_rating in ("good", "outstanding") for p in rated)
    assert good / len(rated) == pytest.approx(0.80, abs=0.02)
    assert all(0 <= p.quality <= 100 for p in inst.providers)
    current = sum(n.current_provider is not None for n in inst.needs) / len(inst.needs)
    assert current == pytest.approx(1 / 3, abs=0.03)
    prio = Counter(n.priority for n in packages(inst))
    assert prio["urgent"] / 6_000 == pytest.approx(0.10, abs=0.001)
    assert prio["hospital_discharge"] / 6_000 == pytest.approx(0.05, abs=0.001)
    assert {n.priority for n in placements(inst)} == {"standard_bed", "urgent_bed"}


def test_devon_zones_prices_and_travel():
    """001's zone names; rural zones dearer and with higher travel factors (zone 8 vs 4)."""
    inst = county(1)
    for zone, text in zip(inst.zones, cal.DEVON_ZONES, strict=True):
        assert text in zone.name
    pc = [o for o in inst.offers if o.service == "personal_care"]

    def mean(attr: str, zone: str) -> float:
        return float(np.mean([getattr(o, attr) for o in pc if o.zone == zone]))

    assert mean("price", "Z8") > mean("price", "Z4") * 1.05
    assert mean("travel_factor", "Z8") > mean("travel_factor", "Z4") + 0.1
    assert mean("travel_factor", "Z4") == pytest.approx(1.0, abs=0.05)  # Exeter: a city
    assert sum(n.acceptable_zones is not None for n in inst.needs) / len(inst.needs) > 0.15


def test_eligible_pairs_about_twelve_per_need():
    """Scale M: ~80,000 eligible pairs (about 12 offers per need), every need has one."""
    for seed in (1, 2):
        p = Problem.from_instance(plain(seed))
        assert 10 <= p.n_pairs / p.n_needs <= 14
        assert np.bincount(p.pair_need, minlength=p.n_needs).min() >= 1


def lp_unmet(inst: Instance) -> tuple[Problem, np.ndarray]:
    """Unmet fraction u[n] at the optimum of the LP relaxation of DESIGN.md section 4.

    Block funding and transfers are left out: they change costs, not what fits.
    """
    p = Problem.from_instance(inst)
    P, N = p.n_pairs, p.n_needs
    cost = np.concatenate([p.pair_cost_x, p.need_penalty * p.need_q])
    cols = np.arange(P)
    a_eq = sp.hstack([sp.csr_matrix((np.ones(P), (p.pair_need, cols)), shape=(N, P)),
                      sp.identity(N)])
    offer = sp.csr_matrix((p.pair_use, (p.pair_offer, cols)), shape=(p.n_offers, P))
    prov = sp.csr_matrix((p.pair_use * p.pair_hours, (p.pair_provider, cols)),
                         shape=(p.n_providers, P))
    has = np.isfinite(p.provider_capacity)
    a_ub = sp.vstack([offer, prov[has]])
    a_ub = sp.hstack([a_ub, sp.csr_matrix((a_ub.shape[0], N))])
    b_ub = np.concatenate([p.offer_capacity, p.provider_capacity[has]])
    res = linprog(cost, A_ub=a_ub.tocsr(), b_ub=b_ub, A_eq=a_eq.tocsr(), b_eq=np.ones(N),
                  bounds=(0, 1), method="highs")
    assert res.status == 0
    return p, res.x[P:]


@pytest.mark.parametrize("seed", (1, 2))
def test_unmet_near_five_percent_worst_in_zone_6(seed):
    """001: ~5% of hours unmet; zone 6 has the most unmet hours, zone 8 the least.

    On the LP relaxation (a lower bound; the integer optimum reaches the planned ~5% since the
    generator's planned assignment is feasible). Tolerance: 4-6% overall, each zone's share of
    the unmet hours within 5 points of 001's table.
    """
    p, u = lp_unmet(plain(seed))
    hourly = p.need_service != 3
    unmet = u * p.need_q
    share = unmet[hourly].sum() / p.need_q[hourly].sum()
    assert share == pytest.approx(cal.UNMET_SHARE_OF_DEMAND, abs=0.01)
    assert unmet[~hourly].sum() < 1.0  # placements: 63 vacancies in 479 beds leave room
    by_zone = np.bincount(p.need_zone[hourly], weights=unmet[hourly], minlength=8)
    assert p.zone_ids == tuple(f"Z{k}" for k in range(1, 9))
    assert np.argmax(by_zone) == 5 and np.argmin(by_zone) == 7
    table = np.array(cal.UNMET_HOURS_BY_ZONE)
    np.testing.assert_allclose(by_zone / by_zone.sum(), table / table.sum(), atol=0.05)


@pytest.mark.parametrize("scale, seed, share", [("S", 1, 0.06), ("M", 1, 0.05), ("M", 2, 0.05)])
def test_planned_assignment_is_feasible(scale, seed, share):
    """The plan capacities were sized from passes the independent checker, ~5% hours unmet.

    So the integer optimum serves at least about 95% of hours (001's zone shares; S: ~6%).
    """
    from allocator.core.check import check

    inst = plain(seed) if scale == "M" else generate(scale, seed=seed)
    plan = planned_assignment(scale, seed=seed)
    report = check(inst, Solution(assignment=plan))
    assert report.violations == []
    hours = sum(n.quantity for n in packages(inst))
    unmet = sum(n.quantity for n in packages(inst) if n.id not in plan)
    assert unmet / hours == pytest.approx(share, abs=0.005)
    assert all(n.id in plan for n in placements(inst))
    assert sum(n.current_provider is not None and n.id not in plan for n in inst.needs) == 0


def test_small_scale_unmet_follows_its_zones():
    """Scale S is Exeter and the east coast: 001 puts ~6% of their hours unmet."""
    for seed in SEEDS:
        p, u = lp_unmet(generate("S", seed=seed))
        hourly = p.need_service != 3
        share = (u * p.need_q)[hourly].sum() / p.need_q[hourly].sum()
        assert 0.045 <= share <= 0.075


# ----------------------------------------------------------------------------- contracts


def test_lots_blocks_bids_and_scenarios():
    inst = county(3)
    lots = {lot.id: lot for lot in inst.lots}
    # 001's three prime areas x 3 hourly services x 3 complexities, and 003's supported living
    assert len(lots) == 3 * 3 * 3 + 1 + 3 * 2
    assert lots["SL-HC"].framework is False  # 003: highly complex on block only (with bids)
    assert lots["SL-HC"].block.max_providers == 3 and lots["SL-HC"].block.min_providers == 1
    assert lots["G2-PC-LC"].zones == ("Z4", "Z5", "Z6", "Z7")
    assert any(b.lot == "SL-HC" for b in inst.block_bids)
    assert all(lot.framework for lot in generate("S", seed=3, blocks=True).lots)
    weights = [s.weight for s in inst.scenarios]
    assert len(weights) == 4 and sum(weights) == 1.0 and sum(reversed(weights)) == 1.0
    mult = [s.demand_multiplier for s in inst.scenarios]
    assert all(0.95 <= m <= 1.22 for m in mult)  # 001's range of yearly hours
    for c in inst.block_contracts:
        assert c.volume >= 1 and c.rate > 0
    for b in inst.block_bids:
        assert 0 <= b.min_volume <= b.max_volume and b.award_cost >= 0


@pytest.mark.parametrize("seed", [1, 2])
def test_a_design_market_asks_no_lot_for_more_providers_than_bid_there(seed):
    """With contracts in force and bids at S (2 zones), the highly complex lot's only
    suppliers held contracts there, so nobody bid, and its block section still asked for one
    awarded provider: ``allocator design`` called such markets infeasible (S seeds 1, 2, 5 and
    8 of 1-8; none at M). Contracts in
    force do not count (clarification 7), so the lot asks for the bidders there."""
    from allocator.design.limits import unreachable_limits
    from allocator.design.scenarios import demands
    from allocator.design.solve import expected_lot_demand

    inst = generate("S", seed=seed, blocks=True, bids=True, scenarios=3)
    for lot in inst.lots:
        bidders = {b.provider for b in inst.block_bids if b.lot == lot.id}
        if lot.block is not None:
            assert lot.block.min_providers <= len(bidders), lot.id
    base = Problem.from_instance(inst, mode="design")
    assert not unreachable_limits(inst, base, expected_lot_demand(inst, demands(inst)))


def test_regions_keep_providers_in_their_county():
    """L/XL structure on two counties: offers outside the home county are rare."""
    inst = generate(needs=12_800, providers=400, zones=16, seed=1)
    assert [z.id for z in inst.zones[:2]] == ["C1-Z1", "C1-Z2"]
    county_of = {z.id: z.id.split("-")[0] for z in inst.zones}
    home: dict[str, set[str]] = defaultdict(set)
    for o in inst.offers:
        home[o.provider].add(county_of[o.zone])
    spread = sum(len(c) > 1 for c in home.values()) / len(home)
    assert 0 < spread < 0.1
    assert check_references(inst, "region") == []


# ----------------------------------------------------------------------------- shipped


def _make_shipped():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "instances" / "make_shipped.py"
    spec = importlib.util.spec_from_file_location("make_shipped", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_instances_are_reproducible(tmp_path):
    module = _make_shipped()
    for written in module.write_all(tmp_path):
        shipped = module.HERE / written.name
        assert written.read_bytes() == shipped.read_bytes(), written.name


def test_tiny_optimum_is_the_one_in_the_readme():
    """instances/README.md explains this optimum line by line."""
    from allocator.solvers import SolveParams, solve

    inst = load_instance(_make_shipped().HERE / "tiny.json")
    r = solve(Problem.from_instance(inst), SolveParams(solver="highs", time_limit=30, gap=0.0))
    assert r.status.value == "optimal"
    assert r.objective == pytest.approx(14_442.81, abs=1e-6)
    assert dict(r.solution.block) == {"N01": 10.0, "N02": 7.0, "N03": 3.0}
    assert r.solution.assignment["N05"] == "P3/Z4/individual_support"  # the transfer
    assert r.terms["transfer"] == 150.0
    assert "N10" not in r.solution.assignment  # unmet: no scheme takes highly complex
    assert r.solution.assignment["N09"] == "Moorview House"


def test_shipped_staffordshire_matches_seed_003():
    inst = load_instance(_make_shipped().HERE / "staffordshire_supported_living.json")
    assert Counter(n.complexity for n in inst.needs) == {
        "less_complex": 71, "complex": 299, "highly_complex": 46}
    assert sum(o.capacity for o in inst.offers) == 479
    assert {z.name for z in inst.zones} >= {"Tamworth", "Lichfield"}


@pytest.mark.parametrize("family", ["base", "schemes", "tight", "sharecap", "blockonly"])
def test_every_lot_has_the_admissible_bidders_it_asks_for(family):
    """``--blocks --bids`` never makes a design no awards can meet: each lot's block
    ``min_providers`` is at most the providers whose bids in it are admissible (quality at
    least the lot's block ``min_quality``). ``schemes`` at S, seed 3, had one bidder in its
    highly complex lot, of quality 59 against 60."""
    from allocator.design.limits import unreachable_limits
    from allocator.design.scenarios import demands
    from allocator.design.solve import expected_lot_demand

    for seed in range(1, 9):
        inst = generate("S", seed=seed, blocks=True, bids=True, scenarios=2, family=family)
        quality = {p.id: p.quality for p in inst.providers}
        for lot in inst.lots:
            if lot.block is None:
                continue
            admissible = {b.provider for b in inst.block_bids
                          if b.lot == lot.id and quality[b.provider] >= lot.block.min_quality}
            assert lot.block.min_providers <= len(admissible), (family, seed, lot.id)
        base = Problem.from_instance(inst, mode="design")
        assert not unreachable_limits(inst, base, expected_lot_demand(inst, demands(inst)))
