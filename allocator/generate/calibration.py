"""Figures the generator is calibrated to, each with its source.

Seed files are in ``../shared/seeds/`` (see its README):

* ``000`` = ``000_67b037561029ed81.txt``, Devon Supporting Independence (unregulated support);
* ``001`` = ``001_0080e63927124eca.txt``, Devon Living Well at Home (regulated personal care);
* ``002`` = ``002_90a92182b4a02f3f.txt``, Kent Supporting Independence Service;
* ``003`` = ``003_ad92eb2ee033e3a9.txt``, Staffordshire Supported Living.

A figure marked *assumption* is not in any seed: it is our choice, stated so that it can be
argued with. ``models/benchmarks.md`` lists the same figures in prose.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------- scales

@dataclass(frozen=True)
class Scale:
    """Default size of a generated instance (DESIGN.md section 7)."""

    needs: int
    providers: int
    zones: int


SCALES: dict[str, Scale] = {
    "S": Scale(needs=500, providers=30, zones=2),
    "M": Scale(needs=6_400, providers=200, zones=8),
    "L": Scale(needs=60_000, providers=2_000, zones=80),
    "XL": Scale(needs=600_000, providers=15_000, zones=800),
}

ZONES_PER_COUNTY = 8  # 001 and 000: Devon is delivered in 8 geographic zones

# ---------------------------------------------------------------------------- zones

# 001 (table "Geographic Zone / Description / Prime"; 000 lists the same 8 zones).
DEVON_ZONES: tuple[str, ...] = (
    "Bideford/Northam, Great Torrington and Holsworthy",
    "Ilfracombe, Lynton/Lynmouth, Barnstaple, South Molton",
    "Tiverton, Crediton, Cullompton",
    "Exeter",
    "Honiton, Sidmouth, Exmouth, Seaton",
    "Newton Abbot, Totnes, Dartmouth",
    "Tavistock, Ivybridge",
    "Okehampton, Moretonhampstead",
)

# 001: the prime provider of each zone (Devon Cares 1-3, DCC 4-7, MiHomecare 8). Lots are let
# per group of zones that share a prime, so these are the zone groups of the lots.
ZONE_GROUP: tuple[int, ...] = (0, 0, 0, 1, 1, 1, 1, 2)
ZONE_GROUP_NAMES: tuple[str, ...] = ("North and Mid", "Exeter, East and South", "Dartmoor")

# Assumption: share of the county's demand in each zone, roughly the population of the towns
# each zone covers (Exeter and the east and south coasts are the most populous). The seeds give
# no demand per zone.
ZONE_DEMAND_SHARE: tuple[float, ...] = (0.09, 0.12, 0.10, 0.15, 0.18, 0.22, 0.08, 0.06)

# Assumption: rurality (0 = city, 1 = remote moor), read from the zone descriptions of 001 and
# from 000's remark that rural delivery means "significant travel time". Drives prices (rural
# zones dearer) and travel factors (more capacity used per hour delivered).
ZONE_RURALITY: tuple[float, ...] = (0.8, 0.8, 0.6, 0.0, 0.3, 0.4, 0.7, 1.0)

# Assumption: which zones border which (Devon geography), used for acceptable neighbouring
# zones and for providers working beyond their home zone. Zero-based, symmetric.
ZONE_NEIGHBOURS: tuple[tuple[int, ...], ...] = (
    (1, 7),
    (0, 2, 7),
    (1, 3, 4, 7),
    (2, 4, 5, 7),
    (2, 3),
    (3, 6, 7),
    (5, 7),
    (0, 1, 2, 3, 5, 6),
)

# A partial county (fewer than 8 zones, e.g. scale S with 2) takes Devon's zones in this order
# (zero-based): Exeter, the east coast, Mid Devon, the south, the north, Dartmoor, Torridge, the
# west. Every prefix is connected, and the first two (scale S) have 001's unmet share of ~6%.
ZONE_FILL_ORDER: tuple[int, ...] = (3, 4, 2, 5, 1, 7, 0, 6)

# 001: unmet need per zone in mid-October 2019, in hours per week (2,000 in all, "about 5% of
# all demand"); the table also counts people: 12, 14, 21, 43, 34, 63, 10, 8 (205 in all).
UNMET_HOURS_BY_ZONE: tuple[float, ...] = (86, 139, 228, 361, 426, 558, 142, 60)
UNMET_SHARE_OF_DEMAND = 0.05  # 001: "about 5% of all demand"
# The generator plans which packages go unmet zone by zone (001's hours per zone over the zone's
# demand), drawing them with probability proportional to their hours: 001's unmet people wait
# for 2,000 / 205 = 9.8 hours each, more than the 6.7-hour average package.

# ---------------------------------------------------------------------------- demand

# 001: 40,000 hours a week (2020/21 and 2021/22 projections) for about 6,000 people, i.e.
# 6.67 hours per package on average. Used for the county's whole hourly book.
COUNTY_HOURS_PER_WEEK = 40_000.0
COUNTY_PACKAGES = 6_000
MEAN_PACKAGE_HOURS = COUNTY_HOURS_PER_WEEK / COUNTY_PACKAGES

# 001: hours per week by year 2017/18 .. 2021/22 (actual, then projected). Demand scenarios
# multiply demand within the range these span relative to 40,000 (0.95 .. 1.22).
COUNTY_HOURS_HISTORY: tuple[float, ...] = (48_721, 45_007, 38_000, 40_000, 40_000)

# DESIGN.md section 7: a county of 6,400 needs holds ~400 placements; 003: Staffordshire funds
# 416 supported-living placements.
PLACEMENT_SHARE = 400 / 6_400

# Services of the packages, in people: 001 (personal care, ~6,000 people) and 000 (21 Aug 2019:
# 2,189 people with individualised support at home, 674 in group-based support).
PACKAGE_SERVICE_PEOPLE: dict[str, float] = {
    "personal_care": 6_000,
    "individual_support": 2_189,
    "group_support": 674,
}
# Assumption: individualised support packages run a little longer than personal care ones,
# group sessions a little shorter (000 gives no hours). Relative mean hours per package.
PACKAGE_SERVICE_RELATIVE_HOURS: dict[str, float] = {
    "personal_care": 1.0,
    "individual_support": 1.2,
    "group_support": 0.9,
}
# Assumption: package hours are gamma distributed with this shape (coefficient of variation
# 1/sqrt(1.5) = 0.82): many packages of a few short visits, a tail of 30-60 hour packages.
# Rounded to a quarter hour, at least half an hour, at most 12 hours a day.
PACKAGE_HOURS_SHAPE = 1.5
PACKAGE_HOURS_MIN = 0.5
PACKAGE_HOURS_MAX = 84.0

CARE_GROUPS: tuple[str, ...] = ("OP", "OPMH", "PD", "LD", "MH", "Autism")
# People by care group (OP, OPMH, PD, LD, MH, Autism):
CARE_GROUP_PEOPLE: dict[str, tuple[float, ...]] = {
    # assumption: regulated home care is mostly older people (000/001 give no split)
    "personal_care": (70, 12, 12, 3, 2, 1),
    # 000: individualised support in people's own homes, 21 Aug 2019
    "individual_support": (352, 28, 231, 1_180, 255, 145),
    # 000: group-based care, 21 Aug 2019
    "group_support": (369, 2, 85, 200, 12, 8),
    # 003 table 1: 195 + 16 learning disability and autism placements, 150 + 3 mental health and
    # physical disability ones (the 52 DPS ones spread alike); assumption: LD:Autism and MH:PD 3:1
    "supported_living": (0, 0, 38.25, 158.25, 114.75, 52.75),
}

COMPLEXITIES: tuple[str, ...] = ("less_complex", "complex", "highly_complex")
# 003 table 2: placements by complexity: 71 less complex, 299 complex, 46 highly complex.
PLACEMENT_COMPLEXITY_PEOPLE: tuple[float, ...] = (71, 299, 46)
# Assumption: hourly packages by complexity (001 notes "more intensive and complex care packages
# becoming common" but gives no split).
PACKAGE_COMPLEXITY_SHARE: tuple[float, ...] = (0.60, 0.30, 0.10)

# Priorities. Assumption for the mix; 001 names people waiting in hospital for discharge.
PACKAGE_PRIORITY_SHARE: dict[str, float] = {
    "standard": 0.85, "urgent": 0.10, "hospital_discharge": 0.05,
}
PLACEMENT_PRIORITY_SHARE: dict[str, float] = {"standard_bed": 0.90, "urgent_bed": 0.10}

# Unmet penalties per unit (DESIGN.md section 3 example: standard 60, hospital_discharge 200; a
# bed-week about 100 times an hour-week, clarification 1). Dearer than any price (checked).
UNMET_PENALTY: dict[str, float] = {
    "standard": 60.0,
    "urgent": 120.0,
    "hospital_discharge": 200.0,
    "standard_bed": 6_000.0,
    "urgent_bed": 12_000.0,
}

# Assumption: share of needs acceptable in one neighbouring zone too. Placements travel more:
# 003 has 43 of 416 placements out of county.
NEIGHBOUR_ZONE_SHARE: dict[str, float] = {"package": 0.2, "placement": 0.5}

# Assumption: about a third of the book is already served by someone (the figure).
CURRENT_PROVIDER_SHARE = 1 / 3

# ---------------------------------------------------------------------------- supply

# Provider mix by what they sell. 003: 53 supported-living providers for 416 placements; the
# rest split between home care and supporting-independence providers (assumption).
PROVIDER_TYPE_SHARE: dict[str, float] = {
    "home_care": 0.45, "support": 0.3, "supported_living": 0.25,
}
# Assumption: the services a supporting-independence provider offers (000: two lots, group
# based and individualised; providers join one or both).
SUPPORT_SERVICES_SHARE: dict[str, float] = {"individual": 0.55, "group": 0.15, "both": 0.30}
# Assumption: share of hourly providers that also work in one / a second neighbouring zone.
SECOND_ZONE_SHARE = 0.2
THIRD_ZONE_SHARE = 0.05
# Assumption (L and XL): share of providers that also work in a zone of the next county.
OTHER_COUNTY_SHARE = 0.05
# Assumption: share of supporting-independence offers limited to some care groups (specialists).
SPECIALIST_OFFER_SHARE = 0.3
SPECIALISMS: tuple[tuple[str, ...], ...] = (("LD", "Autism"), ("MH",), ("OP", "OPMH", "PD"))

# Assumption: the most complex need an hourly offer takes (less, complex, highly complex).
HOURLY_MAX_COMPLEXITY_SHARE: tuple[float, ...] = (0.15, 0.45, 0.40)

# Prices per hour. 003: Staffordshire's reference prices for daytime support are GBP 14.72 and
# 15.87 an hour; individual support starts from the upper one. Assumption: regulated personal
# care (travel between visits) costs more, group support is shared and costs less per person.
BASE_HOURLY_PRICE: dict[str, float] = {
    "personal_care": 20.0,
    "individual_support": 15.87,
    "group_support": 8.0,
}
RURAL_PRICE_UPLIFT = 0.12  # assumption: the most rural zone is 12% dearer (000: zone prices)
PROVIDER_PRICE_SIGMA = 0.07  # assumption: providers' own price spread (lognormal sigma)
PROVIDER_PRICE_RANGE = (0.85, 1.2)
RURAL_TRAVEL = (0.10, 0.40)  # assumption: travel factor 1 + rurality * U(range)
OTHER_ZONE_TRAVEL = 0.10  # assumption: extra travel factor outside the provider's home zone

# Capacity: every package not planned to go unmet is given to a random offer that can take it;
# each offer's capacity is the capacity its planned work uses (hours times travel factor), and a
# provider's is the sum over its offers. No headroom (assumption): were a provider's capacity
# freely movable between its zones, the cheapest plan would move the shortfall into the dearest,
# most rural zones, against 001's table (where Dartmoor, zone 8, has the least). An offer
# planned no work still gets a little capacity (assumption).
OFFER_HEADROOM = 1.0
OFFER_MIN_CAPACITY = 5.0

# 003: 479 supported-living beds in 125 schemes, 63 vacant, for 416 placements.
BEDS = 479
SCHEMES = 125
VACANT_BEDS = 63
BEDS_PER_PLACEMENT = BEDS / (BEDS - VACANT_BEDS)
BEDS_PER_SCHEME = BEDS / SCHEMES

# 003 table 2: average weekly placement cost and its range, by complexity (less, complex, highly).
WEEKLY_RATE_MEAN: tuple[float, ...] = (331.0, 983.0, 2_846.0)
WEEKLY_RATE_RANGE: tuple[tuple[float, float], ...] = ((25.0, 599.0), (310.0, 3_553.0),
                                                      (1_101.0, 3_272.0))
# Assumption: spread of a scheme's rate about its band's mean (lognormal sigma).
WEEKLY_RATE_SIGMA: tuple[float, ...] = (0.35, 0.35, 0.2)
# 003: supported living serves learning disability and autism (the Community Support
# Framework), and mental health and physical disability; schemes specialise (assumption).
SCHEME_CARE_GROUPS: tuple[tuple[str, ...], ...] = (("LD", "Autism"), ("MH", "PD"))

# Quality. 003: of 50 CQC-registered providers 80% are rated outstanding or good, 3% requires
# improvement or inadequate, 17% not yet rated. Assumption: the split within those groups.
CQC_RATING_SHARE: dict[str, float] = {
    "outstanding": 0.05,
    "good": 0.75,
    "requires_improvement": 0.025,
    "inadequate": 0.005,
    "not_yet_rated": 0.17,
}
# Assumption: the tender quality score (0-100) of a provider with each rating: (mean, sd).
QUALITY_BY_RATING: dict[str, tuple[float, float]] = {
    "outstanding": (90.0, 4.0),
    "good": (74.0, 8.0),
    "requires_improvement": (45.0, 6.0),
    "inadequate": (28.0, 6.0),
    "not_yet_rated": (66.0, 10.0),
    "unregulated": (70.0, 12.0),  # 000: supporting independence is not CQC regulated
}

# ---------------------------------------------------------------------------- policy

TRANSFER_PENALTY = 150.0  # assumption; 002 weighs the cost of moving people between providers
QUALITY_WEIGHT = 5.0  # assumption: GBP per unit at quality 0
OUT_OF_ZONE_PENALTY = 2.0  # assumption: GBP per unit served outside the need's own zone
MIN_FRAMEWORK_QUALITY = 40.0  # assumption; 000: providers must meet quality thresholds

# ---------------------------------------------------------------------------- block contracting

# 003: all highly complex placements on block from 1-3 providers; ~70% of all placements on block
# (the complex and less complex ones: 70/85 of them) from 8-12 providers across lots of geography
# x complexity; ~15% on a framework.
SL_HIGHLY_COMPLEX_BLOCK = {"min_providers": 1, "max_providers": 3, "max_share": 1.0}
SL_OTHER_BLOCK = {"min_providers": 0, "max_providers": 4, "max_share": round(70 / 85, 4)}
# Assumption: hourly lots take at most 3 block providers covering at most 80% of demand.
HOURLY_BLOCK = {"min_providers": 0, "max_providers": 3, "max_share": 0.8}
BLOCK_MIN_QUALITY = 60.0  # assumption: quality needed to hold a block contract
# Assumption: contracts in force cover this share of a lot's demand, at this discount on price.
BLOCK_IN_FORCE_SHARE = {"hours": 0.3, "beds": 0.5}
BLOCK_DISCOUNT = 0.05
# Assumption: bids offer a 5-15% discount; award cost is 2-5% of the bid's full weekly value.
BID_DISCOUNT = (0.05, 0.15)
BID_AWARD_COST = (0.02, 0.05)
BIDDERS_PER_LOT = 4
