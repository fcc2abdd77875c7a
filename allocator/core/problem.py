"""The frozen problem: a validated instance turned into read-only arrays.

Every solver takes a :class:`Problem`. It holds the instance it came from (for reports and the
independent checker) and arrays indexed by need, offer, provider, lot, block holder and eligible
pair. The eligible pairs of DESIGN.md section 4 are computed once, vectorised.

A *block holder* is a (provider, lot) that may pay for work out of block volume: a contract in
force, and in design mode also a candidate bid. Pairs in a lot with ``framework=false`` exist
only where their provider is a block holder in that lot.

Offers that exist only with an award (``if_awarded``, DESIGN.md 9.1): ``offer_capacity`` is
the capacity with no bid awarded, i.e. the offer's capacity where its provider holds a contract
in force in that lot and 0 otherwise. In design mode an offer whose provider has an awardable
bid there (and no contract) is *gated*: ``offer_award_holder`` names that bid's holder and
``offer_award_capacity`` the capacity it brings, ``capacity * y``. :meth:`Problem.with_awards`
fixes the awards (volumes and gated capacities) for a recourse or an evaluation.

Per-lot quality (DESIGN.md 9.2): a pair whose cell is in a lot with ``min_quality`` above its
provider's quality is not eligible, like ``policy.min_framework_quality``.

Bids that cannot be awarded (:func:`bid_exclusion`, design mode): DESIGN.md section 5 drops a
bid from a provider below its lot's ``block.min_quality``. A provider below the lot's own
``min_quality`` (9.2) or below ``policy.min_framework_quality`` (clarification 5) gets no work
in the lot's cells, so an award to it could only be paid for, never used: such bids are
dropped too, and reported the same way (a tender's quality threshold makes the bid
non-compliant; without this, a lot's ``min_providers`` could force an award nobody can use).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import pandas as pd

from allocator.instance.errors import InstanceError
from allocator.instance.schema import COMPLEXITY_RANK, UNIT_OF_KIND, Instance, Lot, Need
from allocator.instance.validate import check_references

SERVICES = ("personal_care", "individual_support", "group_support", "supported_living")
CARE_GROUPS = ("OP", "OPMH", "PD", "LD", "MH", "Autism")
UNITS = ("hours", "beds")


def bid_exclusion(provider: str, quality: float, lot: Lot, min_framework_quality: float
                  ) -> str | None:
    """Why a bid of ``provider`` (of ``quality``) on ``lot`` cannot be awarded, or None (see
    the module docstring)."""
    rules = lot.block
    if rules is not None and quality < rules.min_quality:
        return (f"provider {provider} quality {quality:g} is below lot {lot.id} block "
                f"min_quality {rules.min_quality:g}")
    if quality < lot.min_quality:
        return (f"provider {provider} quality {quality:g} is below lot {lot.id} min_quality "
                f"{lot.min_quality:g}: it gets no work in the lot's cells (DESIGN.md 9.2), so "
                "an award could only be paid for, never used")
    if quality < min_framework_quality:
        return (f"provider {provider} quality {quality:g} is below policy "
                f"min_framework_quality {min_framework_quality:g}: it gets no work at all "
                "(clarification 5), so an award could only be paid for, never used")
    return None


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Problem:
    """Arrays of one allocation problem (one demand: the base needs or one scenario's).

    Attributes are read-only numpy arrays; see :meth:`from_instance`.
    """

    instance: Instance
    mode: str  # "allocation" or "design"
    needs: tuple[Need, ...]
    scenario: str | None

    need_ids: tuple[str, ...]
    need_q: np.ndarray  # quantity (hours/week, or 1 bed)
    need_zone: np.ndarray
    need_service: np.ndarray
    need_complexity: np.ndarray
    need_care_group: np.ndarray
    need_penalty: np.ndarray  # unmet penalty per unit
    need_current: np.ndarray  # provider index, -1 if none
    need_cell_lot: np.ndarray  # lot holding the need's own cell, -1 if none

    offer_ids: tuple[str, ...]
    offer_provider: np.ndarray
    offer_zone: np.ndarray
    offer_service: np.ndarray
    offer_unit: np.ndarray  # index into UNITS
    offer_price: np.ndarray
    offer_capacity: np.ndarray
    offer_tf: np.ndarray
    offer_award_lot: np.ndarray  # lot index of offers[].if_awarded, -1 if none
    offer_award_holder: np.ndarray  # design mode: holder whose award y gates the offer, else -1
    offer_award_capacity: np.ndarray  # capacity a gated offer has when awarded (0 if not gated)

    provider_ids: tuple[str, ...]
    provider_quality: np.ndarray
    provider_capacity: np.ndarray  # inf where none is given

    zone_ids: tuple[str, ...]
    lot_ids: tuple[str, ...]
    lot_framework: np.ndarray
    lot_reservation: np.ndarray
    lot_demand: np.ndarray  # D[l]: quantity of needs whose own cell is in lot l
    lot_min_quality: np.ndarray  # lots[].min_quality (DESIGN.md 9.2)

    # block holders: (provider, lot) pairs that may fund work from block volume
    holder_provider: np.ndarray
    holder_lot: np.ndarray
    holder_volume: np.ndarray  # volume of the contract in force (0 if none)
    holder_rate: np.ndarray  # rate of the contracts in force (volume-weighted mean; 0 if none)
    holder_bid: np.ndarray  # index into instance.block_bids, -1 if none (design mode only)
    holder_in_force: np.ndarray  # a contract in force (y = 1 for if_awarded offers)

    # eligible pairs
    pair_need: np.ndarray
    pair_offer: np.ndarray
    pair_provider: np.ndarray
    pair_lot: np.ndarray  # -1 if the pair's cell is in no lot
    pair_holder: np.ndarray  # block holder index, -1 if none
    pair_forced: np.ndarray  # in a framework=false lot: block-funded only (b = x)
    pair_q: np.ndarray  # need quantity
    pair_use: np.ndarray  # q * travel factor: capacity used
    pair_price_q: np.ndarray  # price * q
    pair_quality_zone: np.ndarray  # q * (quality weight term + out-of-zone term)
    pair_own_zone: np.ndarray  # offer zone == need zone
    pair_is_current: np.ndarray  # offer's provider is the need's current provider
    pair_hours: np.ndarray  # offer unit is hours (counts towards provider capacity)

    transfer_penalty: float
    objective_kind: str
    max_provider_share: float | None
    fixed_block_cost: float  # sum of rate * volume of contracts in force
    dropped_bids: tuple[tuple[int, str], ...] = field(default=())  # (bid index, reason)

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_instance(
        cls,
        instance: Instance,
        *,
        mode: str = "allocation",
        needs: list[Need] | tuple[Need, ...] | None = None,
        scenario: str | None = None,
    ) -> Problem:
        """Build the arrays of ``instance`` (already validated).

        Parameters
        ----------
        instance
            A validated instance.
        mode
            ``"allocation"``: only contracts in force fund block work. ``"design"``: candidate
            bids (at or above their lot's ``block.min_quality``) are block holders too.
        needs
            The demand to allocate; the instance's own needs when None (scenarios pass theirs).
        scenario
            Scenario id, for reports.
        """
        if mode not in ("allocation", "design"):
            raise ValueError(f"mode must be 'allocation' or 'design', not {mode!r}")
        try:
            return cls._build(instance, mode, needs, scenario)
        except (KeyError, IndexError) as exc:
            # Only an unchecked instance (model_copy, model_construct) gets here: say what is
            # wrong with it the way loading a file would, not with a bare KeyError.
            checked = (instance if needs is None
                       else instance.model_copy(update={"needs": tuple(needs)}))
            problems = check_references(checked, "instance")
            if problems:
                raise InstanceError(problems) from exc
            raise

    @classmethod
    def _build(cls, instance: Instance, mode: str,
               needs: list[Need] | tuple[Need, ...] | None, scenario: str | None) -> Problem:
        inst = instance
        policy = inst.policy
        need_rows = tuple(inst.needs if needs is None else needs)

        zone_ids = tuple(z.id for z in inst.zones)
        zone_ix = {z: i for i, z in enumerate(zone_ids)}
        provider_ids = tuple(p.id for p in inst.providers)
        prov_ix = {p: i for i, p in enumerate(provider_ids)}
        service_ix = {s: i for i, s in enumerate(SERVICES)}
        cg_ix = {c: i for i, c in enumerate(CARE_GROUPS)}
        lot_ids = tuple(lot.id for lot in inst.lots)
        lot_ix = {lid: i for i, lid in enumerate(lot_ids)}

        provider_quality = np.array([p.quality for p in inst.providers], dtype=float)
        provider_capacity = np.array(
            [np.inf if p.capacity is None else p.capacity for p in inst.providers], dtype=float
        )

        # cells -> lot
        cell_lot: dict[tuple[int, int, int], int] = {}
        for li, lot in enumerate(inst.lots):
            for z in lot.zones:
                for s in lot.services:
                    for c in lot.complexities:
                        cell_lot[(zone_ix[z], service_ix[s], COMPLEXITY_RANK[c])] = li
        n_lots = len(lot_ids)
        # cell lot lookup table, dense (zones x services x complexities)
        cell_table = np.full((max(1, len(zone_ids)), len(SERVICES), 3), -1, dtype=np.int64)
        for (zi, si, ci), li in cell_lot.items():
            cell_table[zi, si, ci] = li

        # ---- needs
        nN = len(need_rows)
        need_ids = tuple(n.id for n in need_rows)
        need_q = np.array([n.quantity for n in need_rows], dtype=float)
        need_zone = np.array([zone_ix[n.zone] for n in need_rows], dtype=np.int64)
        need_service = np.array([service_ix[n.service] for n in need_rows], dtype=np.int64)
        need_cx = np.array([COMPLEXITY_RANK[n.complexity] for n in need_rows], dtype=np.int64)
        need_cg = np.array([cg_ix[n.care_group] for n in need_rows], dtype=np.int64)
        need_unit = np.array([UNITS.index(UNIT_OF_KIND[n.kind]) for n in need_rows], dtype=np.int64)
        need_pen = np.array([policy.unmet_penalty[n.priority] for n in need_rows], dtype=float)
        need_current = np.array(
            [-1 if n.current_provider is None else prov_ix[n.current_provider] for n in need_rows],
            dtype=np.int64,
        )
        if nN:
            need_cell_lot = cell_table[need_zone, need_service, need_cx]
        else:
            need_cell_lot = np.zeros(0, dtype=np.int64)
        lot_demand = np.bincount(
            need_cell_lot[need_cell_lot >= 0], weights=need_q[need_cell_lot >= 0], minlength=n_lots
        ).astype(float)[:n_lots]

        # ---- offers
        offers = inst.offers
        offer_ids = tuple(o.key for o in offers)
        offer_provider = np.array([prov_ix[o.provider] for o in offers], dtype=np.int64)
        offer_zone = np.array([zone_ix[o.zone] for o in offers], dtype=np.int64)
        offer_service = np.array([service_ix[o.service] for o in offers], dtype=np.int64)
        offer_unit = np.array([UNITS.index(o.unit) for o in offers], dtype=np.int64)
        offer_price = np.array([o.price for o in offers], dtype=float)
        offer_cap = np.array([o.capacity for o in offers], dtype=float)
        offer_maxcx = np.array([COMPLEXITY_RANK[o.max_complexity] for o in offers], dtype=np.int64)
        offer_tf = np.array([o.travel_factor for o in offers], dtype=float)
        # care-group mask per offer: bit g set when group g is allowed (empty list = any)
        offer_cgmask = np.array(
            [
                (1 << len(CARE_GROUPS)) - 1
                if not o.care_groups
                else sum(1 << cg_ix[g] for g in o.care_groups)
                for o in offers
            ],
            dtype=np.int64,
        )

        # ---- block holders
        holders: dict[tuple[int, int], list] = {}
        fixed_block_cost = 0.0
        for contract in inst.block_contracts:
            # contracts for one provider and lot pool their volumes; each one is paid for
            key = (prov_ix[contract.provider], lot_ix[contract.lot])
            holder = holders.setdefault(key, [0.0, 0.0, -1, True])
            holder[3] = True
            holder[0] += contract.volume
            fixed_block_cost += contract.rate * contract.volume
            holder[1] += contract.rate * contract.volume  # cost; turned into a mean rate below
        dropped: list[tuple[int, str]] = []
        if mode == "design":
            for bi, bid in enumerate(inst.block_bids):
                p, li = prov_ix[bid.provider], lot_ix[bid.lot]
                why = bid_exclusion(bid.provider, float(provider_quality[p]), inst.lots[li],
                                    inst.policy.min_framework_quality)
                if why is not None:
                    dropped.append((bi, why))
                    continue
                holders.setdefault((p, li), [0.0, 0.0, -1, False])[2] = bi
        hkeys = sorted(holders)
        holder_provider = np.array([k[0] for k in hkeys], dtype=np.int64)
        holder_lot = np.array([k[1] for k in hkeys], dtype=np.int64)
        holder_volume = np.array([holders[k][0] for k in hkeys], dtype=float)
        holder_cost = np.array([holders[k][1] for k in hkeys], dtype=float)
        holder_rate = np.divide(holder_cost, holder_volume, out=np.zeros(len(hkeys)),
                                where=holder_volume > 0)
        holder_bid = np.array([holders[k][2] for k in hkeys], dtype=np.int64)
        holder_in_force = np.array([holders[k][3] for k in hkeys], dtype=bool)
        n_prov = len(provider_ids)
        holder_table = np.full(max(1, n_prov) * max(1, n_lots), -1, dtype=np.int64)
        if hkeys:
            holder_table[holder_provider * max(1, n_lots) + holder_lot] = np.arange(len(hkeys))

        # ---- offers that exist only with an award (DESIGN.md 9.1)
        n_offers = len(offers)
        offer_award_lot = np.array(
            [-1 if o.if_awarded is None else lot_ix[o.if_awarded] for o in offers], dtype=np.int64
        )
        offer_award_holder = np.full(n_offers, -1, dtype=np.int64)
        offer_award_cap = np.zeros(n_offers, dtype=float)
        for o in np.nonzero(offer_award_lot >= 0)[0]:
            h = int(holder_table[offer_provider[o] * max(1, n_lots) + offer_award_lot[o]])
            if h >= 0 and holder_in_force[h]:
                continue  # a contract in force counts as y = 1: the offer exists
            if h >= 0 and holder_bid[h] >= 0:  # design mode, an awardable bid: capacity * y
                offer_award_holder[o] = h
                offer_award_cap[o] = offer_cap[o]
            offer_cap[o] = 0.0  # not awarded (or allocation mode without a contract)

        # ---- eligible pairs (vectorised join on zone x service)
        pairs = _eligible_pairs(
            need_rows,
            zone_ix,
            need_service,
            offer_zone,
            offer_service,
        )
        pn, po = pairs
        if len(pn):
            keep = offer_unit[po] == need_unit[pn]
            keep &= need_cx[pn] <= offer_maxcx[po]
            keep &= (offer_cgmask[po] >> need_cg[pn]) & 1 == 1
            keep &= provider_quality[offer_provider[po]] >= policy.min_framework_quality
            pn, po = pn[keep], po[keep]
        pp = offer_provider[po]
        plot = (
            cell_table[offer_zone[po], need_service[pn], need_cx[pn]]
            if len(pn)
            else np.zeros(0, dtype=np.int64)
        )
        pholder = np.where(
            plot >= 0, holder_table[pp * max(1, n_lots) + np.maximum(plot, 0)], -1
        ).astype(np.int64)
        lot_framework = np.array([lot.framework for lot in inst.lots], dtype=bool)
        lot_reservation = np.array([lot.reservation for lot in inst.lots], dtype=bool)
        lot_min_quality = np.array([lot.min_quality for lot in inst.lots], dtype=float)
        if n_lots and len(pn):
            # per-lot quality threshold (DESIGN.md 9.2): no work in the lot's cells below it
            in_lot = plot >= 0
            keep = ~in_lot | (provider_quality[pp] >= lot_min_quality[np.maximum(plot, 0)])
            if not keep.all():
                pn, po, pp, plot, pholder = (a[keep] for a in (pn, po, pp, plot, pholder))
        pforced = np.zeros(len(pn), dtype=bool)
        if n_lots and len(pn):
            in_lot = plot >= 0
            pforced[in_lot] = ~lot_framework[plot[in_lot]]
            # block-only lots: only block holders may serve
            keep = ~pforced | (pholder >= 0)
            pn, po, pp, plot, pholder, pforced = (
                a[keep] for a in (pn, po, pp, plot, pholder, pforced)
            )
        pq = need_q[pn]
        own = offer_zone[po] == need_zone[pn]
        qz = pq * (
            policy.quality_weight * (100.0 - provider_quality[pp]) / 100.0
            + policy.out_of_zone_penalty * (~own)
        )

        return cls(
            instance=inst,
            mode=mode,
            needs=need_rows,
            scenario=scenario,
            need_ids=need_ids,
            need_q=_ro(need_q),
            need_zone=_ro(need_zone),
            need_service=_ro(need_service),
            need_complexity=_ro(need_cx),
            need_care_group=_ro(need_cg),
            need_penalty=_ro(need_pen),
            need_current=_ro(need_current),
            need_cell_lot=_ro(need_cell_lot),
            offer_ids=offer_ids,
            offer_provider=_ro(offer_provider),
            offer_zone=_ro(offer_zone),
            offer_service=_ro(offer_service),
            offer_unit=_ro(offer_unit),
            offer_price=_ro(offer_price),
            offer_capacity=_ro(offer_cap),
            offer_tf=_ro(offer_tf),
            offer_award_lot=_ro(offer_award_lot),
            offer_award_holder=_ro(offer_award_holder),
            offer_award_capacity=_ro(offer_award_cap),
            provider_ids=provider_ids,
            provider_quality=_ro(provider_quality),
            provider_capacity=_ro(provider_capacity),
            zone_ids=zone_ids,
            lot_ids=lot_ids,
            lot_framework=_ro(lot_framework),
            lot_reservation=_ro(lot_reservation),
            lot_demand=_ro(lot_demand),
            lot_min_quality=_ro(lot_min_quality),
            holder_provider=_ro(holder_provider),
            holder_lot=_ro(holder_lot),
            holder_volume=_ro(holder_volume),
            holder_rate=_ro(holder_rate),
            holder_bid=_ro(holder_bid),
            holder_in_force=_ro(holder_in_force),
            pair_need=_ro(pn),
            pair_offer=_ro(po),
            pair_provider=_ro(pp),
            pair_lot=_ro(plot),
            pair_holder=_ro(pholder),
            pair_forced=_ro(pforced),
            pair_q=_ro(pq),
            pair_use=_ro(pq * offer_tf[po]),
            pair_price_q=_ro(offer_price[po] * pq),
            pair_quality_zone=_ro(qz),
            pair_own_zone=_ro(own),
            pair_is_current=_ro(need_current[pn] == pp),
            pair_hours=_ro(offer_unit[po] == 0),
            transfer_penalty=float(policy.transfer_penalty),
            objective_kind=policy.objective,
            max_provider_share=policy.max_provider_share,
            fixed_block_cost=float(fixed_block_cost),
            dropped_bids=tuple(dropped),
        )

    # ------------------------------------------------------------------ fixed awards

    def with_awards(self, volume: np.ndarray, awarded: np.ndarray) -> Problem:
        """This problem with the awards fixed: an allocation problem again.

        Parameters
        ----------
        volume
            Block volume per holder (contracts in force plus awarded volume).
        awarded
            Bool per holder: the holder's bid is awarded (y = 1). A gated ``if_awarded`` offer
            gets its capacity where its bid is awarded and keeps capacity 0 elsewhere.
        """
        gated = self.offer_award_holder >= 0
        cap = self.offer_capacity
        if gated.any():
            on = gated & np.asarray(awarded, dtype=bool)[np.maximum(self.offer_award_holder, 0)]
            cap = _ro(np.where(on, self.offer_award_capacity, self.offer_capacity))
        return replace(
            self,
            holder_volume=_ro(np.asarray(volume, dtype=float)),
            offer_capacity=cap,
            offer_award_holder=_ro(np.full(self.n_offers, -1, dtype=np.int64)),
            offer_award_capacity=_ro(np.zeros(self.n_offers)),
        )

    # ------------------------------------------------------------------ derived views

    @property
    def n_needs(self) -> int:
        return len(self.need_ids)

    @property
    def n_offers(self) -> int:
        return len(self.offer_ids)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_need)

    @property
    def n_providers(self) -> int:
        return len(self.provider_ids)

    @property
    def n_holders(self) -> int:
        return len(self.holder_provider)

    @cached_property
    def pair_block_saving(self) -> np.ndarray:
        """Cost saved per unit of b on a pair: price * q, 0 in reservation lots."""
        res = np.zeros(self.n_pairs, dtype=bool)
        m = self.pair_lot >= 0
        res[m] = self.lot_reservation[self.pair_lot[m]]
        return _ro(np.where(res, 0.0, self.pair_price_q))

    @cached_property
    def pair_cost_x(self) -> np.ndarray:
        """Cost of x on a pair, before any block funding and without the transfer term.

        price * q + quality/zone term; in a block-only (non-reservation) lot the price is never
        paid (b = x), so it is left out here and b carries no saving there.
        """
        price = np.where(
            self.pair_forced, self.pair_price_q - self.pair_block_saving, self.pair_price_q
        )
        return _ro(price + self.pair_quality_zone)

    @cached_property
    def pairs_by_need(self) -> tuple[np.ndarray, np.ndarray]:
        """(order, start): pairs sorted by need; pairs of need n are order[start[n]:start[n+1]]."""
        order = np.argsort(self.pair_need, kind="stable")
        start = np.searchsorted(self.pair_need[order], np.arange(self.n_needs + 1))
        return _ro(order), _ro(start)

    @property
    def transfer_constant(self) -> float:
        return self.transfer_penalty * float(np.count_nonzero(self.need_current >= 0))

    def pair_frame(self) -> pd.DataFrame:
        """The eligible pairs as a DataFrame with ids (for reports and debugging)."""
        return pd.DataFrame(
            {
                "need": np.asarray(self.need_ids, dtype=object)[self.pair_need],
                "offer": np.asarray(self.offer_ids, dtype=object)[self.pair_offer],
                "provider": np.asarray(self.provider_ids, dtype=object)[self.pair_provider],
                "lot": np.where(
                    self.pair_lot >= 0,
                    np.asarray(self.lot_ids + ("",), dtype=object)[self.pair_lot],
                    "",
                ),
                "cost": self.pair_cost_x,
                "use": self.pair_use,
            }
        )


def _eligible_pairs(
    needs: tuple[Need, ...],
    zone_ix: dict[str, int],
    need_service: np.ndarray,
    offer_zone: np.ndarray,
    offer_service: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (need, offer) pairs: offer zone in the need's acceptable zones, same service.

    The remaining eligibility rules are applied by the caller, vectorised.
    """
    n_zones = max(1, len(zone_ix))
    # explode needs over their acceptable zones
    nz_need: list[int] = []
    nz_zone: list[int] = []
    for i, n in enumerate(needs):
        zs = n.acceptable_zones or [n.zone]
        for z in dict.fromkeys(zs):  # de-duplicate, keep order
            nz_need.append(i)
            nz_zone.append(zone_ix[z])
    if not nz_need or len(offer_zone) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    en = np.array(nz_need, dtype=np.int64)
    ez = np.array(nz_zone, dtype=np.int64)
    nkey = ez * len(SERVICES) + need_service[en]
    okey = offer_zone * len(SERVICES) + offer_service
    # group offers by key, then expand each need-zone row to all offers with its key
    oorder = np.argsort(okey, kind="stable")
    sorted_keys = okey[oorder]
    lo = np.searchsorted(sorted_keys, nkey, side="left")
    hi = np.searchsorted(sorted_keys, nkey, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rep_need = np.repeat(en, counts)
    # positions lo[i] .. hi[i]-1 for every row i
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    pos = np.repeat(lo, counts) + offsets
    pairs_offer = oorder[pos]
    order = np.lexsort((pairs_offer, rep_need))
    del n_zones
    return rep_need[order], pairs_offer[order]
