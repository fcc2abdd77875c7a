"""Reading and writing instances: JSON (canonical), a folder of CSV files, an XLSX workbook.

:func:`load_instance` validates every row on its own, collects every problem (never stopping at
the first), runs the cross-table checks of
:func:`allocator.instance.validate.check_references` on the rows that parsed, and raises one
:class:`~allocator.instance.errors.InstanceError` carrying them all.

The formats are lossless with respect to each other: JSON -> XLSX -> CSV -> JSON gives back an
equal instance. To make that true, loading normalises what the tables cannot tell apart: in
every format, an empty list, an empty string and ``null`` in an optional field mean the field
is absent (``acceptable_zones: []`` is read as no list, i.e. the need's own zone;
``care_groups: null`` as no restriction), and an empty CSV/XLSX cell is an absent value.
The one exception is a scenario's own ``needs``: an empty list there is a scenario with no
demand, kept as such.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.instance.atomic import replace_file, staging_folder, temp_name
from allocator.instance.errors import InputProblem, InstanceError
from allocator.instance.schema import TABLES, Instance, Need, Policy, Scenario
from allocator.instance.tabular import (
    RawInstance,
    RawRow,
    read_csv_folder,
    read_xlsx,
    write_csv_folder,
    write_xlsx,
)
from allocator.instance.validate import (
    InstanceParts,
    Placed,
    ScenarioNeed,
    check_references,
    describe_errors,
    nested_model,
)

Format = Literal["json", "csv", "xlsx"]
HEADER_FIELDS = ("schema_version", "name", "currency", "benchmark")
# An empty own-needs list is a scenario with no demand at all, not an absent list.
KEEP_EMPTY = {(Scenario, "needs")}
JSON_TABLES = (*TABLES, "scenarios")


def load_instance(path: str | Path) -> Instance:
    """Load and validate an instance from a ``.json`` file, an ``.xlsx`` workbook or a folder.

    Raises
    ------
    InstanceError
        With every problem found: each names the file, table, row and field.
    """
    instance, problems = _read_instance(path)
    if problems or instance is None:
        raise InstanceError(problems)
    return instance


def save_instance(instance: Instance, path: str | Path, fmt: Format | None = None) -> None:
    """Write an instance; the format is ``fmt``, else inferred from the suffix.

    ``.json`` gives canonical JSON (fields in schema order, absent optional values left out),
    ``.xlsx`` a workbook, anything else a folder of CSV files. The target is replaced only
    once the new file is complete: a failed save leaves an existing target untouched.
    """
    target = Path(path)
    fmt = fmt or _format_of(target)
    if fmt == "csv":
        _replace_folder(target, lambda folder: write_csv_folder(instance, folder))
    elif fmt == "xlsx":
        _replace_file(target, lambda tmp: write_xlsx(instance, tmp))
    elif fmt == "json":
        _replace_file(target, lambda tmp: tmp.write_text(dump_json(instance), encoding="utf-8"))
    else:
        raise ValueError(f"unknown instance format {fmt!r} (json, csv or xlsx)")


def convert(src: str | Path, dst: str | Path) -> None:
    """Load ``src`` (validated) and save it as ``dst``, formats from their suffixes."""
    save_instance(load_instance(src), dst)


def dump_json(instance: Instance) -> str:
    """The canonical JSON text of an instance."""
    document = instance.model_dump(mode="json", exclude_none=True)
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _format_of(path: Path) -> Format:
    suffix = path.suffix.lower()
    return "json" if suffix == ".json" else "xlsx" if suffix == ".xlsx" else "csv"


# --------------------------------------------------------------------------- atomic writes


def _replace_file(target: Path, write: Callable[[Path], Any]) -> None:
    replace_file(target, write)


def _replace_folder(target: Path, write: Callable[[Path], Any]) -> None:
    if target.exists():
        # The whole folder is replaced (a table left over from an older instance would be
        # read back), so refuse a folder that holds anything but tables.
        if not target.is_dir():
            raise ValueError(f"{target} exists and is not a folder")
        others = [p.name for p in target.iterdir() if p.suffix != ".csv" or not p.is_file()]
        if others:
            raise ValueError(f"{target} holds files other than CSV tables ({', '.join(others)});"
                             " not replacing it")
    with staging_folder(target) as tmp:
        write(tmp)
        old = temp_name(target)  # named like any temporary: a killed run's is swept
        if target.exists():
            target.rename(old)
        try:
            tmp.rename(target)
        except OSError:
            if old.exists():
                old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- reading


def _read_instance(path: str | Path) -> tuple[Instance | None, list[InputProblem]]:
    file = str(path)
    source = Path(path)
    try:
        source.stat()
    except OSError as error:
        return None, [InputProblem(file, "", "", "", _stat_problem(source, error))]
    if source.is_dir():
        raw = read_csv_folder(source, file)
    elif source.suffix.lower() == ".xlsx":
        raw = read_xlsx(source, file)
    elif source.suffix.lower() == ".json":
        raw = _read_json(source, file)
    else:
        message = "unknown file type: give a .json file, an .xlsx workbook or a folder of CSVs"
        return None, [InputProblem(file, "", "", "", message)]
    return _assemble(raw)


def _stat_problem(path: Path, error: OSError) -> str:
    """Why a path cannot be opened, in words (a symlink loop is not "file not found")."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop: the link leads back to itself, not to a file"
    if error.errno == errno.ENOENT:
        if path.is_symlink():
            return f"broken symbolic link (it points to {os.readlink(path)}, which does not exist)"
        return "file not found"
    if error.errno == errno.EACCES:
        return "permission denied"
    if error.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return f"cannot open: {error.strerror or error}"


MAX_JSON_DEPTH = 20  # an instance is 4 levels deep (policy.unmet_penalty.priority); room to spare


def _too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The line where the brackets first nest deeper than ``limit``, else None.

    Checked before parsing: the standard parser recurses once per level and a 2 KB file
    nested 1,000 deep ends in a RecursionError. Strings are cut out first (in C, by a regular
    expression; a JSON string holds no raw newline, so line numbers are kept), then only the
    brackets are walked.
    """
    skeleton = _JSON_STRING.sub('""', text)
    depth = 0
    for match in _BRACKET.finditer(skeleton):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return skeleton.count("\n", 0, match.start()) + 1
        else:
            depth -= 1
    return None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _read_json(path: Path, file: str) -> RawInstance:
    raw = RawInstance(file)
    try:
        text = path.read_text(encoding="utf-8-sig")
        deep = _too_deep(text)
        if deep is not None:
            raw.problem("", "", "", f"nested more than {MAX_JSON_DEPTH} levels deep (line "
                                    f"{deep}): not an instance")
            return raw
        document = json.loads(text)
    except RecursionError:  # pragma: no cover - the depth check comes first
        raw.problem("", "", "", "nested too deep: not an instance")
        return raw
    except json.JSONDecodeError as error:
        raw.problem("", "", "", f"not valid JSON: {error.msg} (line {error.lineno}, "
                                f"column {error.colno})")
        return raw
    except UnicodeDecodeError as error:
        data = path.read_bytes()
        line = data.count(b"\n", 0, error.start) + 1
        raw.problem("", "", "", f"not UTF-8 text: byte 0x{data[error.start]:02x} on line "
                                f"{line}; save the file as UTF-8")
        return raw
    except OSError as error:
        raw.problem("", "", "", f"cannot read the file: {error.strerror or error}")
        return raw
    if not isinstance(document, dict):
        raw.problem("", "", "", "an instance is a JSON object with one key per table")
        return raw
    for key, value in document.items():
        if key in HEADER_FIELDS:
            raw.header.data[key] = value
        elif key == "policy":
            raw.policy = RawRow("", value)
        elif key in JSON_TABLES:
            if not isinstance(value, list):
                raw.problem(key, "", "", "must be a list of rows")
                raw.broken.add(key)
                continue
            raw.tables[key] = [RawRow(f"row {i}", row) for i, row in enumerate(value, start=1)]
        else:
            raw.problem(key, "", "", f"unknown table or field '{key}' (the tables are "
                                     f"{', '.join((*JSON_TABLES, 'policy'))})")
    for key in ("zones", "providers", "offers", "needs"):
        if key not in document:
            raw.problem(key, "", "", f"missing table '{key}' (an empty list is fine)")
            raw.broken.add(key)
    raw.tables["scenario_needs"] = list(_nested_scenario_needs(raw))
    return raw


def _nested_scenario_needs(raw: RawInstance) -> list[RawRow]:
    """Move each scenario's own needs out into rows naming their scenario."""
    found = []
    for row in raw.tables.get("scenarios", ()):
        needs = row.data.get("needs") if isinstance(row.data, dict) else None
        scenario = row.data.get("id") if isinstance(row.data, dict) else None
        # Without an id the needs stay nested: the scenario's own problem says what is wrong.
        if isinstance(needs, list) and isinstance(scenario, str):
            # An empty placeholder keeps the scenario's own rule (multiplier or needs) checked.
            row.data["needs"] = []
            for i, need in enumerate(needs, start=1):
                data = {**need, "scenario": scenario} if isinstance(need, dict) else need
                found.append(RawRow(f"row {i}", data))
    return found


# --------------------------------------------------------------------------- validation


def _assemble(raw: RawInstance) -> tuple[Instance | None, list[InputProblem]]:
    """Validate the raw rows; build the instance if nothing is wrong."""
    problems = list(raw.problems)
    parts = InstanceParts(scenario_needs_table=raw.scenario_needs_table, broken=raw.broken)
    for table in (*TABLES, "scenarios"):
        model = Scenario if table == "scenarios" else TABLES[table]
        rows = raw.tables.get(table, [])
        parsed = _parse_rows(raw, table, model, rows, problems)
        parts.rows[table] = [Placed(rows[i].where, row) for i, row in parsed.items()]
        parts.failed_ids[table] = {_row_label(row.data, "") for i, row in enumerate(rows)
                                   if i not in parsed}
    parts.scenario_needs = _parse_scenario_needs(raw, problems)
    # A policy table missing from a folder or workbook, or unreadable, is already reported:
    # it must not also report every priority as having no penalty.
    if "policy" not in raw.broken:
        parts.policy = _parse_one(raw, "policy", Policy, raw.policy or RawRow("", {}), problems)
    header = _parse_header(raw, problems)
    problems += check_references(parts, raw.file)
    if problems or header is None or parts.policy is None:
        return None, problems
    return _build(parts, header), []


def _parse_scenario_needs(raw: RawInstance, problems: list[InputProblem]) -> list[ScenarioNeed]:
    table = raw.scenario_needs_table
    rows, scenarios = [], []
    for row in raw.tables.get("scenario_needs", []):
        data = dict(row.data) if isinstance(row.data, dict) else {}
        scenario = data.pop("scenario", None)
        if not (isinstance(scenario, str) and scenario.strip()):
            if "scenario" not in raw.quiet_missing.get(table, ()):
                problems.append(InputProblem(raw.file, table, _row_label(data, row.where),
                                             "scenario", "is required"))
            continue
        rows.append(RawRow(row.where, data, row.cells))
        scenarios.append(scenario.strip())
    prefixes = [f"in scenario '{scenario}': " for scenario in scenarios]
    parsed = _parse_rows(raw, table, Need, rows, problems, prefixes)
    return [ScenarioNeed(scenarios[i], rows[i].where, need) for i, need in parsed.items()]


def _normalise(model: type[BaseModel], data: Any) -> Any:
    """Drop optional values that mean "absent": None, "" and [] (see the module docstring)."""
    if not isinstance(data, dict):
        return data
    clean = data
    for name, nested in _optional_fields(model).items():
        if name not in data:
            continue
        value = data[name]
        if value is None or value == "" or value == []:
            clean = {k: v for k, v in clean.items() if k != name}
        elif nested is not None and isinstance(value, dict):
            clean = {**clean, name: _normalise(nested, value)}
    return clean


@cache
def _optional_fields(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """The fields whose default is None or [] (so an empty value means absent), with the
    model nested in each."""
    found = {}
    for name, info in model.model_fields.items():
        if info.is_required() or (model, name) in KEEP_EMPTY:
            continue
        if info.get_default(call_default_factory=True) in (None, []):
            found[name] = nested_model(info.annotation)
    return found


def _row_label(data: Any, where: str) -> str:
    row_id = data.get("id") if isinstance(data, dict) else None
    return row_id.strip() if isinstance(row_id, str) and row_id.strip() else where


def _parse_rows(raw: RawInstance, table: str, model: type[BaseModel], rows: Sequence[RawRow],
                problems: list[InputProblem],
                prefixes: Sequence[str] | None = None) -> dict[int, Any]:
    """Validate each row on its own: index -> parsed row for those that pass.

    The others' problems are appended to ``problems``, each message after its prefix.
    """
    datas = [_normalise(model, row.data) for row in rows]
    try:
        # Fast path: one call validates a whole table when it is clean.
        return dict(enumerate(TypeAdapter(list[model]).validate_python(datas)))  # type: ignore[valid-type]
    except ValidationError:
        pass
    parsed = {}
    for i, (row, data) in enumerate(zip(rows, datas, strict=True)):
        try:
            parsed[i] = model.model_validate(data)
        except ValidationError as error:
            problems += describe_errors(
                error, file=raw.file, table=table, model=model, row=_row_label(data, row.where),
                cells=row.cells or None, prefix=prefixes[i] if prefixes else "",
                quiet_missing=raw.quiet_missing.get(table, set()),
            )
    return parsed


def _parse_one(raw: RawInstance, table: str, model: type[BaseModel], row: RawRow,
               problems: list[InputProblem]) -> Any:
    try:
        return model.model_validate(_normalise(model, row.data))
    except ValidationError as error:
        problems += describe_errors(error, file=raw.file, table=table, row=row.where,
                                    model=model, cells=row.cells or None, rows=row.rows)
        return None


def _parse_header(raw: RawInstance, problems: list[InputProblem]) -> dict[str, Any] | None:
    # The top-level fields are checked by the Instance model itself, on empty tables.
    empty: dict[str, list[Any]] = {"zones": [], "providers": [], "offers": [], "needs": []}
    data = {**_normalise(Instance, raw.header.data), **empty}
    shell = _parse_one(raw, "instance", Instance, RawRow(raw.header.where, data,
                                                        raw.header.cells, raw.header.rows),
                       problems)
    if shell is None:
        return None
    return {name: getattr(shell, name) for name in HEADER_FIELDS}


def _build(parts: InstanceParts, header: dict[str, Any]) -> Instance:
    own: dict[str, list[Need]] = {}
    for item in parts.scenario_needs:
        own.setdefault(item.scenario, []).append(item.need)
    scenarios = [
        placed.row if placed.row.needs is None
        else placed.row.model_copy(update={"needs": tuple(own.get(placed.row.id, ()))})
        for placed in parts.table("scenarios")
    ]
    tables = {table: [placed.row for placed in parts.table(table)] for table in TABLES}
    # Rows are already validated model instances: pydantic does not validate them again.
    return Instance.model_validate(
        {**header, **tables, "policy": parts.policy, "scenarios": scenarios}
    )
