"""The catalogue of hostile inputs and broken stores, run through the CLI.

Every case in ``catalogue/*.json`` builds its files (:mod:`tests.hostile.builders`), runs one
command in-process (typer's CliRunner) and asserts: the exit code, each expected message
(precise substrings naming file, table, row, field or URL), no traceback, no exception
escaping, and nothing written (the folder holds exactly what it held before, byte for byte;
SQLite's own ``-wal``/``-shm`` companions aside).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from allocator.cli.main import app
from hostile.builders import MARKET, build

CATALOGUE = Path(__file__).resolve().parent / "catalogue"
CASES: list[dict[str, Any]] = [
    {**case, "file": path.name}
    for path in sorted(CATALOGUE.glob("*.json"))
    for case in json.loads(path.read_text())
]
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def test_the_catalogue_is_big_enough_and_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> dict[str, Path]:
    """A good book and a good result.json, made once (cases copy and damage them)."""
    from allocator.core.params import SolveParams
    from allocator.core.problem import Problem
    from allocator.instance.io import load_instance
    from allocator.report.files import write_results
    from allocator.solvers import solve
    from allocator.store.book import import_instance
    from allocator.store.engine import make_engine, transaction
    from allocator.store.migrate import upgrade

    folder = tmp_path_factory.mktemp("shared")
    inst = load_instance(MARKET)
    engine = make_engine(f"sqlite:///{folder / 'book.db'}")
    upgrade(engine)
    with transaction(engine) as session:
        import_instance(session, inst)
    engine.dispose()
    connection = sqlite3.connect(folder / "book.db")  # one file, no WAL beside it, to copy
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    problem = Problem.from_instance(inst)
    result = solve(problem, SolveParams(solver="highs", time_limit=30))
    write_results(folder / "result", problem, result, formats=("json",))
    return {"book": folder / "book.db", "result": folder / "result" / "result.json"}


def snapshot(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.name.endswith(SQLITE_COMPANIONS):
            continue
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            found[rel] = "link"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha1(path.read_bytes()).hexdigest()
    return found


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], tmp_path: Path, shared: dict[str, Path]) -> None:
    names = build(case["setup"], tmp_path, shared)
    args = [a.format(**names) for a in case["args"]]
    before = snapshot(tmp_path)
    result = CliRunner().invoke(app, args)
    output = result.output
    command = "allocator " + shlex.join(args)
    assert result.exit_code == case["exit"], f"{command}\n{output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{command}: {result.exception!r}")
    assert "Traceback" not in output, output
    for expected in case["expect"]:
        assert expected in output, f"{command}\nexpected {expected!r} in:\n{output}"
    assert snapshot(tmp_path) == before, f"{command} wrote something"
