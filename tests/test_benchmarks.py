"""The benchmark harness: the quick suite as a smoke test, plus its parsers and gap arithmetic.

The smoke test runs the quick suite (tiny instances, every available solver, 2 s limits) and
asserts correctness only, never speed: every solve returns a solution the independent checker
accepts; on published instances no objective is better than the published optimum and no bound
is beyond it (python-mip's known-bounds tests); an exact solve that proves optimality matches it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

# benchmarks/ sits beside the package, not in it: importable from the repository root only
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import registry  # noqa: E402
from benchmarks.report import enrich, markdown, references, time_to  # noqa: E402
from benchmarks.runner import parse_cbc_log, parse_highs_log, run_suite  # noqa: E402

TOL = 1e-6


def _solvers() -> list[str]:
    return list(registry.PEERS) + list(registry.OURS)


# ----------------------------------------------------------------------------- registry

def test_registry_names_are_unique_and_suites_resolve():
    specs = registry.specs()
    assert len(specs) == len(set(specs))
    for name in registry.SUITES:
        assert registry.suite(name)
    with pytest.raises(KeyError):
        registry.get("no-such-instance")


def test_published_gap_instances_carry_their_known_optima():
    """gap1-1 is OR-Library's c515-1: 336 maximised, 261 minimised (orlib README 3.1)."""
    assert registry.known_values(), f"no known_values.csv in {registry.ORLIB}"
    known = registry.get("gap1-1").known
    assert (known.sense, known.best_known, known.dual_bound, known.optimal) == ("max", 336, 336,
                                                                                 True)
    assert registry.get("gap1-1-min").known.best_known == 261
    assert registry.get("gapd-1").known.sense == "min"
    every = [s for s in registry.specs().values() if s.family in ("gap", "gapabcd")]
    assert all(s.known is not None for s in every)


def test_peers_are_capped_by_size():
    assert registry.get("M-1").runs("cbc")
    assert not registry.get("L-1").runs("cbc")
    assert registry.get("L-1").runs("highs")
    assert not registry.get("XL-1").runs("highs")
    assert registry.get("XL-1").runs("auto")


# ----------------------------------------------------------------------------- log parsers

HIGHS_LOG = "\n".join([
    "Solving MIP model with:",
    "        Nodes      |    B&B Tree     |            Objective Bounds              |"
    "  Dynamic Constraints |       Work",
    "Src  Proc. InQueue |  Leaves   Expl. | BestBound       BestSol              Gap |"
    "   Cuts   InLp Confl. | LpIters     Time",
    "",
    " J       0       0         0   0.00%   -inf            208540.26          Large "
    "       0      0      0         0     0.1s",
    " R       0       0         0   0.00%   98984.235       107946.8875        8.30% "
    "       0      0      0       799     0.2s",
    "         0       0         0   0.00%   98996.63        107946.8875        8.29% "
    "    5842    506      6      7630     4.0s",
    "",
    "Solving report",
    "  Status            Time limit reached",
    "  Timing            4.02",
])

CBC_LOG = "\n".join([
    "Continuous objective value is 8374.38 - 0.01 seconds",
    "Cbc0012I Integer solution of 9000.5 found by DiveCoefficient after 10 iterations and 0 "
    "nodes (0.05 seconds)",
    "Cbc0010I After 100 nodes, 3 on tree, 8500 best solution, best possible 8400.5 (0.30 "
    "seconds)",
    "Cbc0005I Partial search - best objective 8420 (best possible 8410), took 500 iterations "
    "and 120 nodes (0.90 seconds)",
    "Total time (CPU seconds):       0.95   (Wallclock seconds):       0.97",
])


def test_parse_highs_log():
    rows, total = parse_highs_log(HIGHS_LOG)
    assert total == pytest.approx(4.02)
    assert rows[0] == (0.1, 208540.26, None)
    assert rows[-1] == (4.0, 107946.8875, 98996.63)


def test_parse_cbc_log():
    rows, total = parse_cbc_log(CBC_LOG)
    assert total == pytest.approx(0.97)
    assert rows[0] == (0.01, None, 8374.38)
    assert rows[1] == (0.05, 9000.5, 8374.38)
    assert rows[-1] == (0.9, 8420.0, 8410.0)


# ----------------------------------------------------------------------------- gaps

def _row(**kw):
    base = dict(instance="gap1-1", family="gap", size="orlib", solver="highs", status="feasible",
                objective=None, bound=None, gap=None, bench_sense="max", bench_offset=1000.0,
                bench_scale=-1.0, wall_s=1.0, progress=[], check_ok=True, peak_mb=10.0)
    base.update(kw)
    return base


def test_gap_to_a_published_maximum_is_measured_in_its_own_sense():
    """Engine objective 1000 - profit: 665 is a profit of 335 against the optimum 336."""
    rows = enrich([_row(objective=665.0, bound=660.0,
                        progress=[(0.5, 700.0, None), (0.8, 665.0, 660.0)])])
    r = rows[0]
    assert r["benchmark_objective"] == pytest.approx(335.0)
    assert r["gap_ref"] == pytest.approx(1 / 335)
    assert r["t_1pct"] == pytest.approx(0.8)  # 300 at 0.5 s is 12% short
    assert r["t_01pct"] is None


def test_generated_reference_is_the_best_bound_in_the_run():
    rows = [_row(instance="S-1", family="generated", size="S", bench_sense=None,
                 bench_offset=None, bench_scale=None, solver=s, objective=o, bound=b)
            for s, o, b in (("highs", 110.0, 95.0), ("cpsat", 105.0, 99.0))]
    rows.append(dict(rows[0], solver="lp", bound=90.0, objective=None))
    assert references(rows)["S-1"][0] == 99.0
    out = {r["solver"]: r for r in enrich(rows)}
    assert out["highs"]["gap_ref"] == pytest.approx(11 / 110)
    assert out["highs"]["gap_lp"] == pytest.approx(20 / 110)
    assert "lp" not in out
    assert time_to([(1.0, 104.0, None)], out["cpsat"], 99.0, "min", 0.05) == 1.0
    assert time_to([(1.0, 104.0, None)], out["cpsat"], 99.0, "min", 0.01) is None
    text = markdown(enrich(rows), "t", "cmd", ["highs", "cpsat"])
    assert "| S, seeds 1-3 |" in text and "0/1 met" in text


# ----------------------------------------------------------------------------- smoke test

def test_quick_suite(tmp_path):
    names = list(registry.SUITES["quick"])
    specs = [registry.get(n) for n in names]
    solvers = _solvers()
    rows = run_suite(specs, solvers, tmp_path / "quick.jsonl",
                     time_limit=registry.QUICK_TIME_LIMIT, log=lambda _: None)
    solved = [r for r in rows if r["solver"] != "lp"]
    assert {(r["instance"], r["solver"]) for r in solved} == {(n, s) for n in names
                                                              for s in solvers}
    for r in solved:
        where = f"{r['instance']} / {r['solver']}: {r.get('message')}"
        assert r["status"] in ("optimal", "feasible"), where
        assert r["check_ok"] is True, where
        assert r["peak_mb"] > 0
        spec = registry.get(r["instance"])
        if spec.known is None or r.get("bench_scale") is None:
            continue
        k = spec.known
        value = r["bench_offset"] + r["bench_scale"] * r["objective"]
        sign = 1.0 if k.sense == "min" else -1.0
        assert sign * value >= sign * k.best_known - TOL, where  # never better than optimal
        if r["bound"] is not None:
            bound = r["bench_offset"] + r["bench_scale"] * r["bound"]
            assert sign * bound <= sign * k.dual_bound + TOL, where  # never beyond it
        if r["status"] == "optimal" and k.optimal:
            assert math.isclose(value, k.best_known, abs_tol=TOL), where
    from benchmarks.report import write_all

    paths = write_all(rows, tmp_path, "quick", "pytest", solvers)
    assert {p.suffix for p in paths} >= {".csv", ".md"}
    assert "| tiny-1 |" in (tmp_path / "quick.md").read_text()


def test_beyond_caps_runs_a_capped_peer(tmp_path, monkeypatch):
    """A solver above its size cap gets a ``not_run`` row, unless ``beyond_caps`` (the
    ``--beyond-caps`` option), which runs it like any other."""
    monkeypatch.setitem(registry.MAX_SIZE, "highs", "tiny")
    spec = registry.get("gap1-1")  # an OR-Library instance: above "tiny"
    assert not spec.runs("highs")
    capped = run_suite([spec], ["highs"], tmp_path / "capped.jsonl", time_limit=2.0,
                       log=lambda _: None)
    assert [r["status"] for r in capped] == ["not_run"]
    ran = run_suite([spec], ["highs"], tmp_path / "ran.jsonl", time_limit=2.0,
                    log=lambda _: None, beyond_caps=True)
    assert [r["status"] for r in ran] == ["optimal"] and ran[0]["check_ok"] is True


def _exits_without_a_result(send, code):
    raise SystemExit(code)


def _outlasts_the_runner(send, seconds):
    import time

    time.sleep(seconds)


def test_a_child_without_a_result_is_told_apart_from_one_the_runner_killed():
    """The XL HiGHS row said "exited (-15) or was killed after 7200 s" for a child stopped
    by hand at 3,134 s: the message now says which, and when."""
    from benchmarks.runner import run_child

    out = run_child(_exits_without_a_result, (3,), timeout=60)
    assert out is not None and out["status"] == "error"
    assert out["message"].startswith("child process exited with code 3 after ")
    out = run_child(_outlasts_the_runner, (60,), timeout=1)
    assert out is not None
    assert out["message"] == "child process killed by the runner after 1 s, without a result"


def test_memory_of_children_running_at_once_is_added():
    """Two children holding 250 MB each at the same time: the process tree's sampled memory
    counts both, where the runner's figure before (own peak + largest child's peak) counted
    one. The portfolio runs two search children at once, so that figure was no bound. Measured
    in a fresh process (this one's peaks and past children would blur the figures)."""
    import json
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    script = f"""
import json, subprocess, sys, time
sys.path.insert(0, {root!r})
from benchmarks.runner import TreeMemory
hold = ("import time; b = bytearray(250 * 2**20); b[::4096] = b'x' * len(b[::4096]);"
        " print('ready', flush=True); time.sleep(1.5)")
tree = TreeMemory(every_s=0.05)
kids = [subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
        for _ in range(2)]
assert all(k.stdout.readline().strip() == "ready" for k in kids)
time.sleep(0.3)
for k in kids:
    k.wait()
import resource
largest = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
print(json.dumps({{"sampled": tree.stop(), "largest_child": largest}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    # both children counted, not the largest alone (the old figure's own part is no reference:
    # on Linux a process's own peak after fork and exec starts at its parent's size, 750 MB
    # when this runs inside the whole suite)
    assert got["sampled"] >= 500, got
    assert got["sampled"] >= got["largest_child"] + 200, got


def test_memory_counts_a_parent_once_catches_a_spike_and_forgets_an_old_peak():
    """The tree's figure is each process's own peak since the sample before (``VmHWM``, reset
    at each sample), summed. A 400 MB parent and a child that holds 300 MB for a moment
    between two samples of a slow sampler: the figure counts the parent once and sees the
    spike, where the resident sizes at the samples miss it and ``ru_maxrss`` (no longer
    used) gives the child the parent's size after exec. A later child beside the parent is
    not added to the first child's old peak."""
    import json
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    script = f"""
import json, resource, subprocess, sys, time
sys.path.insert(0, {root!r})
from benchmarks.runner import TreeMemory
parent = bytearray(400 * 2**20); parent[::4096] = b'x' * len(parent[::4096])
tree = TreeMemory(every_s=2.0)
spike = ("import time; time.sleep(0.3); b = bytearray(300 * 2**20);"
         " b[::4096] = b'x' * len(b[::4096]); del b; print('ready', flush=True); time.sleep(2.5)")
kid = subprocess.Popen([sys.executable, "-c", spike], stdout=subprocess.PIPE, text=True)
assert kid.stdout.readline().strip() == "ready"
time.sleep(2.2)  # one sample while the child lives, after its spike has gone
kid.wait()
first = tree.peak / 2**20
rusage_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
time.sleep(2.1)  # a sample with the parent alone: its peak is its size again
small = ("import time; print('ready', flush=True); time.sleep(2.5)")
kid = subprocess.Popen([sys.executable, "-c", small], stdout=subprocess.PIPE, text=True)
assert kid.stdout.readline().strip() == "ready"
time.sleep(2.2)
kid.wait()
print(json.dumps({{"first": first, "tree": tree.stop(), "rss": tree.rss_peak / 2**20,
                  "reset": tree.reset, "rusage_child": rusage_child}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["reset"], got
    # the parent counted once (400 MB and the interpreter) plus the child's 300 MB spike
    assert 700 <= got["first"] <= 900, got
    # the second child did not add itself to the first one's spike
    assert got["tree"] == got["first"], got
    # the resident sizes at the samples never saw the spike
    assert got["rss"] < 600, got
    # ru_maxrss of a child holding a few MB: the parent's 400 MB, after exec
    assert got["rusage_child"] >= 400, got


def test_memory_does_not_count_a_forked_child_before_its_exec_twice():
    """A child forked from a 400 MB process and not yet exec'd shows the parent's 400 MB as
    its own (copy on write) until its exec; a worker started by a 10 GB solving process at XL
    was counted twice so. The child here stays in that state for a second: the figure counts
    the parent once."""
    import json
    import subprocess

    root = str(Path(__file__).resolve().parents[1])
    script = f"""
import json, os, sys, time
sys.path.insert(0, {root!r})
from benchmarks.runner import TreeMemory
parent = bytearray(400 * 2**20); parent[::4096] = b'x' * len(parent[::4096])
tree = TreeMemory(every_s=0.1)
pid = os.fork()
if pid == 0:
    time.sleep(1.0)
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({{"tree": tree.stop(), "rss": tree.rss_peak / 2**20}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert 400 <= got["tree"] < 600, got
    assert got["rss"] < 600, got
