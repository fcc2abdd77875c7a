"""The ``allocator`` command line end to end: exit codes, files written, bad input.

Most tests drive the typer app in-process with ``CliRunner``; a few run the real console
script in a subprocess, as a user would. Exit codes: 0 solved / valid / check passed,
1 no solution or check failed, 2 bad input (never with a traceback).
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from allocator.cli import app
from allocator.core.result import Result, Status
from allocator.instance.io import load_instance

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
runner = CliRunner()


@pytest.fixture(scope="module")
def tiny() -> Path:
    """The shipped tiny instance when it exists, else the hand-made small market."""
    shipped = ROOT / "instances" / "tiny.json"
    return shipped if shipped.exists() else DATA / "small_market.json"


@pytest.fixture
def market(tmp_path) -> Path:
    """A private copy of the small market (tests may write beside it)."""
    return Path(shutil.copy(DATA / "small_market.json", tmp_path / "market.json"))


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def assert_bad_input(result) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------------- solve


def test_solve_writes_every_result_file(tiny, tmp_path):
    result = invoke("solve", tiny, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "optimal" in result.stdout and "Number of hours" in result.stdout
    # the progress line (a spinner on a terminal) goes to standard error, never stdout
    assert "solving " not in result.stdout and result.stderr.startswith("solving ")
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"result.json", "result.xlsx", "report.html", "assignments.csv", "unmet.csv",
            "providers.csv", "lots.csv", "zones.csv"} <= names


def test_solve_with_an_exact_solver_on_a_large_market_says_what_to_expect(tiny, tmp_path,
                                                                         monkeypatch):
    """Above EXACT_WARN_PAIRS eligible pairs, --solver highs (or cbc) is told that branch and
    bound alone is slow there and that auto is made for it; auto is told nothing."""
    monkeypatch.setattr(importlib.import_module("allocator.cli.main"), "EXACT_WARN_PAIRS", 0)
    result = invoke("solve", tiny, "--solver", "highs", "--out", tmp_path / "h")
    assert result.exit_code == 0, result.output
    assert "branch and bound alone is slow at this size" in result.stdout
    assert "--solver auto is made for it" in result.stdout
    result = invoke("solve", tiny, "--out", tmp_path / "a")
    assert result.exit_code == 0, result.output
    assert "branch and bound alone is slow" not in result.stdout


def test_solve_json_prints_the_summary_only(market, tmp_path):
    result = invoke("solve", market, "--out", tmp_path / "out", "--json", "--verbose")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    assert fields["status"] == "optimal" and fields["solver"] == "auto"
    assert fields["unmet_people"] == 5
    assert "tables" not in fields and "solution" not in fields
    written = json.loads((tmp_path / "out" / "result.json").read_text())
    assert written["objective"] == fields["objective"]


def test_solve_quiet_prints_nothing(market, tmp_path):
    result = invoke("solve", market, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "out" / "result.json").exists()


def test_solve_default_folder_is_results_and_instance_stem(market, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("solve", market, "-q", "--formats", "json")
    assert result.exit_code == 0
    assert [p.name for p in (tmp_path / "results" / "market").iterdir()] == ["result.json"]


@pytest.mark.parametrize("solver", ["cbc", "highs-pulp"])
def test_solve_other_backends_and_lexicographic(market, tmp_path, solver):
    out = tmp_path / solver
    result = invoke("solve", market, "--solver", solver, "--objective", "lexicographic",
                    "--time-limit", 30, "--gap", 0, "--threads", 1, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    assert (fields["solver"], fields["objective_kind"]) == (solver, "lexicographic")
    checks = ["highs check (unmet)", "highs check (full)"] if solver == "cbc" else []
    assert [ph["phase"] for ph in fields["phases"]] == ["unmet", "full", *checks]
    assert fields["status"] == "optimal"  # CBC's claim confirmed by HiGHS


def test_no_solution_exits_1(market, tmp_path, monkeypatch):
    def no_solution(problem, params):
        return Result(status=Status.time_limit_no_solution, solver=params.solver,
                      message="no solution within the time limit")

    portfolio = importlib.import_module("allocator.heuristic.portfolio")
    monkeypatch.setattr(portfolio, "solve", no_solution)
    result = invoke("solve", market, "--out", tmp_path)
    assert result.exit_code == 1
    assert "time_limit_no_solution" in result.stdout
    doc = json.loads((tmp_path / "result.json").read_text())
    assert doc["status"] == "time_limit_no_solution" and doc["solution"] is None


# ---------------------------------------------------------------------- bad input


def test_broken_json_is_bad_input(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"zones": [')
    result = invoke("solve", path, "--out", tmp_path / "out")
    assert_bad_input(result)
    assert "broken.json" in result.output and "not valid JSON" in result.output
    assert not (tmp_path / "out").exists()


def test_unknown_field_is_bad_input_naming_the_field(tmp_path):
    doc = json.loads((DATA / "small_market.json").read_text())
    doc["needs"][1]["hours"] = 3
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(doc))
    result = invoke("solve", path)
    assert_bad_input(result)
    assert "needs" in result.output and "n2" in result.output and "hours" in result.output


def test_missing_file_is_bad_input(tmp_path):
    for command in (["solve"], ["validate"], ["check", DATA / "small_market.json"]):
        result = invoke(*command, tmp_path / "nowhere.json")
        assert_bad_input(result)


@pytest.mark.parametrize("option", [["--solver", "gurobi"], ["--time-limit", "-1"],
                                    ["--gap", "-0.1"], ["--threads", "0"],
                                    ["--objective", "fastest"], ["--formats", "json,pdf"]])
def test_bad_option_is_bad_input(market, option):
    assert_bad_input(invoke("solve", market, *option))


def test_output_folder_that_is_a_file_is_bad_input(market, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    assert_bad_input(invoke("solve", market, "--out", taken, "-q"))
    assert taken.read_text() == "not a folder"


# ---------------------------------------------------------------------- validate


def test_validate_lists_every_problem(tmp_path):
    doc = json.loads((DATA / "small_market.json").read_text())
    doc["offers"][0]["price"] = -5  # negative price
    doc["needs"][2]["zone"] = "z9"  # unknown zone
    doc["needs"][3]["id"] = "n1"  # duplicate id
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    result = invoke("validate", path)
    assert_bad_input(result)
    lines = result.stdout.strip().splitlines()
    assert len(lines) >= 3
    assert all(line.startswith(str(path)) for line in lines)
    text = result.stdout
    assert "price" in text and "z9" in text and "n1" in text


def test_validate_accepts_a_good_instance(tiny):
    result = invoke("validate", tiny)
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: ")


# ---------------------------------------------------------------------- check


@pytest.fixture
def solved_folder(market, tmp_path) -> Path:
    out = tmp_path / "solved"
    assert invoke("solve", market, "--out", out, "-q", "--formats", "json").exit_code == 0
    return out


def test_check_accepts_a_written_result(market, solved_folder):
    result = invoke("check", market, solved_folder / "result.json")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok")
    assert invoke("check", market, solved_folder).exit_code == 0  # the folder works too


def test_check_rejects_a_tampered_objective(market, solved_folder):
    path = solved_folder / "result.json"
    doc = json.loads(path.read_text())
    doc["objective"] -= 100
    path.write_text(json.dumps(doc))
    result = invoke("check", market, path)
    assert result.exit_code == 1
    assert "objective" in result.stdout


def test_check_rejects_a_tampered_assignment(market, solved_folder):
    """n3 is unmet because p1's capacity is used up: assigning it there breaks that limit."""
    path = solved_folder / "result.json"
    doc = json.loads(path.read_text())
    assert "n3" not in doc["solution"]["assignment"]
    doc["solution"]["assignment"]["n3"] = doc["solution"]["assignment"]["n1"]
    path.write_text(json.dumps(doc))
    result = invoke("check", market, path)
    assert result.exit_code == 1
    assert "p1" in result.stdout and "capacity" in result.stdout


def test_check_of_a_result_without_solution_exits_1(market, tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"status": "infeasible", "solution": None}))
    assert invoke("check", market, path).exit_code == 1
    path.write_text("[1, 2")
    assert_bad_input(invoke("check", market, path))


# ---------------------------------------------------------------------- convert, generate


def test_convert_json_xlsx_csv_round_trip(market, tmp_path):
    xlsx, folder, back = tmp_path / "m.xlsx", tmp_path / "m_csv", tmp_path / "back.json"
    for src, dst in ((market, xlsx), (xlsx, folder), (folder, back)):
        result = invoke("convert", src, dst)
        assert result.exit_code == 0, result.output
    assert (folder / "needs.csv").exists()
    assert load_instance(back) == load_instance(market)


def test_convert_bad_source_is_bad_input(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{}")
    assert_bad_input(invoke("convert", path, tmp_path / "out.xlsx"))


def test_generate_writes_a_valid_instance(tmp_path):
    args = ["generate", "--scale", "S", "--needs", 40, "--providers", 6, "--zones", 2,
            "--seed", 3, "--blocks"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert invoke(*args, "--out", first).exit_code == 0
    assert invoke(*args, "--out", second).exit_code == 0
    instance = load_instance(first)
    assert len(instance.needs) == 40 and len(instance.zones) == 2
    assert first.read_bytes() == second.read_bytes()
    assert_bad_input(invoke("generate", "--scale", "XXL", "--seed", 1, "--out", first))
    assert_bad_input(invoke("generate", "--seed", -1, "--out", first))


# ---------------------------------------------------------------------- real processes


def _command() -> list[str]:
    script = shutil.which("allocator") or str(Path(sys.executable).parent / "allocator")
    return [script] if Path(script).exists() else [sys.executable, "-m", "allocator"]


def test_console_script_solves_and_prints_json(tiny, tmp_path):
    proc = subprocess.run([*_command(), "solve", str(tiny), "--out", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


def test_console_script_bad_input_has_no_traceback(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{")
    proc = subprocess.run([*_command(), "solve", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "broken.json" in proc.stderr


def test_python_dash_m_and_a_light_import():
    proc = subprocess.run([sys.executable, "-m", "allocator", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "solve" in proc.stdout
    probe = ("import sys, allocator; allocator.Instance; allocator.Problem; "
             "print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('highspy', 'ortools', 'pulp')))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# ---------------------------------------------------------------------- design, benchmarks


def test_solve_a_design_instance_chooses_awards(tmp_path):
    """With --mode design, bids and scenarios are solved as a design (DESIGN.md 5); by
    default the same instance is an allocation (section 4): no awards, no scenarios."""
    from random_instances import random_instance

    from allocator.instance.io import save_instance

    path = tmp_path / "design.json"
    save_instance(random_instance(5, design=True, n_scenarios=2), path)
    result = invoke("solve", path, "--mode", "design", "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    assert fields["solver"] == "highs-design"
    doc = json.loads((tmp_path / "out" / "result.json").read_text())
    assert doc["mode"] == "design"
    assert set(doc["solution"]["scenarios"]) == {"s1", "s2"}
    assert "awards" in doc["solution"]
    assert invoke("check", path, tmp_path / "out").exit_code == 0

    result = invoke("solve", path, "--out", tmp_path / "alloc", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "alloc" / "result.json").read_text())
    assert doc["mode"] == "allocation"
    assert not doc["solution"].get("scenarios") and not doc["solution"].get("awards")
    assert invoke("check", path, tmp_path / "alloc").exit_code == 0


def _orlib(name: str) -> Path:
    from benchmark_files import orlib_file

    return orlib_file(name)


def test_import_orlib_gap_and_solve_to_the_known_optimum(tmp_path):
    """gap1.txt holds five maximisation problems; the first one's optimum is 336."""
    result = invoke("import", "orlib-gap", _orlib("gap/gap1.txt"), "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"gap1-{k}.json" for k in range(1, 6)]
    solved = invoke("solve", tmp_path / "gap1-1.json", "--out", tmp_path / "out", "--json")
    assert solved.exit_code == 0, solved.output
    assert json.loads(solved.stdout)["benchmark_objective"] == pytest.approx(336)


def test_import_orlib_cap(tmp_path):
    result = invoke("import", "orlib-cap", _orlib("cflp/cap41.txt"), "--out", tmp_path)
    assert result.exit_code == 0, result.output
    instance = load_instance(tmp_path / "cap41-1.json")
    assert instance.benchmark is not None and len(instance.block_bids) == 16


def test_infeasible_benchmark_says_so(tmp_path):
    """cap41 single-source has customers larger than every capacity: infeasible in its own
    sense. The solve leaves them unmet at a penalty, and the benchmark objective is not that
    penalised number but absent, with the benchmark's status saying infeasible."""
    invoke("import", "orlib-cap", _orlib("cflp/cap41.txt"), "--out", tmp_path)
    result = invoke("solve", tmp_path / "cap41-1.json", "--solver", "highs", "--gap", "0",
                    "--out", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    assert fields["status"] == "optimal" and fields["terms"]["unmet"] > 0
    assert fields["benchmark_status"] == "infeasible"
    assert fields["benchmark_objective"] is None


def test_import_bad_file_is_bad_input(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("3 4 x")
    for kind in ("orlib-gap", "orlib-cap"):
        assert_bad_input(invoke("import", kind, junk, "--out", tmp_path / "o"))
        assert_bad_input(invoke("import", kind, tmp_path / "none.txt", "--out", tmp_path))


def test_solve_dask_without_a_scheduler_is_bad_input(tiny, monkeypatch):
    import distributed  # a dependency (dask[distributed]): never skipped

    def refuse(address, timeout=None):
        raise OSError(f"Timed out trying to connect to {address}")

    monkeypatch.setattr(distributed, "Client", refuse)
    result = invoke("solve", tiny, "--dask", "tcp://nowhere:8786", "--time-limit", 1)
    assert_bad_input(result)
    assert "--dask tcp://nowhere:8786: no dask scheduler answers there" in result.output


def test_generate_family(tmp_path):
    out = tmp_path / "county.json"
    result = invoke("generate", "--family", "county", "--scale", "S", "--seed", 1, "--out", out)
    assert result.exit_code == 0, result.output
    assert load_instance(out).name == "generated-county-S-seed1"
    bad = invoke("generate", "--family", "zebra", "--scale", "S", "--seed", 1, "--out", out)
    assert_bad_input(bad)
    assert "unknown family 'zebra'" in bad.output
