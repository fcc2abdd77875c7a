"""Validation that needs more than one row: cross-table rules, and plain-English row messages.

The row models of :mod:`allocator.instance.schema` check one row at a time. This module adds

* :func:`check_references`, every rule that needs the whole instance (duplicate ids, unknown
  references, overlapping lots, units, block contracts and bids, penalties, scenarios),
  reporting all problems at once;
* :func:`describe_errors`, which turns pydantic's messages into messages a commissioner
  understands ("must be >= 0, got -3");
* :func:`validate_path`, the library side of ``allocator validate FILE``.

:func:`check_references` takes either a whole :class:`~allocator.instance.schema.Instance` or an
:class:`InstanceParts`: the rows that parsed, each with where it stands in its file, so that
:func:`allocator.instance.io.load_instance` can run the reference checks even when other rows
failed.
"""

from __future__ import annotations

import math
import types
import typing
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from allocator.instance.errors import InputProblem, InstanceError
from allocator.instance.schema import TABLES, Instance, Need, Offer, Policy

# Each service is sold in one unit; only a lot's unit is held to it (offers and needs are not).
UNIT_OF_SERVICE = {
    "personal_care": "hours",
    "individual_support": "hours",
    "group_support": "hours",
    "supported_living": "beds",
}
WEIGHT_TOLERANCE = 1e-6


class Placed(NamedTuple):
    """A parsed row and where it stands in its file ("row 5", as a person counts)."""

    where: str
    row: Any


class ScenarioNeed(NamedTuple):
    """A need of a scenario's own needs list."""

    scenario: str
    where: str
    need: Need


@dataclass
class InstanceParts:
    """The rows of an instance that passed their row model, with their places in the file.

    rows
        table name (those of :data:`allocator.instance.schema.TABLES`, and ``scenarios``) -> its
        rows; a missing table is an empty one.
    policy
        ``None`` when the policy itself failed to parse (penalty checks are then skipped).
    scenario_needs
        the scenarios' own needs, each naming its scenario.
    scenario_needs_table
        the table those needs are reported under: ``scenarios`` in JSON (they are nested
        there), ``scenario_needs`` in CSV and XLSX.
    failed_ids
        table -> ids of rows that failed their row model ("" for a row without one):
        references to them are not reported as unknown (the row's own problem is already
        reported).
    broken
        tables that could not be read at all (missing, not a list, ...): references into
        them are not checked.
    """

    rows: dict[str, list[Placed]] = field(default_factory=dict)
    policy: Policy | None = None
    scenario_needs: list[ScenarioNeed] = field(default_factory=list)
    scenario_needs_table: str = "scenarios"
    failed_ids: dict[str, set[str]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)

    @classmethod
    def from_instance(cls, instance: Instance) -> InstanceParts:
        """The parts of a whole instance; rows are placed by their 1-based index."""
        rows = {
            table: _placed(getattr(instance, table)) for table in (*TABLES, "scenarios")
        }
        scenario_needs = [
            ScenarioNeed(scenario.id, f"row {i}", need)
            for scenario in instance.scenarios
            for i, need in enumerate(scenario.needs or (), start=1)
        ]
        return cls(rows, instance.policy, scenario_needs)

    def table(self, name: str) -> list[Placed]:
        return self.rows.get(name, [])


def _placed(rows: Iterable[Any]) -> list[Placed]:
    return [Placed(f"row {i}", row) for i, row in enumerate(rows, start=1)]


def label(placed: Placed) -> str:
    """How a problem names a row: its id where it has one, else its place in the file."""
    row_id = getattr(placed.row, "id", None)
    return row_id if isinstance(row_id, str) else placed.where


def _quote(ids: Iterable[str], limit: int = 3) -> str:
    ids = list(ids)
    shown = ", ".join(f"'{i}'" for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


# --------------------------------------------------------------------------- references


def check_references(source: Instance | InstanceParts, file: str) -> list[InputProblem]:
    """Every rule that spans rows or tables, all problems at once.

    Parameters
    ----------
    source
        A whole instance, or the rows of one that parsed (see :class:`InstanceParts`).
    file
        The file named in each problem (the path as the user gave it).

    Returns
    -------
    list[InputProblem]
        Empty when the instance is consistent.
    """
    parts = source if isinstance(source, InstanceParts) else InstanceParts.from_instance(source)
    checks = _Checks(parts, file)
    checks.duplicates()
    checks.offers()
    checks.needs(parts.table("needs"), "needs", scenario=None)
    checks.lots()
    checks.block("block_contracts", "block contract")
    checks.block("block_bids", "bid")
    checks.design_targets()
    checks.penalties()
    checks.scenarios()
    return checks.problems


class _Checks:
    """The cross-table rules, each appending to one list of problems."""

    def __init__(self, parts: InstanceParts, file: str):
        self.parts = parts
        self.file = file
        self.problems: list[InputProblem] = []
        self.zones = self.ids("zones")
        self.providers = self.ids("providers")
        self.lot_of = {p.row.id: p.row for p in parts.table("lots")}
        self.lot_ids = self.ids("lots")
        self.offers_of: dict[str, list[Offer]] = defaultdict(list)
        for placed in parts.table("offers"):
            self.offers_of[placed.row.provider].append(placed.row)

    def ids(self, table: str) -> set[str] | None:
        """The ids a reference may name; None when the table is unreadable (do not check)."""
        if table in self.parts.broken:
            return None
        return {p.row.id for p in self.parts.table(table)} | self.parts.failed_ids.get(table, set())

    def add(self, table: str, row: str, field_: str, message: str) -> None:
        self.problems.append(InputProblem(self.file, table, row, field_, message))

    def unknown(self, table: str, placed: Placed, field_: str, value: str, kind: str,
                known: set[str] | None, prefix: str = "") -> None:
        if known is not None and value not in known:
            self.add(table, label(placed), field_, f"{prefix}unknown {kind} '{value}'")

    def duplicates(self) -> None:
        for table, kind in (("zones", "zone"), ("providers", "provider"), ("needs", "need"),
                            ("lots", "lot"), ("design_targets", "design target"),
                            ("scenarios", "scenario")):
            self._duplicate_ids(table, kind, self.parts.table(table), lambda row: row.id)
        self._duplicate_ids(
            "offers", "offer", self.parts.table("offers"), lambda row: row.key,
            hint=" (an offer without an id is named by its scheme, else provider/zone/service:"
            " give the offers distinct ids)",
        )

    def _duplicate_ids(self, table: str, kind: str, rows: Sequence[Placed], key: Any,
                       hint: str = "", prefix: str = "") -> None:
        seen: dict[str, list[Placed]] = defaultdict(list)
        for placed in rows:
            seen[key(placed.row)].append(placed)
        for row_id, places in seen.items():
            if len(places) > 1:
                where = ", ".join(p.where for p in places)
                self.add(table, row_id, "id",
                         f"{prefix}{kind} id '{row_id}' is used more than once ({where}){hint}")

    def offers(self) -> None:
        for placed in self.parts.table("offers"):
            offer = placed.row
            self.unknown("offers", placed, "provider", offer.provider, "provider", self.providers)
            self.unknown("offers", placed, "zone", offer.zone, "zone", self.zones)
            if offer.if_awarded is not None:
                # The offer exists only with a block in that lot (DESIGN.md 9.1).
                self.unknown("offers", placed, "if_awarded", offer.if_awarded,
                             "lot", self.lot_ids)

    def needs(self, rows: Iterable[Placed], table: str, scenario: str | None) -> None:
        prefix = f"in scenario '{scenario}': " if scenario is not None else ""
        for placed in rows:
            need = placed.row
            self.unknown(table, placed, "zone", need.zone, "zone", self.zones, prefix)
            for zone in need.acceptable_zones or ():
                self.unknown(table, placed, "acceptable_zones", zone, "zone", self.zones, prefix)
            if need.current_provider is not None:
                self.unknown(table, placed, "current_provider", need.current_provider,
                             "provider", self.providers, prefix)

    def lots(self) -> None:
        owner: dict[tuple[str, str, str], str] = {}
        overlaps: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
        for placed in self.parts.table("lots"):
            lot = placed.row
            for zone in lot.zones:
                self.unknown("lots", placed, "zones", zone, "zone", self.zones)
            wrong = [s for s in lot.services if UNIT_OF_SERVICE[s] != lot.unit]
            if wrong:
                sold = ", ".join(f"{s} (sold in {UNIT_OF_SERVICE[s]})" for s in wrong)
                self.add("lots", label(placed), "unit",
                         f"a lot in unit '{lot.unit}' cannot hold {sold}")
            for cell in product(dict.fromkeys(lot.zones), dict.fromkeys(lot.services),
                                dict.fromkeys(lot.complexities)):
                other = owner.setdefault(cell, lot.id)
                if other != lot.id:
                    overlaps[(other, lot.id)].append(cell)
        for (first, second), cells in overlaps.items():
            shown = "; ".join(f"({z}, {s}, {c})" for z, s, c in cells[:3])
            more = f" and {len(cells) - 3} more" if len(cells) > 3 else ""
            self.add("lots", second, "zones",
                     f"lots '{first}' and '{second}' overlap: both hold cell(s) {shown}{more};"
                     " each cell (zone x service x complexity) may be in one lot only")

    def block(self, table: str, what: str) -> None:
        seen: dict[tuple[str, str], str] = {}
        for placed in self.parts.table(table):
            row = placed.row
            self.unknown(table, placed, "provider", row.provider, "provider", self.providers)
            self.unknown(table, placed, "lot", row.lot, "lot", self.lot_ids)
            first = seen.setdefault((row.provider, row.lot), placed.where)
            # Two contracts in force for one provider and lot pool their volumes (V[p,l] is one
            # pool; each contract's rate x volume is paid); two bids are an error
            # (clarification 7: the design limits count providers).
            if first != placed.where and table == "block_bids":
                self.add(table, placed.where, "lot",
                         f"provider '{row.provider}' already has a {what} on lot '{row.lot}'"
                         f" ({first}): one bid per provider per lot")
            lot = self.lot_of.get(row.lot)
            if lot is not None:
                self._unit_of_block(table, placed, what, lot)

    def _unit_of_block(self, table: str, placed: Placed, what: str, lot: Any) -> None:
        # A provider that sells in the lot's zones and services only in the other unit could
        # never use this volume: almost certainly the wrong lot.
        zones, services = set(lot.zones), set(lot.services)
        units = {o.unit for o in self.offers_of.get(placed.row.provider, ())
                 if o.zone in zones and o.service in services}
        if units and lot.unit not in units:
            self.add(table, placed.where, "lot",
                     f"{what} of provider '{placed.row.provider}' is on lot '{lot.id}' in"
                     f" {lot.unit}, but the provider sells the lot's zones and services only in"
                     f" {_quote(sorted(units))}")

    def design_targets(self) -> None:
        """DESIGN.md 9.3: each target names known lots, each once."""
        for placed in self.parts.table("design_targets"):
            target = placed.row
            seen: set[str] = set()
            for lot in target.lots:
                self.unknown("design_targets", placed, "lots", lot, "lot", self.lot_ids)
                if lot in seen:
                    self.add("design_targets", label(placed), "lots",
                             f"lot '{lot}' is listed twice")
                seen.add(lot)

    def penalties(self) -> None:
        policy = self.parts.policy
        if policy is None:
            return
        self._missing_penalties(self.parts.table("needs"), "needs", "", policy)
        by_scenario: dict[str, list[Placed]] = defaultdict(list)
        for item in self.parts.scenario_needs:
            by_scenario[item.scenario].append(Placed(item.where, item.need))
        for scenario, rows in by_scenario.items():
            self._missing_penalties(rows, self.parts.scenario_needs_table,
                                    f"in scenario '{scenario}': ", policy)

    def _missing_penalties(self, rows: Sequence[Placed], table: str, prefix: str,
                           policy: Policy) -> None:
        # One problem per missing priority, not per need: a typo can touch thousands of rows.
        users: dict[str, list[Placed]] = defaultdict(list)
        for placed in rows:
            if placed.row.priority not in policy.unmet_penalty:
                users[placed.row.priority].append(placed)
        for priority, group in users.items():
            self.add(table, label(group[0]), "priority",
                     f"{prefix}priority '{priority}' has no unmet penalty in the policy"
                     f" (used by {len(group)} need(s): {_quote(label(p) for p in group)});"
                     f" add a penalty for it (unmet_penalty.{priority})")

    def scenarios(self) -> None:
        scenarios = self.parts.table("scenarios")
        known = self.ids("scenarios")
        # With a scenario that failed to parse the sum is meaningless: its weight is missing.
        if scenarios and not self.parts.failed_ids.get("scenarios") and known is not None:
            total = math.fsum(p.row.weight for p in scenarios)
            if abs(total - 1) > WEIGHT_TOLERANCE:
                self.add("scenarios", label(scenarios[0]), "weight",
                         f"scenario weights sum to {total:.10g}; they must sum to 1")
        table = self.parts.scenario_needs_table
        by_scenario: dict[str, list[Placed]] = defaultdict(list)
        for item in self.parts.scenario_needs:
            placed = Placed(item.where, item.need)
            # known is None when scenarios.csv is unreadable: its ids cannot be checked then.
            self.unknown(table, placed, "scenario", item.scenario, "scenario", known)
            by_scenario[item.scenario].append(placed)
        for scenario, rows in by_scenario.items():
            self._duplicate_ids(table, "need", rows, lambda row: row.id,
                                prefix=f"in scenario '{scenario}': ")
            self.needs(rows, table, scenario)


# --------------------------------------------------------------------------- row messages


def describe_errors(
    error: ValidationError,
    *,
    file: str,
    table: str,
    row: str,
    model: type[BaseModel],
    cells: Mapping[str, str] | None = None,
    rows: Mapping[str, str] | None = None,
    prefix: str = "",
    quiet_missing: Collection[str] = (),
) -> list[InputProblem]:
    """The problems of one row that failed its model, in plain English.

    Parameters
    ----------
    error
        What pydantic raised for the row.
    file, table, row
        Where the row is (``row`` is its id, or "row N").
    model
        The row model, used to name the field a whole-row rule is about.
    cells
        Spreadsheet cell of each field ("D5"), for CSV and XLSX, added to the message.
    rows
        For key/value tables, the row of each key, used instead of ``row``.
    prefix
        Put before each message (e.g. "in scenario 'S1': ").
    quiet_missing
        Fields whose whole column is missing: already reported once, so not per row.
    """
    problems = []
    for err in error.errors(include_url=False):
        loc = [str(part) for part in err["loc"] if part != "[key]"]
        path = [part for part in loc if not part.isdigit()]
        if err["type"] == "value_error":
            path = path + _named_field(_model_at(model, path), str(err["ctx"]["error"]))
        name = ".".join(path)
        if err["type"] == "missing" and name in quiet_missing:
            continue
        message = _message(err, item=_item_index(loc))
        if err["type"] == "missing" and cells is not None:
            message += " (the cell is empty or its column is missing)"
        elif cells and name in cells:
            message += f" (cell {cells[name]})"
        where = (rows or {}).get(name, row)
        problems.append(InputProblem(file, table, where, name, prefix + message))
    return problems


def _item_index(loc: Sequence[str]) -> int | None:
    digits = [part for part in loc if part.isdigit()]
    return int(digits[-1]) + 1 if digits else None


def _message(err: Mapping[str, Any], item: int | None) -> str:
    kind, ctx, got = err["type"], err.get("ctx", {}), _show(err.get("input"))
    messages = {
        "missing": "is required",
        "extra_forbidden": "is not a known field (check its spelling)",
        "finite_number": f"must be a finite number, got {got}",
        "float_parsing": f"must be a number, got {got}",
        "float_type": f"must be a number, got {got}",
        "int_parsing": f"must be a whole number, got {got}",
        "int_type": f"must be a whole number, got {got}",
        "int_from_float": f"must be a whole number, got {got}",
        "bool_parsing": f"must be true or false (or yes/no, 1/0), got {got}",
        "bool_type": f"must be true or false (or yes/no, 1/0), got {got}",
        "string_too_short": "must not be empty",
        "string_type": f"must be text, got {got}",
        "list_type": f"must be a list, got {got}",
        "dict_type": f"must be an object of named values, got {got}",
        "model_type": f"must be an object of named fields, got {got}",
        "model_attributes_type": f"must be an object of named fields, got {got}",
    }
    if kind in messages:
        message = messages[kind]
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
                "less_than": "<"}[kind]
        bound = next(iter(ctx.values()))
        message = f"must be {sign} {_show(bound)}, got {got}"
    elif kind in ("enum", "literal_error"):
        message = f"must be one of {ctx['expected']}, got {got}"
    elif kind == "too_short":
        message = f"must list at least {ctx['min_length']} item(s)"
    elif kind == "value_error":
        message = str(ctx["error"])
    else:
        message = f"{err['msg'][0].lower()}{err['msg'][1:]}, got {got}"
    return f"item {item}: {message}" if item is not None and kind != "missing" else message


def _show(value: Any) -> str:
    """A value as a person would write it in a message."""
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "nothing"
    if isinstance(value, int | float):
        return f"{value:g}" if float(f"{value:g}") == value else repr(value)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return repr(value)
        return value
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(model: type[BaseModel], path: Sequence[str]) -> type[BaseModel]:
    """The nested model a location points into (``block`` of a lot is a BlockRules)."""
    for part in path:
        info = model.model_fields.get(part)
        nested = nested_model(info.annotation) if info is not None else None
        if nested is None:
            return model
        model = nested
    return model


def nested_model(annotation: Any) -> type[BaseModel] | None:
    """The row model a field holds (``Lot.block`` -> BlockRules), or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = nested_model(arg)
            if found is not None:
                return found
    return None


def _named_field(model: type[BaseModel], message: str) -> list[str]:
    """The field a whole-row rule is about: the first field name its message mentions."""
    for word in message.replace("(", " ").replace(",", " ").split():
        if word in model.model_fields:
            return [word]
    return []


# --------------------------------------------------------------------------- entry point


def validate_path(path: str | Path) -> tuple[Instance | None, list[InputProblem]]:
    """Load and check an instance file without raising.

    Returns
    -------
    tuple[Instance | None, list[InputProblem]]
        The instance (``None`` when there is any problem) and every problem found.
    """
    # Imported here: allocator.instance.io uses this module to check what it loads.
    from allocator.instance.io import load_instance

    try:
        return load_instance(path), []
    except InstanceError as error:
        return None, error.problems



def notes(instance: Instance) -> list[str]:
    """What is valid but probably not meant: said by ``allocator validate`` after its ``ok``
    line, never a problem (the instance loads and solves as written).

    * An offer with ``if_awarded: LOT`` whose provider has neither a block bid nor a contract
      in force in LOT never has any capacity (DESIGN.md 9.1: capacity x y, with y = 0 for
      good); a misspelt provider or lot reads exactly like that.
    """
    holders = {(c.provider, c.lot) for c in instance.block_contracts}
    holders |= {(b.provider, b.lot) for b in instance.block_bids}
    said = []
    for offer in instance.offers:
        lot = offer.if_awarded
        if lot is not None and (offer.provider, lot) not in holders:
            said.append(f"offers, {offer.key}, field 'if_awarded': provider {offer.provider} has "
                        f"neither a block bid nor a contract in force in lot {lot}, so this "
                        "offer never has capacity (DESIGN.md 9.1)")
    return said
