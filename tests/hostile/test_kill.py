"""Kill tests: every writing command SIGKILLed at several moments, then run again.

Each command runs in a child process (``python -c KILLER POINT N -- ARGS``) that kills itself
with SIGKILL at an injected point: the N-th ``os.replace`` (a temporary file about to be
renamed into place), the N-th transaction commit or flush of the book, or after a delay (the
test kills it). Whatever the moment, afterwards:

* every file present is whole (JSON parses, CSV parses, XLSX opens, HTML is complete), and a
  file that existed before is either the old one or the new one;
* the book is consistent (an integrity check passes; nothing of the killed run or intake is
  half-recorded);
* a re-run completes (exit 0) and leaves no temporary file behind.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]
KILLER = r"""
import os, signal, sys
point, n, args = sys.argv[1], int(sys.argv[2]), sys.argv[4:]
calls = [0]

def maybe_die():
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)

if point == "replace":  # a finished temporary file or folder about to be renamed
    real_replace, real_rename = os.replace, os.rename
    def replace(a, b):
        maybe_die()
        return real_replace(a, b)
    def rename(a, b):
        maybe_die()
        return real_rename(a, b)
    os.replace, os.rename = replace, rename
elif point == "commit":
    from sqlalchemy.orm.session import SessionTransaction
    real_commit = SessionTransaction.commit
    def commit(self, *a, **k):
        maybe_die()
        return real_commit(self, *a, **k)
    SessionTransaction.commit = commit
elif point == "flush":  # rows sent to the database, the transaction not committed
    from sqlalchemy.orm import Session
    real_flush = Session.flush
    def flush(self, *a, **k):
        real_flush(self, *a, **k)
        maybe_die()
    Session.flush = flush
from allocator.cli.main import app
sys.argv = ["allocator", *args]
app()
"""


def run(args: list[str], cwd: Path, point: str = "none", n: int = 0,
        delay: float | None = None) -> subprocess.CompletedProcess | None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", KILLER, point, str(n), "--", *map(str, args)]
    if delay is None:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)
        assert "Traceback" not in done.stderr, done.stderr
        return done
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return None


def killed(done: subprocess.CompletedProcess | None) -> bool:
    return done is None or done.returncode == -signal.SIGKILL


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.name.endswith(".part") or ".part" in p.name)


def assert_whole(folder: Path) -> None:
    """Every result file present is complete."""
    if not folder.exists():
        return
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".csv":
            with path.open(newline="") as handle:
                rows = list(csv.reader(handle))
            assert rows and all(len(r) == len(rows[0]) for r in rows), path
        elif path.suffix == ".xlsx":
            openpyxl.load_workbook(path).close()
        elif path.suffix == ".html":
            assert path.read_text().rstrip().endswith("</html>"), path


@pytest.fixture
def market(tmp_path: Path) -> Path:
    target = tmp_path / "market.json"
    target.write_text((DATA / "small_market.json").read_text())
    return target


def test_solve_killed_at_any_moment(tmp_path: Path, market: Path) -> None:
    from allocator.core.params import SolveParams
    from allocator.core.problem import Problem
    from allocator.instance.io import load_instance
    from allocator.report.files import write_results
    from allocator.solvers import solve

    out = tmp_path / "out"
    args = ["solve", market, "--out", out, "--solver", "highs", "-q"]
    problem = Problem.from_instance(load_instance(market))  # an earlier run's files
    write_results(out, problem, solve(problem, SolveParams(solver="highs")))
    before = {p.name for p in out.iterdir()}
    for point, n, delay in (("replace", 1, None), ("replace", 7, None), ("none", 0, 2.0)):
        done = run(args, tmp_path, point, n, delay)
        assert killed(done), (point, n, done and done.stderr)
        assert_whole(out)
        assert {p.name for p in out.iterdir()} <= before
    assert leftovers(tmp_path)  # the killed runs did leave their temporaries...
    assert run(args, tmp_path).returncode == 0
    assert leftovers(tmp_path) == []  # ...and the re-run swept them
    assert {p.name for p in out.iterdir()} == before
    assert_whole(out)


def test_convert_killed(tmp_path: Path, market: Path) -> None:
    for target in ("m.xlsx", "tables"):
        args = ["convert", market, tmp_path / target]
        done = run(args, tmp_path, "replace", 1)
        assert killed(done)
        assert not (tmp_path / target).exists()  # nothing half-written under the name
        assert run(args, tmp_path).returncode == 0
        assert leftovers(tmp_path) == []
    openpyxl.load_workbook(tmp_path / "m.xlsx").close()
    assert run(["validate", tmp_path / "tables"], tmp_path).returncode == 0


@pytest.fixture
def book(tmp_path: Path, market: Path) -> str:
    """A book holding the small market (made in-process: the commands are tested elsewhere)."""
    from allocator.instance.io import load_instance
    from allocator.store.book import import_instance
    from allocator.store.engine import make_engine, transaction
    from allocator.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'book.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as session:
        import_instance(session, load_instance(market))
    engine.dispose()
    return url


def integrity(tmp_path: Path) -> list[tuple]:
    connection = sqlite3.connect(tmp_path / "book.db")
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        runs = connection.execute("SELECT count(*) FROM runs").fetchone()[0]
        suggestions = connection.execute("SELECT count(*) FROM suggestions").fetchone()[0]
        needs = connection.execute("SELECT count(*) FROM needs").fetchone()[0]
        return [runs, suggestions, needs]
    finally:
        connection.close()


def test_nightly_killed(tmp_path: Path, book: str) -> None:
    args = ["nightly", "--db", book, "--report-dir", tmp_path / "morning", "--time-limit", 20]
    start = integrity(tmp_path)
    for point, n in (("flush", 1), ("commit", 2)):
        done = run(args, tmp_path, point, n)
        assert killed(done), (point, n, done.stderr)
        counts = integrity(tmp_path)
        assert counts[:2] == start[:2] or (counts[0] == start[0] + 1 and counts[1] > 0), counts
    done = run(args, tmp_path, "replace", 1)  # the morning report's first file
    assert killed(done)
    assert_whole(tmp_path / "morning")
    done = run(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Optimal" not in done.stderr and "Interrupted" not in done.stderr
    assert leftovers(tmp_path) == []
    assert_whole(tmp_path / "morning")
    assert integrity(tmp_path)[0] >= 1


def test_referrals_add_killed(tmp_path: Path, book: str) -> None:
    referrals = tmp_path / "referrals.csv"
    referrals.write_text("id,kind,zone,service,complexity,care_group,quantity,priority\n"
                         "r1,package,z1,personal_care,less_complex,OP,6,standard\n"
                         "r2,package,z1,personal_care,less_complex,OP,-1,standard\n")
    args = ["referrals", "add", referrals, "--db", book]
    start = integrity(tmp_path)
    for point, n in (("flush", 1), ("replace", 1)):
        done = run(args, tmp_path, point, n)
        assert killed(done), (point, n, done.stderr)
        counts = integrity(tmp_path)
        assert counts[2] in (start[2], start[2] + 1), counts  # all of the file or nothing
        assert_whole(tmp_path)
    done = run(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert integrity(tmp_path)[2] == start[2] + 1
    assert leftovers(tmp_path) == []
    rejects = (tmp_path / "referrals.rejects.csv").read_text()
    assert "r2" in rejects and "quantity" in rejects


def test_design_killed(tmp_path: Path) -> None:
    doc = json.loads((DATA / "small_market.json").read_text())
    doc["block_bids"] = [{"provider": "p2", "lot": "L1", "rate": 21, "max_volume": 10}]
    market = tmp_path / "design.json"
    market.write_text(json.dumps(doc))
    out = tmp_path / "out"
    args = ["design", market, "--out", out, "--scenarios", 2, "--workers", 1,
            "--time-limit", 20, "-q"]
    done = run(args, tmp_path, "replace", 3)
    assert killed(done), done.stderr
    assert_whole(out)
    done = run(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert leftovers(tmp_path) == []
    assert_whole(out)
    assert (out / "result.json").exists() and (out / "instance.json").exists()
