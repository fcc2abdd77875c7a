"""Lot design files: the lots, their block rules and which bids apply, applied to a market.

A commissioner writes one file per design (JSON, or TOML for hand editing) and compares them
on one market (``allocator compare MARKET DESIGN...``). A design file holds:

``name``, ``description``, ``source``
    What the design is and where its numbers come from.
``lots``
    The lots, exactly as in the instance schema (DESIGN.md section 3), with their
    ``framework`` flag and ``block`` rules. They replace the market's lots.
``block_bids``
    Explicit candidate bids, as in the instance schema.
``bid_rules``
    Bids derived from the market's offers, for "what if every provider bid at 10% below its
    framework price": for each lot of the rule (``lots``, ``["*"]`` = every lot with a block
    section) and each provider of the rule (``providers``, empty = every provider selling in
    the lot), the provider's offers made for the lot (in a zone and service of the lot, in its
    unit, and whose ``max_complexity`` is one of the lot's complexities: a scheme for highly
    complex needs is not priced for a less complex lot; the design's own ``offers`` count too,
    an ``if_awarded`` one only for the lot it names) give
    ``capacity`` (their summed capacity) and ``price`` (their capacity-weighted mean price);
    the bid is ``rate = rate_factor x price``, ``max_volume = max_volume_share x capacity``,
    ``min_volume = min_volume_share x max_volume``, ``award_cost``. An explicit bid on the same
    provider and lot takes precedence over a rule's.
``design_targets``
    Targets across the design's lots (DESIGN.md 9.3), as in the instance schema: block share
    and distinct block providers over groups of lots. They replace the market's.
``offers``
    Offers the design adds to the market, as in the instance schema; typically capacity that
    exists only with an award (``if_awarded``, DESIGN.md 9.1): the new scheme a block bid
    brings.
``use_market_bids``
    Whether the market's own ``block_bids`` on the design's lots apply (default true).
``keep_contracts``
    Whether the market's contracts in force are kept (default true; their lots must then be
    lots of the design).

Applying a design (:func:`apply_design`) gives a design instance: the market with the design's
lots, bids and contracts. Every problem is reported at once, each naming the file, table, row
and field (:class:`~allocator.instance.errors.InstanceError`).
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from allocator.core.problem import bid_exclusion
from allocator.instance.errors import InputProblem, InstanceError
from allocator.instance.schema import (
    BlockBid,
    DesignTarget,
    Id,
    Instance,
    Lot,
    NonNegative,
    Offer,
    Share,
)
from allocator.instance.validate import check_references, describe_errors

TABLES = ("lots", "block_bids", "bid_rules", "design_targets", "offers")


class BidRule(BaseModel):
    """Bids derived from the market's offers (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lots: Annotated[list[Id], Field(min_length=1, default_factory=lambda: ["*"])]
    providers: list[Id] = Field(default_factory=list)
    rate_factor: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1.0
    min_volume_share: Share = 0.0
    max_volume_share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 1.0
    award_cost: NonNegative = 0.0


class DesignHeader(BaseModel):
    """The design file's own fields (its tables are validated row by row)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    source: str = ""
    use_market_bids: bool = True
    keep_contracts: bool = True


class Design(BaseModel):
    """A lot design, validated row by row (use :func:`load_design` to read one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    source: str = ""
    use_market_bids: bool = True
    keep_contracts: bool = True
    lots: Annotated[list[Lot], Field(min_length=1)]
    block_bids: list[BlockBid] = Field(default_factory=list)
    bid_rules: list[BidRule] = Field(default_factory=list)
    design_targets: list[DesignTarget] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)


ROW_MODELS: dict[str, type[BaseModel]] = {"lots": Lot, "block_bids": BlockBid,
                                          "bid_rules": BidRule, "design_targets": DesignTarget,
                                          "offers": Offer}


def load_design(path: str | Path) -> Design:
    """Read and validate a design file (``.json`` or ``.toml``).

    Raises
    ------
    InstanceError
        With every problem found, each naming the file, table, row and field.
    """
    file = str(path)
    source = Path(path)
    message = ""
    try:
        text = source.read_text(encoding="utf-8-sig")
        document = tomllib.loads(text) if source.suffix.lower() == ".toml" else json.loads(text)
    except OSError as error:
        message = f"cannot read the file: {error}"
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
    except tomllib.TOMLDecodeError as error:
        message = f"not valid TOML: {error}"
    if message:
        raise InstanceError([InputProblem(file, "", "", "", message)])
    return parse_design(document, file)


def parse_design(document: Any, file: str = "design") -> Design:
    """Validate a design document (a mapping, as read from JSON or TOML)."""
    if not isinstance(document, dict):
        raise InstanceError([InputProblem(file, "", "", "", "a design is an object with the "
                                          "fields name, lots, block_bids, bid_rules, ...")])
    problems: list[InputProblem] = []
    header = {k: v for k, v in document.items() if k not in TABLES}
    try:
        DesignHeader.model_validate(header)
    except ValidationError as error:
        problems += describe_errors(error, file=file, table="design", row="", model=DesignHeader)
    for table, model in ROW_MODELS.items():
        rows = document.get(table, [])
        if not isinstance(rows, list):
            problems.append(InputProblem(file, table, "", "", "must be a list of rows"))
            continue
        if table == "lots" and not rows:
            problems.append(InputProblem(file, "lots", "", "", "a design needs at least one lot"))
        for i, row in enumerate(rows, start=1):
            try:
                model.model_validate(row)
            except ValidationError as error:
                row_id = row.get("id") if isinstance(row, dict) else None
                where = row_id if isinstance(row_id, str) and row_id else f"row {i}"
                problems += describe_errors(error, file=file, table=table, row=where,
                                            model=model)
    if problems:
        raise InstanceError(problems)
    return Design.model_validate(document)


def apply_design(market: Instance, design: Design, file: str = "design") -> Instance:
    """The design instance: ``market`` with the design's lots, bids and contracts.

    Raises
    ------
    InstanceError
        When the design does not fit the market: a bid or rule naming an unknown lot or
        provider, a lot asking for more block providers than it has awardable bids (bids from
        providers below the lot's ``block.min_quality``, its ``min_quality`` or the policy's
        ``min_framework_quality`` do not count: :func:`~allocator.core.problem.bid_exclusion`),
        a block-only lot that no
        one could serve, a contract in force on a lot the design does not have, and every rule
        the instance validation applies (overlapping lots, unknown zones, ...).
    """
    problems: list[InputProblem] = []
    lots = {lot.id: lot for lot in design.lots}
    providers = {p.id: p for p in market.providers}
    lot_list = ", ".join(repr(k) for k in lots)

    bids: dict[tuple[str, str], BlockBid] = {}
    if design.use_market_bids:
        for bid in market.block_bids:
            if bid.lot in lots:
                bids[(bid.provider, bid.lot)] = bid
    for i, rule in enumerate(design.bid_rules, start=1):
        where = f"row {i}"
        bad = False
        for lot_id in rule.lots:
            if lot_id != "*" and lot_id not in lots:
                problems.append(InputProblem(file, "bid_rules", where, "lots",
                                             f"unknown lot '{lot_id}' (the design's lots are "
                                             f"{lot_list})"))
                bad = True
        for pid in rule.providers:
            if pid not in providers:
                problems.append(InputProblem(file, "bid_rules", where, "providers",
                                             f"unknown provider '{pid}' (not in the market)"))
                bad = True
        if not bad:
            for bid in _rule_bids(market, design, rule):
                bids[(bid.provider, bid.lot)] = bid
    for i, bid in enumerate(design.block_bids, start=1):
        where = f"row {i}"
        if bid.lot not in lots:
            problems.append(InputProblem(file, "block_bids", where, "lot",
                                         f"bid of provider '{bid.provider}' is for unknown lot "
                                         f"'{bid.lot}' (the design's lots are {lot_list})"))
        if bid.provider not in providers:
            problems.append(InputProblem(file, "block_bids", where, "provider",
                                         f"unknown provider '{bid.provider}' (not in the market)"))
    seen: dict[tuple[str, str], str] = {}
    for i, bid in enumerate(design.block_bids, start=1):
        key = (bid.provider, bid.lot)
        if key in seen:
            problems.append(InputProblem(file, "block_bids", f"row {i}", "lot",
                                         f"provider '{bid.provider}' already has a bid on lot "
                                         f"'{bid.lot}' ({seen[key]}): one bid per provider per "
                                         "lot (DESIGN.md clarification 7)"))
        seen[key] = f"row {i}"
        bids[key] = bid

    contracts = list(market.block_contracts) if design.keep_contracts else []
    for i, c in enumerate(contracts, start=1):
        if c.lot not in lots:
            problems.append(InputProblem(file, "lots", "", "id",
                                         f"the market's block contract {i} (provider "
                                         f"'{c.provider}') is on lot '{c.lot}', which the design "
                                         "does not have: add the lot, or set keep_contracts to "
                                         "false"))
    problems += _lot_problems(design, bids, contracts, providers, file,
                              market.policy.min_framework_quality)
    # the rest of the instance rules (overlapping lots, units, unknown zones), all at once;
    # rows already reported above are left out so that nothing is said twice
    known = [k for k in sorted(bids, key=lambda k: (k[1], k[0]))
             if k[1] in lots and k[0] in providers]
    instance = market.model_copy(update={
        "name": f"{market.name} / {design.name}",
        "lots": tuple(design.lots),
        "offers": (*market.offers, *design.offers),
        "design_targets": tuple(design.design_targets),
        "block_bids": tuple(bids[k] for k in known),
        "block_contracts": tuple(c for c in contracts if c.lot in lots),
    })
    problems += check_references(instance, file)
    if problems:
        raise InstanceError(problems)
    return instance


def _lot_problems(design: Design, bids: dict, contracts: list, providers: dict,
                  file: str, min_framework_quality: float = 0.0) -> list[InputProblem]:
    problems = []
    by_lot: dict[str, list[BlockBid]] = defaultdict(list)
    for bid in bids.values():
        by_lot[bid.lot].append(bid)
    held = {c.lot for c in contracts}
    for lot in design.lots:
        rules = lot.block
        lot_bids = by_lot.get(lot.id, [])
        if rules is not None:
            ok = [b for b in lot_bids if b.provider in providers
                  and bid_exclusion(b.provider, providers[b.provider].quality, lot,
                                    min_framework_quality) is None]
            if rules.min_providers > len(ok):
                below = len(lot_bids) - len(ok)
                note = (f"; {below} bid(s) are from providers below the lot's quality "
                        f"thresholds (block.min_quality {rules.min_quality:g}, min_quality "
                        f"{lot.min_quality:g}, policy min_framework_quality "
                        f"{min_framework_quality:g})" if below else "")
                problems.append(InputProblem(
                    file, "lots", lot.id, "block.min_providers",
                    f"asks for at least {rules.min_providers} block provider(s) but the lot has "
                    f"{len(ok)} awardable bid(s){note}"))
            if rules.min_share > 0 and not ok:
                problems.append(InputProblem(
                    file, "lots", lot.id, "block.min_share",
                    f"asks for block volume of at least {rules.min_share:g} of demand but the "
                    "lot has no awardable bid"))
        if not lot.framework and not lot_bids and lot.id not in held:
            problems.append(InputProblem(
                file, "lots", lot.id, "framework",
                "the lot has framework=false (needs served only out of block volume) but no "
                "bid and no contract in force: its needs could only go unmet"))
    return problems


def _rule_bids(market: Instance, design: Design, rule: BidRule) -> list[BlockBid]:
    """The bids a rule derives from the market's offers (see the module docstring)."""
    if "*" in rule.lots:
        lots = [lot for lot in design.lots if lot.block is not None]
    else:
        wanted = set(rule.lots)
        lots = [lot for lot in design.lots if lot.id in wanted]
    only = set(rule.providers)
    out = []
    for lot in lots:
        bands = set(lot.complexities)
        zones, services = set(lot.zones), set(lot.services)
        cap: dict[str, float] = defaultdict(float)
        spend: dict[str, float] = defaultdict(float)
        for o in [*market.offers, *design.offers]:
            if o.if_awarded is not None and o.if_awarded != lot.id:
                continue  # capacity another lot's award brings: not this bid's
            if (o.zone in zones and o.service in services and o.unit == lot.unit
                    and o.max_complexity in bands
                    and (not only or o.provider in only)):
                cap[o.provider] += o.capacity
                spend[o.provider] += o.capacity * o.price
        for provider in sorted(cap):
            if cap[provider] <= 0:
                continue
            price = spend[provider] / cap[provider]
            vmax = round(rule.max_volume_share * cap[provider], 4)
            out.append(BlockBid(provider=provider, lot=lot.id,
                                rate=round(rule.rate_factor * price, 2),
                                min_volume=round(rule.min_volume_share * vmax, 4),
                                max_volume=vmax, award_cost=rule.award_cost))
    return out


def load_and_apply(market: Instance, path: str | Path) -> Instance:
    """:func:`load_design` then :func:`apply_design`, naming ``path`` in every problem."""
    return apply_design(market, load_design(path), str(path))
