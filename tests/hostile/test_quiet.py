"""Quiet solvers, live progress, --version, URL checks and whole files with the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator.cli.main import app
from allocator.core.progress import Progress, listening, report
from allocator.instance.atomic import leftovers, replacing, sweep, write_text
from allocator.store.health import StoreError, check_url

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = Path(__file__).resolve().parents[2]


def test_json_output_is_only_json_with_highs(tmp_path):
    """highspy prints a banner on fd 1 when its first Highs object is made: not on ours."""
    done = subprocess.run(
        [sys.executable, "-m", "allocator", "solve", str(DATA / "small_market.json"),
         "--solver", "highs", "--json", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "HiGHS" not in done.stdout and "Running" not in done.stdout
    fields = json.loads(done.stdout)
    assert fields["status"] == "optimal"


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.startswith("allocator ")


def test_progress_reaches_listeners_and_survives_their_errors():
    seen: list[Progress] = []

    def broken(_event: Progress) -> None:
        raise RuntimeError("a display that fails must not stop the solve")

    with listening(seen.append), listening(broken):
        report(1.5, 110.0, 100.0, "test")
    report(2.0, 105.0, 100.0, "nobody listens")
    assert [(e.objective, e.bound, e.source) for e in seen] == [(110.0, 100.0, "test")]
    assert seen[0].gap == pytest.approx(10 / 110)


def test_a_highs_solve_reports_progress():
    from allocator.core.params import SolveParams
    from allocator.core.problem import Problem
    from allocator.instance.io import load_instance
    from allocator.solvers import solve

    problem = Problem.from_instance(load_instance(DATA / "small_market.json"))
    seen: list[Progress] = []
    with listening(seen.append):
        result = solve(problem, SolveParams(solver="highs"))
    assert seen and seen[-1].objective == pytest.approx(result.objective, rel=1e-6)


@pytest.mark.parametrize(("url", "words"), [
    ("notaurl", "is not a database URL"),
    ("sqlite:///{tmp}/missing/book.db", "missing does not exist"),
    ("oracle://u@h/x", "unsupported database 'oracle'"),
    ("sqlite:///{tmp}", "is a folder, not a database file"),
])
def test_check_url_refuses_before_creating_anything(tmp_path, url, words):
    with pytest.raises(StoreError, match=words):
        check_url(url.format(tmp=tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_check_url_accepts_paths_and_urls(tmp_path):
    assert check_url(str(tmp_path / "book.db")) == f"sqlite:///{tmp_path / 'book.db'}"
    assert check_url("postgresql://u@h/x").startswith("postgresql+psycopg://")
    assert list(tmp_path.iterdir()) == []


def test_whole_files_with_the_umask_and_no_leftovers(tmp_path):
    old = os.umask(0o027)
    try:
        path = write_text(tmp_path / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    dead = tmp_path / ".report.html.999999999.dead.part"  # a killed writer's (no such pid)
    alive = tmp_path / f".report.html.{os.getppid()}.live.part"  # a running writer's
    dead.write_text("")
    alive.write_text("")
    assert leftovers(tmp_path / "report.html") == [dead]
    sweep(tmp_path / "report.html")
    assert not dead.exists() and alive.exists()
    with pytest.raises(ValueError), replacing(tmp_path / "report.html") as tmp:
        tmp.write_text("half")
        raise ValueError("failed mid-write")
    assert (tmp_path / "report.html").read_text() == "<html></html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name, "report.html"]
