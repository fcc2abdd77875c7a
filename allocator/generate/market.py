"""The market of a generated instance as numpy columns: zones, needs, providers, offers.

Everything here is vectorised so that the XL scale (600,000 needs) takes seconds. The columns
are turned into schema rows by :mod:`allocator.generate.build`. Every figure comes from
:mod:`allocator.generate.calibration`, which names its source.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocator.generate import calibration as cal
from allocator.generate.families import BASE, Family

SERVICES = ("personal_care", "individual_support", "group_support", "supported_living")
PC, IS, GS, SL = range(4)
HOURLY = (PC, IS, GS)
PRIORITIES = tuple(cal.PACKAGE_PRIORITY_SHARE) + tuple(cal.PLACEMENT_PRIORITY_SHARE)
PROVIDER_TYPES = tuple(cal.PROVIDER_TYPE_SHARE)  # home_care, support, supported_living
HOME_CARE, SUPPORT, SUPPORTED_LIVING = range(3)
RATINGS = tuple(cal.CQC_RATING_SHARE)  # index -1: unregulated (no CQC rating)
# care-group sets an offer may be limited to: index into this tuple, -1 = any care group
CARE_GROUP_SETS = cal.SPECIALISMS + cal.SCHEME_CARE_GROUPS


def apportion(total: int, weights: np.ndarray | tuple[float, ...] | list[float]) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder).

    Deterministic: ties go to the lower index. The parts sum to ``total`` exactly.
    """
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = total * w / w.sum()
    parts = np.floor(exact).astype(np.int64)
    left = total - int(parts.sum())
    if left:
        order = np.argsort(-(exact - parts), kind="stable")
        parts[order[:left]] += 1
    return parts


def _shuffled_labels(rng: np.random.Generator, total: int, weights) -> np.ndarray:
    """``total`` labels 0..k-1 in exact proportions (largest remainder), in random order."""
    labels = np.repeat(np.arange(len(weights)), apportion(total, weights))
    return rng.permutation(labels)


@dataclass(frozen=True)
class Market:
    """Columns of a generated market. Indices are zero-based positions in these arrays."""

    counties: int
    zone_local: np.ndarray  # Devon zone (0..7) each zone is modelled on
    zone_county: np.ndarray
    zone_neighbours: np.ndarray  # (zones, max degree), -1 padded; same county only

    need_kind_placement: np.ndarray  # bool
    need_zone: np.ndarray
    need_service: np.ndarray  # index into SERVICES
    need_complexity: np.ndarray  # 0 less, 1 complex, 2 highly complex
    need_care_group: np.ndarray  # index into calibration.CARE_GROUPS
    need_quantity: np.ndarray
    need_priority: np.ndarray  # index into PRIORITIES
    need_alt_zone: np.ndarray  # a neighbouring acceptable zone, -1 if none
    need_alt_zone2: np.ndarray  # a second neighbouring acceptable zone, -1 if none
    need_current: np.ndarray  # current provider, -1 if none
    need_plan: np.ndarray  # offer the need was planned to (capacities come from it), -1 if none

    provider_type: np.ndarray  # index into PROVIDER_TYPES
    provider_home: np.ndarray  # home zone
    provider_quality: np.ndarray
    provider_rating: np.ndarray  # index into RATINGS, -1 unregulated
    provider_capacity: np.ndarray  # hours/week; nan for providers with no hourly offer

    offer_provider: np.ndarray
    offer_zone: np.ndarray
    offer_service: np.ndarray
    offer_price: np.ndarray
    offer_capacity: np.ndarray
    offer_max_complexity: np.ndarray
    offer_travel: np.ndarray
    offer_care_groups: np.ndarray  # index into CARE_GROUP_SETS, -1 any
    offer_scheme: np.ndarray  # scheme number (0-based) for bed offers, -1 for hourly
    offer_planned: np.ndarray  # hours (beds) the offer is planned to deliver, before headroom

    @property
    def n_zones(self) -> int:
        return len(self.zone_local)

    @property
    def n_needs(self) -> int:
        return len(self.need_zone)

    @property
    def n_providers(self) -> int:
        return len(self.provider_type)

    def cell_demand(self) -> np.ndarray:
        """Quantity of needs by own cell: array (zones, services, complexities)."""
        d = np.zeros((self.n_zones, len(SERVICES), 3))
        np.add.at(d, (self.need_zone, self.need_service, self.need_complexity), self.need_quantity)
        return d


def build_market(n_needs: int, n_providers: int, n_zones: int, seed: int,
                 family: Family = BASE) -> Market:
    """Draw a market of the given size and family, deterministically for ``seed``.

    The base family draws exactly what it drew before the zoo existed: the other families'
    extra draws come from streams of their own (spawned children 7 and 8 of the seed, which
    leave children 0-6 unchanged) or from the end of a stream.
    """
    if n_zones < 1 or n_needs < 1 or n_providers < 1:
        raise ValueError("needs, providers and zones must each be at least 1")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    rng_need, rng_prov, rng_offer, rng_unmet, rng_plan, rng_scheme, rng_current = streams[:7]
    rng_cap, rng_continue = streams[7:]
    fam = family

    zones = _zones(n_zones)
    zone_local, zone_county, neighbours = zones
    share = np.array(cal.ZONE_DEMAND_SHARE)[zone_local]
    weights = share / share.sum()

    needs = _needs(rng_need, n_needs, weights, neighbours, fam)
    provs = _providers(rng_prov, n_providers, n_zones, weights)
    hourly = _hourly_offers(rng_offer, provs, zones, needs, fam)
    beds = _schemes(rng_scheme, needs, provs, zone_county, fam)
    offers = {k: np.concatenate([hourly[k], beds[k]]) for k in hourly}

    unmet = _planned_unmet(rng_unmet, needs, zone_local)
    usable = provs["quality"] >= cal.MIN_FRAMEWORK_QUALITY
    package = needs["service"] != SL
    plan = _random_fit(rng_plan, needs, offers, usable, np.nonzero(~unmet & package)[0])
    plan = np.where(package, plan, _place_in_schemes(needs, offers, usable))
    planned_q = np.bincount(plan[package & (plan >= 0)],
                            weights=needs["quantity"][package & (plan >= 0)],
                            minlength=len(offers["provider"]))
    provider_capacity = _capacities(offers, planned_q, len(provs["type"]), fam, rng_cap)
    current = _current_providers(rng_current, needs, plan, offers["provider"], fam)
    if fam.cannot_continue_share > 0:
        current = _cannot_continue(rng_continue, needs, current, provs["type"],
                                   fam.cannot_continue_share)
    return Market(
        counties=int(zone_county.max()) + 1,
        zone_local=zone_local,
        zone_county=zone_county,
        zone_neighbours=neighbours,
        need_kind_placement=needs["service"] == SL,
        need_zone=needs["zone"],
        need_service=needs["service"],
        need_complexity=needs["complexity"],
        need_care_group=needs["care_group"],
        need_quantity=needs["quantity"],
        need_priority=needs["priority"],
        need_alt_zone=needs["alt_zone"],
        need_alt_zone2=needs["alt_zone2"],
        need_current=current,
        need_plan=plan,
        provider_type=provs["type"],
        provider_home=provs["home"],
        provider_quality=provs["quality"],
        provider_rating=provs["rating"],
        provider_capacity=provider_capacity,
        offer_provider=offers["provider"],
        offer_zone=offers["zone"],
        offer_service=offers["service"],
        offer_price=offers["price"],
        offer_capacity=offers["capacity"],
        offer_max_complexity=offers["max_complexity"],
        offer_travel=offers["travel"],
        offer_care_groups=offers["care_groups"],
        offer_scheme=offers["scheme"],
        offer_planned=offers["planned"],
    )


# ------------------------------------------------------------------------------- zones

def _zones(n_zones: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zones as counties of Devon's 8; neighbours within the county.

    Full counties hold Devon's zones 1-8 in order; a partial last county takes them in
    ``ZONE_FILL_ORDER`` (kept sorted), so that its zones border each other.
    """
    per = cal.ZONES_PER_COUNTY
    full, rest = divmod(n_zones, per)
    local = np.concatenate([np.tile(np.arange(per), full),
                            np.sort(np.array(cal.ZONE_FILL_ORDER[:rest], dtype=np.int64))])
    county = np.repeat(np.arange(full + (rest > 0)), [per] * full + ([rest] if rest else []))
    index = np.full((full + (rest > 0), per), -1, dtype=np.int64)  # (county, local) -> zone
    index[county, local] = np.arange(n_zones)
    deg = max(len(n) for n in cal.ZONE_NEIGHBOURS)
    table = np.full((per, deg), -1, dtype=np.int64)
    for k, ns in enumerate(cal.ZONE_NEIGHBOURS):
        table[k, : len(ns)] = ns
    nb_local = table[local]
    nb = np.where(nb_local >= 0, index[county[:, None], np.maximum(nb_local, 0)], -1)
    order = np.argsort(nb < 0, axis=1, kind="stable")  # valid neighbours first in each row
    return local, county, np.take_along_axis(nb, order, axis=1)


def _random_neighbour(rng: np.random.Generator, zone: np.ndarray, neighbours: np.ndarray,
                      exclude: np.ndarray | None = None) -> np.ndarray:
    """A random neighbour of each zone (-1 where there is none, or only ``exclude``)."""
    deg = (neighbours[zone] >= 0).sum(axis=1)
    pick = np.floor(rng.random(len(zone)) * np.maximum(deg, 1)).astype(np.int64)
    out = np.where(deg > 0, neighbours[zone, pick], -1)
    if exclude is not None:
        # step to the next neighbour when the pick is the excluded one
        clash = (out == exclude) & (out >= 0)
        alt = neighbours[zone, (pick + 1) % np.maximum(deg, 1)]
        out = np.where(clash, np.where(deg > 1, alt, -1), out)
    return out


# ------------------------------------------------------------------------------- needs

def _needs(rng: np.random.Generator, n: int, weights: np.ndarray,
           neighbours: np.ndarray, fam: Family = BASE) -> dict[str, np.ndarray]:
    n_place = int(round(n * fam.placement_share))
    n_pack = n - n_place
    zones = len(weights)

    # packages: exact marginals by zone, service, complexity, priority; random joint
    zone_p = np.repeat(np.arange(zones), apportion(n_pack, weights))
    service_p = _shuffled_labels(rng, n_pack, list(cal.PACKAGE_SERVICE_PEOPLE.values()))
    cx_p = _shuffled_labels(rng, n_pack, cal.PACKAGE_COMPLEXITY_SHARE)
    prio_p = _shuffled_labels(rng, n_pack, list(cal.PACKAGE_PRIORITY_SHARE.values()))
    cg_p = np.zeros(n_pack, dtype=np.int64)
    rel = np.zeros(n_pack)
    for s, name in enumerate(cal.PACKAGE_SERVICE_PEOPLE):
        idx = np.nonzero(service_p == s)[0]
        cg_p[idx] = _shuffled_labels(rng, len(idx), cal.CARE_GROUP_PEOPLE[name])
        rel[idx] = cal.PACKAGE_SERVICE_RELATIVE_HOURS[name]
    raw = rng.gamma(cal.PACKAGE_HOURS_SHAPE, rel / cal.PACKAGE_HOURS_SHAPE)
    # scale to the county's hours per package (001), then round to a quarter hour
    hours = raw * (n_pack * cal.MEAN_PACKAGE_HOURS / raw.sum()) if n_pack else raw
    hours = np.clip(np.round(hours * 4) / 4, cal.PACKAGE_HOURS_MIN, cal.PACKAGE_HOURS_MAX)

    # placements: 003's complexity mix, one bed each
    zone_b = np.repeat(np.arange(zones), apportion(n_place, weights))
    cx_b = _shuffled_labels(rng, n_place, cal.PLACEMENT_COMPLEXITY_PEOPLE)
    cg_b = _shuffled_labels(rng, n_place, cal.CARE_GROUP_PEOPLE["supported_living"])
    prio_b = _shuffled_labels(rng, n_place, list(cal.PLACEMENT_PRIORITY_SHARE.values()))
    prio_b = prio_b + len(cal.PACKAGE_PRIORITY_SHARE)

    zone = np.concatenate([zone_p, zone_b])
    placement = np.arange(n) >= n_pack
    share_alt = np.where(placement, fam.neighbour_share_placement, fam.neighbour_share_package)
    wants_alt = rng.random(n) < share_alt
    alt = np.where(wants_alt, _random_neighbour(rng, zone, neighbours), -1)
    alt2 = np.full(n, -1, dtype=np.int64)
    if fam.two_neighbours_share > 0:  # drawn last: the base family's stream is unchanged
        wants_two = (alt >= 0) & (rng.random(n) < fam.two_neighbours_share)
        alt2 = np.where(wants_two, _random_neighbour(rng, zone, neighbours, exclude=alt), -1)
    return {
        "zone": zone,
        "service": np.concatenate([service_p, np.full(n_place, SL, dtype=np.int64)]),
        "complexity": np.concatenate([cx_p, cx_b]),
        "care_group": np.concatenate([cg_p, cg_b]),
        "quantity": np.concatenate([hours, np.ones(n_place)]),
        "priority": np.concatenate([prio_p, prio_b]),
        "alt_zone": alt,
        "alt_zone2": alt2,
    }


# ------------------------------------------------------------------------------- providers

def _homes(rng: np.random.Generator, count: int, weights: np.ndarray) -> np.ndarray:
    """Home zones for ``count`` providers: one per zone first when there are enough."""
    zones = len(weights)
    if count >= zones:
        per_zone = 1 + apportion(count - zones, weights)
        return rng.permutation(np.repeat(np.arange(zones), per_zone))
    return rng.choice(zones, size=count, replace=False, p=weights)


def _providers(rng: np.random.Generator, n: int, zones: int,
               weights: np.ndarray) -> dict[str, np.ndarray]:
    counts = apportion(n, list(cal.PROVIDER_TYPE_SHARE.values()))
    if n >= 3:  # every kind of provider exists
        counts = np.maximum(counts, 1)
        counts[int(np.argmax(counts))] -= int(counts.sum()) - n
    ptype = np.repeat(np.arange(3), counts)
    home = np.concatenate([_homes(rng, int(c), weights) for c in counts])

    regulated = ptype != SUPPORT
    rating = np.full(n, -1, dtype=np.int64)
    rating[regulated] = _shuffled_labels(rng, int(regulated.sum()),
                                         list(cal.CQC_RATING_SHARE.values()))
    mean = np.empty(n)
    sd = np.empty(n)
    for r, name in enumerate(RATINGS):
        mean[rating == r], sd[rating == r] = cal.QUALITY_BY_RATING[name]
    mean[rating < 0], sd[rating < 0] = cal.QUALITY_BY_RATING["unregulated"]
    quality = np.clip(np.round(rng.normal(mean, sd)), 1, 100)

    support_kind = np.full(n, -1, dtype=np.int64)  # 0 individual, 1 group, 2 both
    is_support = ptype == SUPPORT
    support_kind[is_support] = _shuffled_labels(rng, int(is_support.sum()),
                                                list(cal.SUPPORT_SERVICES_SHARE.values()))
    max_cx = _shuffled_labels(rng, n, cal.HOURLY_MAX_COMPLEXITY_SHARE)
    price_factor = np.clip(np.exp(rng.normal(0.0, cal.PROVIDER_PRICE_SIGMA, n)),
                           *cal.PROVIDER_PRICE_RANGE)
    specialist = (rng.random(n) < cal.SPECIALIST_OFFER_SHARE) & is_support
    specialism = np.where(specialist, rng.integers(0, len(cal.SPECIALISMS), n), -1)
    return {
        "type": ptype,
        "home": home,
        "rating": rating,
        "quality": quality,
        "support_kind": support_kind,
        "max_cx": max_cx,
        "price_factor": price_factor,
        "specialism": specialism,
    }


# ------------------------------------------------------------------------------- offers

def _hourly_offers(rng: np.random.Generator, provs: dict[str, np.ndarray],
                   zones: tuple[np.ndarray, np.ndarray, np.ndarray],
                   needs: dict[str, np.ndarray], fam: Family = BASE) -> dict[str, np.ndarray]:
    """Offers of home-care and support providers in their home zone and some neighbours."""
    zone_local, zone_county, neighbours = zones
    n_zones = len(zone_local)
    counties = int(zone_county.max()) + 1
    hourly = np.nonzero(provs["type"] != SUPPORTED_LIVING)[0]
    home = provs["home"][hourly]

    second = np.where(rng.random(len(hourly)) < fam.second_zone_share,
                      _random_neighbour(rng, home, neighbours), -1)
    third = np.where((second >= 0) & (rng.random(len(hourly)) < fam.third_zone_share),
                     _random_neighbour(rng, home, neighbours, exclude=second), -1)
    other = np.full(len(hourly), -1, dtype=np.int64)
    if counties > 1:  # L and XL: a few providers also work in the next county
        goes = rng.random(len(hourly)) < cal.OTHER_COUNTY_SHARE
        next_county = (zone_county[home] + 1) % counties
        size = np.bincount(zone_county)
        start = np.cumsum(size) - size
        pick = np.floor(rng.random(len(hourly)) * size[next_county]).astype(np.int64)
        other = np.where(goes, start[next_county] + pick, -1)
    pz_provider = np.concatenate([hourly] * 4)
    pz_zone = np.concatenate([home, second, third, other])
    keep = pz_zone >= 0
    pz_provider, pz_zone = pz_provider[keep], pz_zone[keep]

    # services: home care -> personal care; support -> individual and/or group
    ptype = provs["type"][pz_provider]
    kind = provs["support_kind"][pz_provider]
    first = np.where(ptype == HOME_CARE, PC, np.where(kind == 1, GS, IS))
    both = (ptype == SUPPORT) & (kind == 2)
    provider = np.concatenate([pz_provider, pz_provider[both]])
    zone = np.concatenate([pz_zone, pz_zone[both]])
    service = np.concatenate([first, np.full(int(both.sum()), GS, dtype=np.int64)])

    provider, zone, service = _cover_cells(rng, provider, zone, service, provs, needs, n_zones)
    order = np.lexsort((service, zone, provider))
    provider, zone, service = provider[order], zone[order], service[order]

    rural = np.array(cal.ZONE_RURALITY)[zone_local[zone]]
    base = np.array([cal.BASE_HOURLY_PRICE[SERVICES[s]] for s in HOURLY])[service]
    price = np.round(base * (1 + cal.RURAL_PRICE_UPLIFT * rural)
                     * provs["price_factor"][provider], 2)
    away = zone != provs["home"][provider]
    travel = 1 + rural * rng.uniform(*cal.RURAL_TRAVEL, len(zone)) + cal.OTHER_ZONE_TRAVEL * away
    travel = np.where(service == GS, 1.0, np.round(travel, 2))  # group support: at a venue
    max_cx = provs["max_cx"][provider].copy()
    care_groups = provs["specialism"][provider].copy()
    _cover_complexity_and_groups(zone, service, max_cx, care_groups, provs, provider, needs)
    n = len(provider)
    return {
        "provider": provider,
        "zone": zone,
        "service": service,
        "price": price,
        "capacity": np.zeros(n),
        "max_complexity": max_cx,
        "travel": travel,
        "care_groups": care_groups,
        "scheme": np.full(n, -1, dtype=np.int64),
        "planned": np.zeros(n),
    }


def _cover_cells(rng: np.random.Generator, provider: np.ndarray, zone: np.ndarray,
                 service: np.ndarray, provs: dict[str, np.ndarray],
                 needs: dict[str, np.ndarray], n_zones: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add an offer wherever a (zone, hourly service) has demand but no usable offer.

    Small markets (scale S) could otherwise leave a whole cell unserved by chance, which would
    put the unmet need where the calibration does not.
    """
    ok = provs["quality"][provider] >= cal.MIN_FRAMEWORK_QUALITY
    have = np.zeros((n_zones, len(SERVICES)), dtype=bool)
    have[zone[ok], service[ok]] = True
    want = np.zeros_like(have)
    hourly_need = needs["service"] != SL
    want[needs["zone"][hourly_need], needs["service"][hourly_need]] = True
    missing = np.argwhere(want & ~have)
    if not len(missing):
        return provider, zone, service
    eligible = provs["quality"] >= cal.MIN_FRAMEWORK_QUALITY
    extra_p, extra_z, extra_s = [], [], []
    for z, s in missing:  # few cells: a plain loop is clearest
        ptype = HOME_CARE if s == PC else SUPPORT
        pool = np.nonzero((provs["type"] == ptype) & eligible)[0]
        if not len(pool):
            pool = np.nonzero(eligible)[0] if eligible.any() else np.arange(len(eligible))
        at_home = pool[provs["home"][pool] == z]
        pick = at_home if len(at_home) else pool
        extra_p.append(int(pick[rng.integers(len(pick))]))
        extra_z.append(int(z))
        extra_s.append(int(s))
    return (np.concatenate([provider, extra_p]), np.concatenate([zone, extra_z]),
            np.concatenate([service, extra_s]))


def _cover_complexity_and_groups(zone: np.ndarray, service: np.ndarray, max_cx: np.ndarray,
                                 care_groups: np.ndarray, provs: dict[str, np.ndarray],
                                 provider: np.ndarray, needs: dict[str, np.ndarray]) -> None:
    """Make sure one offer in each cell can take the cell's most complex need of any group.

    Edits ``max_cx`` and ``care_groups`` in place: in each (zone, service) one usable offer
    (an open one if there is one, then the most capable) is raised to the cell's most complex
    need and opened to every care group.
    """
    n_zones = int(max(zone.max(initial=0), needs["zone"].max(initial=0))) + 1
    cell = zone * len(SERVICES) + service
    ok = provs["quality"][provider] >= cal.MIN_FRAMEWORK_QUALITY
    hourly_need = needs["service"] != SL
    need_cell = needs["zone"][hourly_need] * len(SERVICES) + needs["service"][hourly_need]
    top_need = np.full(n_zones * len(SERVICES), -1)
    np.maximum.at(top_need, need_cell, needs["complexity"][hourly_need])
    order = np.lexsort((-max_cx, care_groups >= 0, ~ok, cell))
    first = order[np.r_[True, cell[order][1:] != cell[order][:-1]]]
    rep = first[ok[first]]
    max_cx[rep] = np.maximum(max_cx[rep], top_need[cell[rep]])
    care_groups[rep] = -1


def _planned_unmet(rng: np.random.Generator, needs: dict[str, np.ndarray],
                   zone_local: np.ndarray) -> np.ndarray:
    """Packages planned to go unmet: 001's unmet hours over the zone's demand, in every zone.

    Drawn per (zone, service), so that small instances keep the mix, without replacement and
    with probability proportional to hours (exponential keys ``E / q``, smallest first); a
    package is taken while the hours taken before it plus half its own stay below the target.
    """
    n = len(needs["zone"])
    package = needs["service"] != SL
    q = needs["quantity"]
    rate = np.array(cal.UNMET_HOURS_BY_ZONE) / (
        cal.COUNTY_HOURS_PER_WEEK * np.array(cal.ZONE_DEMAND_SHARE))
    cell = needs["zone"] * len(SERVICES) + needs["service"]
    n_cells = len(zone_local) * len(SERVICES)
    demand = np.bincount(cell[package], weights=q[package], minlength=n_cells)
    target = demand * np.repeat(rate[zone_local], len(SERVICES))
    key = np.where(package, rng.exponential(1.0, n) / q, np.inf)
    order = np.lexsort((key, cell))
    zq = np.where(package, q, 0.0)[order]
    cum = np.cumsum(zq)
    cell_sorted = cell[order]
    first = np.searchsorted(cell_sorted, cell_sorted, side="left")
    before = cum - zq - (cum[first] - zq[first])  # hours already taken in the cell before it
    chosen = package[order] & (before + zq / 2 < target[cell_sorted])
    unmet = np.zeros(n, dtype=bool)
    unmet[order[chosen]] = True
    return unmet


def _care_group_table() -> np.ndarray:
    """allowed[set, group]: may an offer limited to ``set`` take care ``group``? (-1 = any)."""
    rows = [[g in s for g in cal.CARE_GROUPS] for s in CARE_GROUP_SETS]
    return np.array(rows + [[True] * len(cal.CARE_GROUPS)])


def _random_fit(rng: np.random.Generator, needs: dict[str, np.ndarray],
                offers: dict[str, np.ndarray], usable: np.ndarray,
                which: np.ndarray) -> np.ndarray:
    """A random offer in each need's own zone and service that can take it (-1 if none).

    Tries a few random offers of the cell; a package still without one goes to the offer the
    cell's coverage step made open to its most complex need and every care group.
    """
    n = len(needs["zone"])
    cell = offers["zone"] * len(SERVICES) + offers["service"]
    order = np.argsort(cell, kind="stable")
    sorted_cell = cell[order]
    need_cell = needs["zone"][which] * len(SERVICES) + needs["service"][which]
    lo = np.searchsorted(sorted_cell, need_cell, side="left")
    count = np.searchsorted(sorted_cell, need_cell, side="right") - lo
    allowed = _care_group_table()
    cx = needs["complexity"][which]
    cg = needs["care_group"][which]

    def fits(o: np.ndarray) -> np.ndarray:
        return ((offers["max_complexity"][o] >= cx)
                & allowed[offers["care_groups"][o], cg]
                & usable[offers["provider"][o]])

    got = np.full(len(which), -1, dtype=np.int64)
    for _ in range(16):
        todo = (got < 0) & (count > 0)
        if not todo.any():
            break
        pick = lo + np.floor(rng.random(len(which)) * np.maximum(count, 1)).astype(np.int64)
        o = order[np.minimum(pick, len(order) - 1)]
        got = np.where(todo & fits(o), o, got)
    # fallback: the cell's most capable usable offer that is open to every care group
    rank = np.where(usable[offers["provider"]] & (offers["care_groups"] < 0),
                    offers["max_complexity"], -1)
    best = np.lexsort((-rank, cell))
    head = best[np.r_[True, cell[best][1:] != cell[best][:-1]]]
    n_cells = int(cell.max(initial=-1)) + 1
    rep = np.full(max(n_cells, 1), -1, dtype=np.int64)
    rep[cell[head]] = np.where(rank[head] >= 0, head, -1)
    need_rep = np.where(need_cell < n_cells, rep[np.minimum(need_cell, len(rep) - 1)], -1)
    fallback = (got < 0) & (need_rep >= 0)
    fallback &= offers["max_complexity"][np.maximum(need_rep, 0)] >= cx
    got = np.where(fallback, need_rep, got)
    out = np.full(n, -1, dtype=np.int64)
    out[which] = got
    return out


def _ceil_tenth(x: np.ndarray) -> np.ndarray:
    """Round up to a tenth (capacities never fall below the planned use they carry)."""
    return np.ceil(x * 10 - 1e-6) / 10


def _capacities(offers: dict[str, np.ndarray], planned_q: np.ndarray,
                n_providers: int, fam: Family = BASE,
                rng: np.random.Generator | None = None) -> np.ndarray:
    """Offer capacities (in place, hourly offers) and provider capacities from planned work.

    Rounded up, so that the planned assignment stays feasible. Bed offers keep their beds.
    Returns provider capacity, nan for providers with no hourly offer. With the family's
    ``provider_cap_share`` (lo, hi), a provider's capacity is a uniform draw in [lo, hi] times
    the sum of its hourly offers' capacities (never below its planned use).
    """
    hourly = offers["service"] != SL
    use = planned_q * offers["travel"]
    cap = np.maximum(_ceil_tenth(use * fam.offer_headroom), cal.OFFER_MIN_CAPACITY)
    offers["capacity"] = np.where(hourly, cap, offers["capacity"])
    offers["planned"] = np.where(hourly, np.round(planned_q, 2), offers["planned"])
    # a provider's capacity: its planned use, or its smallest offer's if it was planned none
    prov = offers["provider"][hourly]
    total = np.bincount(prov, weights=use[hourly], minlength=n_providers)
    floor = np.full(n_providers, np.inf)
    np.minimum.at(floor, prov, cap[hourly])
    capacity = _ceil_tenth(np.where(total > 0, total, np.where(np.isfinite(floor), floor, 0)))
    if fam.provider_cap_share is not None:
        if rng is None:
            raise ValueError("provider_cap_share needs a random stream")
        offered = np.bincount(prov, weights=cap[hourly], minlength=n_providers)
        share = rng.uniform(*fam.provider_cap_share, n_providers)
        capacity = np.maximum(capacity, _ceil_tenth(share * offered))
    capacity[np.bincount(prov, minlength=n_providers) == 0] = np.nan
    return capacity


def _scheme_group(care_group: np.ndarray) -> np.ndarray:
    """The kind of scheme a placement's care group lives in: 0 LD/Autism, 1 MH/PD (others)."""
    group_of_cg = np.ones(len(cal.CARE_GROUPS), dtype=np.int64)
    for g in cal.SCHEME_CARE_GROUPS[0]:
        group_of_cg[cal.CARE_GROUPS.index(g)] = 0
    return group_of_cg[care_group]


def _place_in_schemes(needs: dict[str, np.ndarray], offers: dict[str, np.ndarray],
                      usable: np.ndarray) -> np.ndarray:
    """A planned scheme for every placement, filling each cell's schemes bed by bed.

    Schemes were built per (zone, band, group) with at least that cell's placements in beds
    (:func:`_schemes`), so the k-th placement of a cell takes the scheme holding the cell's k-th
    bed: a plan within every scheme's capacity. -1 for needs that are not placements.
    """
    n = len(needs["zone"])
    plan = np.full(n, -1, dtype=np.int64)
    place = np.nonzero(needs["service"] == SL)[0]
    bed = np.nonzero(offers["scheme"] >= 0)[0]
    if not len(place) or not len(bed):
        return plan
    groups = len(cal.SCHEME_CARE_GROUPS)
    p_cell = ((needs["zone"][place] * 3 + needs["complexity"][place]) * groups
              + _scheme_group(needs["care_group"][place]))
    s_cell = ((offers["zone"][bed] * 3 + offers["max_complexity"][bed]) * groups
              + offers["care_groups"][bed] - len(cal.SPECIALISMS))
    so = np.argsort(s_cell, kind="stable")
    s_sorted = s_cell[so]
    cum = np.cumsum(offers["capacity"][bed][so])
    lo = np.searchsorted(s_sorted, p_cell, side="left")
    hi = np.searchsorted(s_sorted, p_cell, side="right")
    beds_before = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    po = np.argsort(p_cell, kind="stable")
    sorted_cell = p_cell[po]
    rank = np.empty(len(place), dtype=np.int64)
    rank[po] = np.arange(len(place)) - np.searchsorted(sorted_cell, sorted_cell, side="left")
    pos = np.searchsorted(cum, beds_before + rank, side="right")  # scheme holding that bed
    ok = (hi > lo) & (pos < hi)
    chosen = bed[so[np.minimum(pos, len(so) - 1)]]
    ok &= usable[offers["provider"][chosen]]
    plan[place] = np.where(ok, chosen, -1)
    return plan


def _schemes(rng: np.random.Generator, needs: dict[str, np.ndarray], provs: dict[str, np.ndarray],
             zone_county: np.ndarray, fam: Family = BASE) -> dict[str, np.ndarray]:
    """Supported-living schemes (003): beds by zone, complexity band and client group.

    Each (zone, band, group) gets its placements' beds plus its share of 003's vacancies
    (63 of 479 beds), split into schemes of 479/125 = 3.8 beds on average.
    """
    n_zones = len(zone_county)
    placement = needs["service"] == SL
    z = needs["zone"][placement]
    b = needs["complexity"][placement]
    g = _scheme_group(needs["care_group"][placement])
    n_groups = len(cal.SCHEME_CARE_GROUPS)
    cells = np.bincount((z * 3 + b) * n_groups + g, minlength=n_zones * 3 * n_groups)
    vacant = apportion(int(round(cells.sum() * (cal.BEDS_PER_PLACEMENT - 1))), cells)
    beds = cells + vacant
    n_schemes = np.where(beds > 0, np.maximum(1, np.round(beds / fam.beds_per_scheme)), 0)
    n_schemes = n_schemes.astype(np.int64)

    cell_of_scheme = np.repeat(np.arange(len(beds)), n_schemes)
    size = np.ones(len(cell_of_scheme), dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(n_schemes)[:-1]])
    for c in np.nonzero(beds > n_schemes)[0]:  # spread the remaining beds over the schemes
        size[start[c]: start[c] + n_schemes[c]] += rng.multinomial(
            beds[c] - n_schemes[c], np.full(n_schemes[c], 1 / n_schemes[c]))
    s_zone = cell_of_scheme // (3 * n_groups)
    s_band = (cell_of_scheme // n_groups) % 3
    s_group = cell_of_scheme % n_groups

    # each scheme's care provider: a supported-living provider at home in the zone, else in the
    # county, else any; usable ones (quality above the framework threshold) first
    provider = _pick_providers(rng, s_zone, zone_county, provs)
    mean = np.array(cal.WEEKLY_RATE_MEAN)[s_band]
    sigma = np.array(cal.WEEKLY_RATE_SIGMA)[s_band]
    lo = np.array([r[0] for r in cal.WEEKLY_RATE_RANGE])[s_band]
    hi = np.array([r[1] for r in cal.WEEKLY_RATE_RANGE])[s_band]
    price = np.round(np.clip(mean * np.exp(rng.normal(-sigma**2 / 2, sigma)), lo, hi))
    n = len(s_zone)
    order = np.lexsort((s_band, s_zone, provider))
    return {
        "provider": provider[order],
        "zone": s_zone[order],
        "service": np.full(n, SL, dtype=np.int64),
        "price": price[order],
        "capacity": size[order].astype(float),
        "max_complexity": s_band[order],
        "travel": np.ones(n),
        "care_groups": (len(cal.SPECIALISMS) + s_group)[order],
        "scheme": np.arange(n),
        "planned": size[order].astype(float),
    }


def _pick_providers(rng: np.random.Generator, zone: np.ndarray, zone_county: np.ndarray,
                    provs: dict[str, np.ndarray]) -> np.ndarray:
    """A provider for each scheme (see :func:`_schemes`), vectorised by sorting."""
    sl = provs["type"] == SUPPORTED_LIVING
    usable = provs["quality"] >= cal.MIN_FRAMEWORK_QUALITY
    pool = np.nonzero(sl & usable)[0]
    if not len(pool):
        pool = np.nonzero(sl)[0] if sl.any() else np.arange(len(sl))
    out = pool[rng.integers(0, len(pool), len(zone))]  # fallback: anyone in the pool
    for level in (zone_county, np.arange(len(zone_county))):  # county first, then zone wins
        key = level[provs["home"][pool]]
        order = np.argsort(key, kind="stable")
        sorted_key = key[order]
        want = level[zone]
        lo = np.searchsorted(sorted_key, want, side="left")
        hi = np.searchsorted(sorted_key, want, side="right")
        has = hi > lo
        pick = lo + np.floor(rng.random(len(zone)) * np.maximum(hi - lo, 1)).astype(np.int64)
        out = np.where(has, pool[order[np.minimum(pick, len(pool) - 1)]], out)
    return out


# ------------------------------------------------------------------------------- current book

def _current_providers(rng: np.random.Generator, needs: dict[str, np.ndarray],
                       plan: np.ndarray, offer_provider: np.ndarray,
                       fam: Family = BASE) -> np.ndarray:
    """About a third of needs are already served, by the provider of their planned offer.

    Needs planned to go unmet are waiting for care and have none; the share among the others is
    raised so that the overall share is still a third.
    """
    n = len(needs["zone"])
    served = plan >= 0
    share = min(1.0, fam.current_share * n / max(1, int(served.sum())))
    wants = served & (rng.random(n) < share)
    return np.where(wants, offer_provider[np.maximum(plan, 0)], -1)


def _cannot_continue(rng: np.random.Generator, needs: dict[str, np.ndarray], current: np.ndarray,
                     provider_type: np.ndarray, share: float) -> np.ndarray:
    """A ``share`` of the needs in care get a current provider that cannot serve them any more.

    The new current provider is one of a kind that sells nothing the need could take: a
    supported-living provider (beds only) for a package, a home-care provider (personal care
    only) for a placement. The transfer penalty is then due whatever the allocation, as for a
    provider that has left the framework or stopped working in the zone.
    """
    in_care = np.nonzero(current >= 0)[0]
    moving = in_care[rng.random(len(in_care)) < share]
    placement = needs["service"][moving] == SL
    out = current.copy()
    for is_place, kind in ((False, SUPPORTED_LIVING), (True, HOME_CARE)):
        pool = np.nonzero(provider_type == kind)[0]
        which = moving[placement == is_place]
        if len(pool) and len(which):
            out[which] = pool[rng.integers(0, len(pool), len(which))]
    return out
