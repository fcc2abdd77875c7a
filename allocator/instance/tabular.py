"""The instance as tables of cells: CSV folders and XLSX workbooks (DESIGN.md clarification 10).

Reading turns each file into a :class:`RawInstance` (rows of raw values, with where each came
from); :mod:`allocator.instance.io` validates those rows, the same way whichever format they
came from.
Writing flattens a validated instance into the same tables.

Layout, one CSV file or one sheet per table:

* ``zones``, ``providers``, ``offers``, ``needs``, ``lots``, ``block_contracts``,
  ``block_bids``: one row per row of the instance, columns named as the fields. List fields
  are ``;``-separated (``zones = Z1;Z2``); nested fields are dotted columns
  (``block.min_providers``); a lot whose ``block.*`` cells are all empty has no block.
* ``scenarios``: ``id, weight, demand_multiplier``; ``scenario_needs``: the needs columns plus
  ``scenario``. A scenario with rows in ``scenario_needs`` has its own needs. Extension: an
  optional ``own_needs`` column (true/false) marks a scenario whose own needs list is empty,
  the one case the rows alone cannot say.
* ``policy`` and ``instance``: two columns ``key, value``; nested keys dotted
  (``unmet_penalty.standard``, ``benchmark.problem``). ``instance`` holds ``schema_version``,
  ``name``, ``currency`` and the optional ``benchmark``.

An empty cell is an absent value (the field's default). ``zones``, ``providers``, ``offers``,
``needs`` and ``policy`` must be present (a header alone is fine); the other tables may be
left out when empty. Booleans read true/false, yes/no, 1/0 in any case.
"""

from __future__ import annotations

import csv
import io
import re
import types
import typing
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import BaseModel

from allocator.instance.cells import is_formula_like, neutralise, restore
from allocator.instance.errors import InputProblem
from allocator.instance.schema import TABLES, BenchmarkInfo, Instance, Need, Policy, Scenario
from allocator.instance.validate import nested_model

KEY_VALUE_TABLES = ("instance", "policy")
ROW_MODELS: dict[str, type[BaseModel]] = {**TABLES, "scenarios": Scenario, "scenario_needs": Need}
REQUIRED_TABLES = ("zones", "providers", "offers", "needs", "policy")
TABLE_ORDER = ("instance", *TABLES, "policy", "scenarios", "scenario_needs")
LIST_SEPARATOR = ";"
NOTE_COLUMNS = ("what it is", "note", "notes", "description")
# Sheets of a template (allocator.instance.template) that are not tables: the reader skips them.
HELPER_SHEETS = ("Instructions", "Lists")
# The unit or hint a template header shows in brackets after the column's words.
COLUMN_UNITS = {
    "quality": "0-100", "capacity": "hours a week", "provider": "id", "zone": "id",
    "price": "per hour or bed a week", "travel_factor": "1 or more", "care_groups": "; between",
    "scheme": "beds only", "quantity": "hours a week; 1 for a bed", "acceptable_zones":
    "; between", "current_provider": "id", "zones": "; between", "services": "; between",
    "complexities": "; between", "framework": "true/false", "reservation": "true/false",
    "block.min_share": "0-1", "block.max_share": "0-1", "block.min_quality": "0-100",
    "lot": "id", "rate": "per unit a week", "volume": "units a week",
    "min_volume": "units a week", "max_volume": "units a week", "award_cost": "a week",
    "own_needs": "true/false", "scenario": "id",
}
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass
class RawRow:
    """One row as read, before validation.

    where
        The row as a person counts it in the file ("row 5"; in CSV and XLSX the header is
        row 1).
    data
        Field name -> raw value (nested fields as nested dicts).
    cells
        Field name -> spreadsheet cell ("D5"), for messages (CSV and XLSX only).
    rows
        Key/value tables only: field name -> the row holding that key.
    """

    where: str
    data: dict[str, Any]
    cells: dict[str, str] = field(default_factory=dict)
    rows: dict[str, str] = field(default_factory=dict)


@dataclass
class RawInstance:
    """An instance as read from any format, before validation.

    tables
        Table name (those of :data:`ROW_MODELS`) -> rows; scenario needs are in
        ``scenario_needs`` with a ``scenario`` field, whatever the format.
    header
        ``schema_version``, ``name``, ``currency``, ``benchmark``.
    policy
        ``None`` when absent (the default policy).
    problems
        Found while reading: unknown tables or columns, missing tables, unreadable files.
    quiet_missing
        Table -> fields whose whole column is missing (reported once, not per row).
    broken
        Tables that could not be read at all (missing, unreadable, not a list of rows).
    """

    file: str
    tables: dict[str, list[RawRow]] = field(default_factory=dict)
    header: RawRow = field(default_factory=lambda: RawRow("", {}))
    policy: RawRow | None = None
    problems: list[InputProblem] = field(default_factory=list)
    quiet_missing: dict[str, set[str]] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    scenario_needs_table: str = "scenarios"

    def problem(self, table: str, row: str, field_: str, message: str) -> None:
        self.problems.append(InputProblem(self.file, table, row, field_, message))


# --------------------------------------------------------------------------- columns


def columns(table: str) -> dict[str, bool]:
    """The columns of a row table, in writing order: column name -> is it a list field."""
    model = ROW_MODELS[table]
    found: dict[str, bool] = {"scenario": False} if table == "scenario_needs" else {}
    for name, info in model.model_fields.items():
        if table == "scenarios" and name == "needs":
            continue
        nested = nested_model(info.annotation)
        if nested is not None:
            found.update({f"{name}.{sub}": False for sub in nested.model_fields})
        else:
            found[name] = _is_list(info.annotation)
    return found


def _required(table: str) -> list[str]:
    model = ROW_MODELS[table]
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    return ["scenario", *required] if table == "scenario_needs" else required


def column_title(name: str) -> str:
    """A column's header in words: ``care_group`` -> ``Care group``,
    ``block.min_share`` -> ``Block - min share (0-1)``; :func:`field_of_title` reads it back."""
    words = " - ".join(part.replace("_", " ") for part in name.split("."))
    words = words[:1].upper() + words[1:]
    unit = COLUMN_UNITS.get(name, "")
    return f"{words} ({unit})" if unit else words


def field_of_title(title: str) -> str:
    """Inverse of :func:`column_title` (also accepts the field name itself, in any case)."""
    text = re.sub(r"\s*\(.*\)\s*$", "", title.strip()).strip().lower()
    parts = [p.strip().replace(" ", "_") for p in text.split(" - ")]
    return ".".join(parts)


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return any(map(_is_list, typing.get_args(annotation)))
    if typing.get_origin(annotation) not in (list, tuple):
        return False
    # a ';'-separated cell holds ids and words, never rows (a scenario's own needs)
    return not any(isinstance(a, type) and issubclass(a, BaseModel)
                   for a in typing.get_args(annotation))


# --------------------------------------------------------------------------- reading


def read_csv_folder(path: Path, file: str) -> RawInstance:
    """Read a folder of ``<table>.csv`` files (UTF-8, with or without a byte-order mark).

    Cells that our writers neutralised (an apostrophe before text a spreadsheet would take for
    a formula, :mod:`allocator.instance.cells`) are read back as they were.
    """
    raw = RawInstance(file, scenario_needs_table="scenario_needs")
    grids: dict[str, list[list[str | None]]] = {}
    for csv_path in sorted(path.glob("*.csv")):
        try:
            data = csv_path.read_bytes()
            text = _decode(csv_path, data)
            grids[csv_path.stem] = [[restore(cell) for cell in row]
                                    for row in csv.reader(io.StringIO(text, newline=""))]
        except (_Undecodable, csv.Error, OSError) as error:
            raw.problem(csv_path.stem, getattr(error, "row", ""), "",
                        f"cannot read {csv_path.name}: {_os_reason(error)}")
            raw.broken.add(csv_path.stem)
    _read_grids(raw, grids, where="file {}.csv")
    return raw


class _Undecodable(ValueError):
    """A CSV file that is not UTF-8, located by row (as a person counts rows)."""

    def __init__(self, message: str, row: str) -> None:
        super().__init__(message)
        self.row = row


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # The row is the number of CSV records before the bad byte (quoted cells may span
        # lines), plus one; the column is the cell within that row.
        start = error.start
        before = data[:start].decode("utf-8-sig", errors="replace")
        records = list(csv.reader(io.StringIO(before, newline="")))
        row = max(len(records), 1)
        cell = len(records[-1]) if records else 1
        line_start = data.rfind(b"\n", 0, start) + 1
        line = data.count(b"\n", 0, start) + 1
        raise _Undecodable(
            f"row {row}, cell {get_column_letter(cell)}{row} is not UTF-8 text (byte "
            f"0x{data[start]:02x} at character {start - line_start + 1} of line "
            f"{line}); save the file as CSV UTF-8", f"row {row}",
        ) from None


def _os_reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower() if error.errno is not None else str(error)
    return str(error)


def read_xlsx(path: Path, file: str) -> RawInstance:
    """Read an XLSX workbook with one sheet per table (cells read as exact text).

    A cell holding a formula is reported (sheet, row, column, cell): the instance must hold
    values, and a formula's cached value may be missing or stale.
    """
    raw = RawInstance(file, scenario_needs_table="scenario_needs")
    try:
        workbook = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raw.problem("", "", "", f"not a readable XLSX workbook: {error}")
        return raw
    formulas: list[tuple[str, int, int, str]] = []
    try:
        grids = {}
        for sheet in workbook.worksheets:
            if sheet.title in HELPER_SHEETS:  # a template's instructions and lists
                continue
            # Some writers store a wrong sheet size; without it every row is read.
            sheet.reset_dimensions()
            grid = []
            for r, row in enumerate(sheet.iter_rows(), start=1):
                cells = []
                for c, cell in enumerate(row, start=1):
                    value = getattr(cell, "value", None)
                    if getattr(cell, "data_type", None) == "f":
                        formulas.append((sheet.title, r, c, str(value)))
                    cells.append(_cell_text(value))
                grid.append(cells)
            grids[sheet.title] = grid
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raw.problem("", "", "", f"not a readable XLSX workbook: {error}")
        return raw
    finally:
        workbook.close()
    for title, r, c, formula in formulas:
        head = grids[title][0] if grids[title] else []
        name = (head[c - 1] or "").strip() if c - 1 < len(head) and r > 1 else ""
        if title in ROW_MODELS:
            name = _column_name(name, columns(title))
        raw.problem(title, f"row {r}", name,
                    f"cell {get_column_letter(c)}{r} holds a formula ({formula[:60]}); "
                    "type the value itself")
    _read_grids(raw, grids, where="sheet '{}'")
    return raw


def _cell_text(value: Any) -> str | None:
    """An XLSX cell as text, exactly: validation then reads it as the field's type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Integer-valued floats are written as integers so that int fields accept them.
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return str(value)


def _read_grids(raw: RawInstance, grids: Mapping[str, list[list[str | None]]],
                where: str) -> None:
    for name, grid in grids.items():
        if name in KEY_VALUE_TABLES:
            row = _read_key_value(raw, name, grid)
            if row is None:
                raw.broken.add(name)
            elif name == "policy":
                raw.policy = row
            else:
                raw.header = row
                version = row.data.get("schema_version")
                if isinstance(version, str) and version.strip().isdigit():
                    row.data["schema_version"] = int(version)  # a Literal[1] takes no text
        elif name in ROW_MODELS:
            raw.tables[name] = _read_rows(raw, name, grid)
        else:
            raw.problem(name, "", "", f"unknown table '{name}' (the tables are "
                                      f"{', '.join(TABLE_ORDER)})")
    for name in REQUIRED_TABLES:
        if name not in grids and name not in raw.broken:
            raw.broken.add(name)
            raw.problem(name, "", "", f"missing table '{name}': add a {where.format(name)}"
                                      " (a header row alone is fine)")
    _mark_own_needs(raw)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _read_rows(raw: RawInstance, table: str, grid: list[list[str | None]]) -> list[RawRow]:
    known = columns(table)
    data_rows = [(n, cells) for n, cells in enumerate(grid[1:], start=2)
                 if not all(map(_blank, cells))]
    header = [_column_name((h or "").strip(), known) for h in (grid[0] if grid else [])]
    if data_rows and not any(header):
        raw.problem(table, "row 1", "", "row 1 must hold the column names")
        raw.broken.add(table)
        return []
    used: dict[int, str] = {}
    for index, name in enumerate(header):
        letter = get_column_letter(index + 1)
        if not name:
            if any(index < len(cells) and not _blank(cells[index]) for _, cells in data_rows):
                raw.problem(table, "row 1", "", f"column {letter} holds values but has no name")
        elif name in used.values():
            raw.problem(table, "row 1", name, f"column '{name}' appears twice (cell {letter}1)")
        elif name not in known and not (table == "scenarios" and name == "own_needs"):
            raw.problem(table, "row 1", name, f"unknown column '{name}' (cell {letter}1); the "
                                              f"columns of {table} are: {', '.join(known)}")
        else:
            used[index] = name
    missing = [name for name in _required(table) if name not in used.values()]
    if missing and data_rows:
        raw.quiet_missing[table] = set(missing)
        for name in missing:
            raw.problem(table, "row 1", name, f"required column '{name}' is missing")
    rows = []
    for number, cells in data_rows:
        row = RawRow(f"row {number}", {})
        for index, name in used.items():
            cell = cells[index] if index < len(cells) else None
            if cell is None or _blank(cell):
                continue
            value: str | list[str] = cell
            if known.get(name):
                value = [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]
            _set_dotted(row.data, name, value)
            row.cells[name] = f"{get_column_letter(index + 1)}{number}"
        rows.append(row)
    return rows


def _column_name(title: str, known: Mapping[str, bool]) -> str:
    """A header cell as a field name: the name itself, or its words (``Care group``,
    ``Price (per hour or bed a week)``, as :mod:`allocator.instance.template` writes them)."""
    if not title or title in known:
        return title
    name = field_of_title(title)
    return name if name in known or name == "own_needs" else title


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> bool:
    """Set ``a.b`` as ``data['a']['b']`` (first dot only); False if it clashes with ``a``."""
    head, dot, rest = key.partition(".")
    if not dot:
        if isinstance(data.get(head), dict):
            return False
        data[head] = value
        return True
    inner = data.setdefault(head, {})
    if not isinstance(inner, dict):
        return False
    inner[rest] = value
    return True


def _read_key_value(raw: RawInstance, table: str, grid: list[list[str | None]]) -> RawRow | None:
    row = RawRow("", {})
    header = [(h or "").strip().lower() for h in (grid[0] if grid else [])]
    while header and not header[-1]:
        header.pop()
    if len(header) == 3 and header[2] in NOTE_COLUMNS:  # the template's explanations
        header.pop()
    if header != ["key", "value"]:
        raw.problem(table, "row 1", "", f"the {table} table has two columns, 'key' and "
                                        f"'value'; found {header}")
        return None
    for number, cells in enumerate(grid[1:], start=2):
        key = (cells[0] or "").strip() if cells else ""
        value = cells[1] if len(cells) > 1 else None
        where = f"row {number}"
        if not key:
            if not _blank(value):
                raw.problem(table, where, "", "a value with no key")
            continue
        if key in row.rows:
            raw.problem(table, where, key, f"key '{key}' appears twice ({row.rows[key]} and "
                                           f"{where})")
            continue
        row.rows[key] = where
        row.cells[key] = f"B{number}"
        if not _blank(value) and not _set_dotted(row.data, key, value):
            raw.problem(table, where, key, f"key '{key}' clashes with another key of the same "
                                           "name")
    return row


def _mark_own_needs(raw: RawInstance) -> None:
    """Give the scenarios that have their own needs a ``needs`` list to fill in later."""
    named = {row.data.get("scenario") for row in raw.tables.get("scenario_needs", ())}
    for row in raw.tables.get("scenarios", ()):
        flag = row.data.pop("own_needs", None)
        own = None
        if flag is not None:
            own = flag.strip().lower() in _TRUE
            if not own and flag.strip().lower() not in _FALSE:
                raw.problem("scenarios", row.where, "own_needs",
                            f"must be true or false, got {flag!r}")
        has_rows = row.data.get("id") in named
        if own is False and has_rows:
            raw.problem("scenarios", row.where, "own_needs",
                        "is false but scenario_needs has rows for this scenario")
        if own or has_rows:
            row.data["needs"] = []


# --------------------------------------------------------------------------- writing


def instance_tables(instance: Instance) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The instance as tables of typed cells (None, bool, int, float, str), in file order.

    Raises
    ------
    ValueError
        If a list item contains the list separator ``;`` (it could not be read back).
    """
    tables: dict[str, tuple[list[str], list[list[Any]]]] = {}
    header: list[list[Any]] = [["schema_version", instance.schema_version],
                               ["name", instance.name], ["currency", instance.currency]]
    if instance.benchmark is not None:
        header += _dotted_pairs("benchmark", instance.benchmark, BenchmarkInfo)
    tables["instance"] = (["key", "value"], header)
    for table in TABLES:
        rows = getattr(instance, table)
        if rows or table in REQUIRED_TABLES:
            tables[table] = _row_table(table, rows)
    policy = instance.policy
    pairs = [[f"unmet_penalty.{k}", v] for k, v in policy.unmet_penalty.items()]
    pairs += [[name, getattr(policy, name)] for name in Policy.model_fields
              if name != "unmet_penalty"]
    tables["policy"] = (["key", "value"], pairs)
    if instance.scenarios:
        names, rows = _row_table("scenarios", instance.scenarios)
        if any(s.needs is not None and len(s.needs) == 0 for s in instance.scenarios):
            names.append("own_needs")
            for row, scenario in zip(rows, instance.scenarios, strict=True):
                row.append(scenario.needs is not None)
        tables["scenarios"] = (names, rows)
        own = [(s.id, need) for s in instance.scenarios for need in s.needs or ()]
        if own:
            tables["scenario_needs"] = _row_table("scenario_needs", own)
    return tables


def _dotted_pairs(prefix: str, row: BaseModel, model: type[BaseModel]) -> list[list[Any]]:
    return [[f"{prefix}.{name}", getattr(row, name)] for name in model.model_fields]


def _row_table(table: str, rows: Iterable[Any]) -> tuple[list[str], list[list[Any]]]:
    known = columns(table)
    out = []
    for item in rows:
        scenario, row = item if table == "scenario_needs" else (None, item)
        cells = []
        for name, is_list in known.items():
            if name == "scenario":
                cells.append(scenario)
                continue
            head, _, rest = name.partition(".")
            value = getattr(row, head)
            if rest:
                value = getattr(value, rest) if value is not None else None
            cells.append(_join(table, row, name, value) if is_list else value)
        out.append(cells)
    return list(known), out


def _join(table: str, row: Any, name: str, items: list[str] | None) -> str | None:
    if not items:
        return None
    for item in items:
        if LIST_SEPARATOR in item:
            raise ValueError(f"cannot write {table} '{getattr(row, 'id', None) or row}': "
                             f"{name} item {item!r} contains '{LIST_SEPARATOR}'")
    return LIST_SEPARATOR.join(items)


def csv_text(value: Any) -> str:
    """A cell as CSV text that reads back to the same value (floats repr-exact, text that a
    spreadsheet would run neutralised: :func:`allocator.instance.cells.neutralise`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return neutralise(str(value))


def write_csv_folder(instance: Instance, folder: Path) -> None:
    """Write one ``<table>.csv`` per table into an existing, empty folder."""
    for table, (names, rows) in instance_tables(instance).items():
        with (folder / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")  # quotes a bare CR too
            writer.writerow(names)
            writer.writerows([csv_text(v) for v in row] for row in rows)


def write_xlsx(instance: Instance, path: Path) -> None:
    """Write one sheet per table; numbers and booleans as native cells."""
    workbook = Workbook(write_only=True)
    for table, (names, rows) in instance_tables(instance).items():
        sheet = workbook.create_sheet(table)
        sheet.append(names)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    workbook.save(path)


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, str) and is_formula_like(value):
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # text, not a formula
        cell.quotePrefix = True  # and Excel keeps it text when a person edits it
        return cell
    if isinstance(value, float) and not isinstance(value, bool) and float(f"{value:.16g}") != value:
        # openpyxl writes numbers with 16 significant digits; a float that needs 17 is
        # written as its exact repr in a numeric cell so that the workbook is lossless.
        cell = WriteOnlyCell(sheet)
        cell._value = repr(value)
        cell.data_type = "n"
        return cell
    return value
