"""An Excel template for a market: every sheet, headers in words, drop-down lists, examples.

``allocator template FILE.xlsx`` writes it. A commissioner fills it in without reading
DESIGN.md: an *Instructions* sheet says what each sheet and column is; each table sheet has its
columns in words (with the unit in brackets), a note on every header cell, drop-down lists for
the vocabularies (services, complexities, care groups, units, kinds, priorities, true/false)
and for the ids entered elsewhere (zones once typed in the zones sheet, providers, lots,
scenarios), and one worked example row, consistent across sheets, to copy or overwrite.

The filled workbook is read by :func:`allocator.instance.tabular.read_xlsx` like any other:
headers in words are mapped back to the field names
(:func:`allocator.instance.tabular.field_of_title`), the *Instructions* and *Lists* sheets
are skipped, and problems are reported by sheet, row and
cell. ``allocator convert FILE.xlsx market.json`` turns it into the canonical JSON.

Drop-down lists for single values only: list fields (a need's acceptable zones, a lot's zones,
services and complexities, an offer's care groups) hold several values separated by ``;``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from allocator.instance.atomic import replace_file
from allocator.instance.schema import CareGroup, Complexity, Service
from allocator.instance.tabular import TABLE_ORDER, column_title, columns

ROWS = 1000  # rows the drop-down lists and reference ranges cover
PRIORITIES = ("standard", "urgent", "hospital_discharge")

# Column -> the note shown on its header cell (the unit in brackets is tabular.COLUMN_UNITS).
NOTES: dict[str, str] = {
    "id": "A short unique code for this row (letters, digits, - or _).",
    "name": "A name people recognise (optional).",
    "quality": "Quality score, 0 (worst) to 100 (best), e.g. from CQC ratings.",
    "capacity": ('Capacity. Providers: total hours a week across their hours offers'
                 ' (optional). Offers: hours, or beds, a week.'),
    "cqc_rating": "CQC rating, as text (optional; not used in the optimisation).",
    "provider": "The provider's id, from the providers sheet.",
    "zone": "The zone's id, from the zones sheet.",
    "service": "personal_care, individual_support, group_support or supported_living.",
    "unit": "hours (care at home) or beds (placements, supported living).",
    "price": "The framework price per unit per week.",
    "max_complexity": "The most complex needs this offer takes.",
    "travel_factor": "Hours of capacity used per hour of care (travel). 1 when empty; hours "
                     "offers only (a beds offer leaves it empty or 1).",
    "care_groups": "Care groups served, separated by ; (empty: any).",
    "scheme": "Scheme id for supported-living or residential beds (optional).",
    "kind": "package (hours at home) or placement (one bed).",
    "complexity": "less_complex, complex or highly_complex.",
    "care_group": "OP, OPMH, PD, LD, MH or Autism.",
    "quantity": "How much care the person needs each week (hours); a placement is 1 bed "
                "(empty: 1).",
    "priority": ('standard, urgent, hospital_discharge, ...: each needs a penalty on the'
                 ' policy sheet (unmet_penalty.<priority>).'),
    "acceptable_zones": ('Other zones the person may be served in, separated by ; (empty:'
                         ' own zone only).'),
    "current_provider": "The provider serving the person now (optional).",
    "zones": "Zone ids separated by ;",
    "services": "Services separated by ;",
    "complexities": "Complexities separated by ;",
    "framework": "false: needs in this lot are served only out of block volume.",
    "reservation": ('true: block volume reserves capacity but each use is still paid at'
                    ' the offer price (rarely needed).'),
    "block.min_providers": "Design: at least this many providers win block volume.",
    "block.max_providers": "Design: at most this many providers (empty: no limit).",
    "block.min_share": "Design: block volume at least this share of the lot's demand.",
    "block.max_share": "Design: block volume at most this share of the lot's demand.",
    "block.min_quality": "Design: providers below this quality win no block volume.",
    "lot": "The lot's id, from the lots sheet.",
    "rate": "Block rate per hour or bed a week.",
    "volume": "Block volume in force (hours or beds a week).",
    "min_volume": "Smallest volume the bid accepts.",
    "max_volume": "Largest volume the bid offers.",
    "award_cost": "Fixed weekly cost of letting this contract.",
    "weight": "How likely the scenario is (the weights sum to 1).",
    "demand_multiplier": ("Every need's quantity times this (leave empty when the scenario"
                          ' has its own needs).'),
    "own_needs": "true: the scenario's needs are its rows on scenario_needs.",
    "scenario": "The scenario's id, from the scenarios sheet.",
}

SHEET_NOTES = {
    "instance": "The market's name and currency (key/value rows; leave schema_version at 1).",
    "zones": "The areas of the county. Ids entered here appear in every zone drop-down.",
    "providers": "Every provider, with its quality score.",
    "offers": "What each provider offers in each zone: service, unit, price, capacity.",
    "needs": "The people needing care this week (one row a person).",
    "lots": "Lots: groups of zones x services x complexities bought together (optional).",
    "block_contracts": "Block contracts in force (optional).",
    "block_bids": "Candidate block contracts for a design run (optional).",
    "policy": "Penalties and rules (key/value rows). unmet_penalty.<priority>: cost of leaving "
              "an hour or bed of that priority unmet for a week.",
    "scenarios": "Demand scenarios for design runs (optional).",
    "scenario_needs": "A scenario's own needs, when it does not scale the main ones (optional).",
}

EXAMPLE: dict[str, dict[str, Any]] = {
    "zones": {"id": "Z1", "name": "Example zone (replace)"},
    "providers": {"id": "P1", "name": "Example provider (replace)", "quality": 75,
                  "capacity": 400},
    "offers": {"id": "P1-Z1-pc", "provider": "P1", "zone": "Z1", "service": "personal_care",
               "unit": "hours", "price": 24.5, "capacity": 300,
               "max_complexity": "highly_complex", "travel_factor": 1.1},
    "needs": {"id": "N1", "kind": "package", "zone": "Z1", "service": "personal_care",
              "complexity": "complex", "care_group": "OP", "quantity": 10.5,
              "priority": "standard"},
    "lots": {"id": "L1", "name": "Example lot", "unit": "hours", "zones": "Z1",
             "services": "personal_care", "complexities": "less_complex;complex",
             "framework": "true"},
    "block_contracts": {"provider": "P1", "lot": "L1", "rate": 22, "volume": 50},
    "block_bids": {"provider": "P1", "lot": "L1", "rate": 21, "min_volume": 20,
                   "max_volume": 120},
    "scenarios": {"id": "S1", "weight": 0.5, "demand_multiplier": 1.1},
    "scenario_needs": {"scenario": "S2", "id": "N1", "kind": "package", "zone": "Z1",
                       "service": "personal_care", "complexity": "complex",
                       "care_group": "OP", "quantity": 12},
}
EXTRA_EXAMPLE_ROWS = {"scenarios": [{"id": "S2", "weight": 0.5, "own_needs": "true"}]}
KEY_VALUES: dict[str, list[tuple[str, Any, str]]] = {
    "instance": [("schema_version", 1, "Always 1."),
                 ("name", "Example market (replace)", "The market's name."),
                 ("currency", "GBP", "Currency of every price and penalty.")],
    "policy": [
        ("unmet_penalty.standard", 60, "Cost of an unmet hour (or bed) a week, standard need."),
        ("unmet_penalty.urgent", 120, "The same for urgent needs."),
        ("unmet_penalty.hospital_discharge", 200, "The same for hospital discharges."),
        ("transfer_penalty", 0, "One-off cost of moving someone from their current provider."),
        ("quality_weight", 0, "Cost per unit at quality 0, falling to 0 at quality 100."),
        ("out_of_zone_penalty", 0, "Cost per unit served outside the person's zone."),
        ("min_framework_quality", 0, "Providers below this quality get no spot work."),
        ("max_provider_share", None, "Cap on one provider's share of a lot (0-1; empty: none)."),
        ("objective", "weighted", "weighted, or lexicographic (unmet first, then cost)."),
    ],
}
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "service": tuple(s.value for s in Service),
    "complexity": tuple(c.value for c in Complexity),
    "care_group": tuple(g.value for g in CareGroup),
    "unit": ("hours", "beds"),
    "kind": ("package", "placement"),
    "priority": PRIORITIES,
    "boolean": ("true", "false"),
    "objective": ("weighted", "lexicographic"),
}
# Column -> vocabulary (on the Lists sheet) or the id column of another sheet.
DROP_DOWNS: dict[str, str] = {
    "service": "service", "max_complexity": "complexity", "complexity": "complexity",
    "care_group": "care_group", "unit": "unit", "kind": "kind", "priority": "priority",
    "framework": "boolean", "reservation": "boolean", "own_needs": "boolean",
    "zone": "@zones", "provider": "@providers", "current_provider": "@providers",
    "lot": "@lots", "scenario": "@scenarios",
}


def write_template(path: str | Path) -> Path:
    """Write the market template workbook (atomically) and return its path."""
    return replace_file(path, _write)


def _write(path: Path) -> None:
    book = Workbook()
    intro = book.active
    intro.title = "Instructions"
    _instructions(intro, Font)
    lists = book.create_sheet("Lists")
    list_ranges: dict[str, str] = {}
    for col, (name, values) in enumerate(VOCABULARIES.items(), start=1):
        letter = get_column_letter(col)
        lists.cell(1, col, name).font = Font(bold=True)
        for row, value in enumerate(values, start=2):
            lists.cell(row, col, value)
        list_ranges[name] = f"Lists!${letter}$2:${letter}${len(values) + 1}"
        lists.column_dimensions[letter].width = 22
    header_fill = PatternFill("solid", fgColor="DDE7F5")
    bold = Font(bold=True)
    for table in TABLE_ORDER:
        sheet = book.create_sheet(table)
        if table in KEY_VALUES:
            sheet.append(["key", "value", "what it is"])
            for key, value, note in KEY_VALUES[table]:
                sheet.append([key, value, note])
            for cell in sheet[1]:
                cell.font, cell.fill = bold, header_fill
            sheet.column_dimensions["A"].width = 36
            sheet.column_dimensions["B"].width = 26
            sheet.column_dimensions["C"].width = 70
            sheet.freeze_panes = "A2"
            if table == "policy":
                row = 2 + [k for k, _, _ in KEY_VALUES["policy"]].index("objective")
                dv = DataValidation(type="list", formula1=list_ranges["objective"],
                                    allow_blank=True)
                sheet.add_data_validation(dv)
                dv.add(f"B{row}")
            continue
        names = list(columns(table))
        if table == "scenarios":
            names.append("own_needs")
        sheet.append([column_title(n) for n in names])
        for col, name in enumerate(names, start=1):
            cell = sheet.cell(1, col)
            cell.font, cell.fill = bold, header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            note = NOTES.get(name, "")
            if note:
                cell.comment = Comment(f"{name}: {note}", "allocator", width=300, height=90)
            sheet.column_dimensions[get_column_letter(col)].width = max(
                12, min(32, len(column_title(name)) + 2))
        for example in [EXAMPLE.get(table, {}), *EXTRA_EXAMPLE_ROWS.get(table, [])]:
            if example:
                sheet.append([example.get(n) for n in names])
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{ROWS}"
        for col, name in enumerate(names, start=1):
            source = DROP_DOWNS.get(name)
            if source is None:
                continue
            letter = get_column_letter(col)
            if source.startswith("@"):
                formula = f"{source[1:]}!$A$2:$A${ROWS}"  # the ids as entered there
                if source == "@scenarios" and table == "scenarios":
                    continue
            else:
                formula = list_ranges[source]
            dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                                showErrorMessage=True,
                                errorStyle="warning" if name == "priority" else "stop",
                                promptTitle=column_title(name)[:32],
                                prompt=NOTES.get(name, "")[:255], showInputMessage=True)
            dv.error = "Pick a value from the list" + (
                " (or add the priority to the policy sheet)" if name == "priority" else "")
            sheet.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{ROWS}")
    book.save(path)


def _instructions(sheet: Any, font: Any) -> None:
    lines: list[tuple[str, str]] = [
        ("A market for the care allocator", ""),
        ("", ""),
        ("How to fill it in", ""),
        ("1.", "Fill the sheets from left to right: zones, providers, offers, needs, then "
               "the optional ones. Row 2 of each sheet is a worked example: overwrite or "
               "delete it."),
        ("2.", "Columns with a drop-down list take one value from it. Zone, provider, lot and "
               "scenario lists show the ids you typed in those sheets."),
        ("3.", "Columns marked '; between' take several values separated by ; (e.g. Z1;Z2)."),
        ("4.", "Leave a cell empty for 'not given'; every amount is per week, money in the "
               "currency of the instance sheet."),
        ("5.", "Type values, not formulas: a formula cell is reported as a problem."),
        ("6.", "Check it: allocator validate FILE.xlsx (each problem names the sheet, row and "
               "cell). Solve it: allocator solve FILE.xlsx. Keep the canonical copy: "
               "allocator convert FILE.xlsx market.json."),
        ("", ""),
        ("Sheets", ""),
    ]
    lines += [(name, text) for name, text in SHEET_NOTES.items()]
    lines += [("", ""), ("Lists", "The vocabularies behind the drop-down lists (read only).")]
    for left, right in lines:
        sheet.append([left, right])
    sheet["A1"].font = font(bold=True, size=14)
    for row in (3, 12):
        sheet.cell(row, 1).font = font(bold=True)
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 110


def vocabularies() -> Mapping[str, tuple[str, ...]]:
    """The drop-down vocabularies of the template (for documentation and tests)."""
    return dict(VOCABULARIES)
