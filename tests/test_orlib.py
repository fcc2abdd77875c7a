"""OR-Library importers: parsing every file family, the mapping, round trips, known optima.

The solver tests reach the published optima: every gap1-gap12 problem in the maximisation
sense (OR-Library's optima), the first problem of each file minimised (set
``ALLOCATOR_ORLIB_FULL=1`` to minimise all 60 as well), and small single-source CFLP problems
through the design model. Expected values come from ``known_values.csv``.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.generate import orlib
from allocator.instance.io import load_instance
from allocator.instance.schema import Instance
from allocator.solvers import SolveParams, solve

ORLIB = orlib.orlib_dir()

GAP_FILES = [f"gap{k}" for k in range(1, 13)]
ABCD_FILES = [f"gap{t}" for t in "abcd"]
YAGIURA = sorted(p.name for p in (ORLIB / "gap" / "yagiura").glob("*"))
CAP_FILES = sorted(p.stem for p in (ORLIB / "cflp").glob("cap*.txt") if p.stem != "capopt")
HOLMBERG = [f"p{k}" for k in range(1, 72)]
FULL = os.environ.get("ALLOCATOR_ORLIB_FULL") == "1"



def test_the_benchmark_files_are_there():
    """The lists above come from the folder: without it they would be empty and the tests
    parametrized over them would quietly not exist."""
    assert ORLIB.is_dir(), f"no benchmark files at {ORLIB} (set ALLOCATOR_ORLIB)"
    assert len(YAGIURA) >= 6 and len(CAP_FILES) >= 10
    for stem in GAP_FILES + ABCD_FILES:
        assert (ORLIB / "gap" / f"{stem}.txt").exists()
    assert (ORLIB / "known_values.csv").exists()

@cache
def gap(stem: str, sense: str) -> tuple[Instance, ...]:
    return tuple(orlib.import_gap(ORLIB / "gap" / f"{stem}.txt", sense=sense))


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("stem", GAP_FILES)
def test_parse_gap1_12(stem):
    """README 2.1: 5 problems; 5/8/10 agents with 15-60 jobs."""
    problems = orlib.parse_gap(ORLIB / "gap" / f"{stem}.txt")
    k = int(stem[3:])
    m, sizes = (5, (15, 20, 25, 30)) if k <= 4 else (8, (24, 32, 40, 48)) if k <= 8 else \
        (10, (30, 40, 50, 60))
    n = sizes[(k - 1) % 4]
    assert len(problems) == 5
    for d in problems:
        assert (d.m, d.n) == (m, n)
        assert d.cost.shape == d.resource.shape == (m, n) and d.capacity.shape == (m,)
        assert d.resource.min() >= 1 and (d.capacity > 0).all()


def test_parse_gap1_numbers():
    """The first problem of gap1.txt, against the file's opening lines."""
    d = orlib.parse_gap(ORLIB / "gap" / "gap1.txt")[0]
    assert d.cost[0, :3].tolist() == [17, 21, 22]
    assert d.capacity.tolist() == [36, 34, 38, 27, 33]
    assert d.resource[0, 0] == 8 and d.resource[4, 14] == 23


@pytest.mark.parametrize("stem", ABCD_FILES)
def test_parse_gapa_d(stem):
    """README 2.1: 6 problems of (5,100), (5,200), (10,100), (10,200), (20,100), (20,200)."""
    problems = orlib.parse_gap(ORLIB / "gap" / f"{stem}.txt")
    assert [(d.m, d.n) for d in problems] == [(5, 100), (5, 200), (10, 100), (10, 200),
                                               (20, 100), (20, 200)]


@pytest.mark.parametrize("name", YAGIURA)
def test_parse_yagiura(name):
    """README 2.2: no leading P; the name is type + 2-digit m + n."""
    (d,) = orlib.parse_gap(ORLIB / "gap" / "yagiura" / name)
    assert (d.m, d.n) == (int(name[1:3]), int(name[3:]))
    assert d.resource.min() >= 1


@pytest.mark.parametrize("stem", CAP_FILES)
def test_parse_cap(stem):
    """README 2.3: n = 50 customers, total demand 58268 (capa/b/c: templates, 100 x 1000)."""
    problems = orlib.parse_cflp(ORLIB / "cflp" / f"{stem}.txt")
    if stem in orlib.TEMPLATE_CAPACITIES:
        assert [p.capacity[0] for p in problems] == list(orlib.TEMPLATE_CAPACITIES[stem])
        assert all((p.m, p.n) == (100, 1000) for p in problems)
        return
    (d,) = problems
    k = int(stem[3:])
    assert d.m == (16 if k < 80 else 25 if k < 110 else 50) and d.n == 50
    assert d.demand.sum() == 58268 and d.demand.max() == 12912
    assert (d.fixed == 0).sum() == 1  # one site is free in every file
    assert len(set(d.capacity.tolist())) == 1


def test_parse_cap41_first_customer():
    d = orlib.parse_cflp(ORLIB / "cflp" / "cap41.txt")[0]
    assert d.demand[0] == 146
    assert d.cost[:2, 0].tolist() == [6739.725, 10355.05]  # per customer, costs at every site
    assert d.capacity[0] == 5000 and d.fixed[0] == 7500


@pytest.mark.parametrize("stem", HOLMBERG)
def test_parse_holmberg(stem):
    """README 2.5 and 3.6: sizes by file; NUL padding and trailing garbage ignored."""
    (d,) = orlib.parse_cflp(ORLIB / "cflp" / "holmberg" / stem)
    k = int(stem[1:])
    if k <= 12:
        assert (d.m, d.n) == (10, 50)
    elif k <= 24:
        assert (d.m, d.n) == (20, 50)
    elif k <= 40:
        assert (d.m, d.n) == (30, 150)
    elif k >= 56:
        assert (d.m, d.n) == (30, 200)
    assert np.isfinite(d.cost).all() and (d.demand > 0).all()


def test_holmberg_reads_exactly_the_expected_count():
    raw = (ORLIB / "cflp" / "holmberg" / "p47").read_bytes()
    assert b"\x00" in raw
    tokens = orlib.read_tokens(ORLIB / "cflp" / "holmberg" / "p47")
    (d,) = orlib.parse_cflp(ORLIB / "cflp" / "holmberg" / "p47")
    assert len(tokens) > 2 + 2 * d.m + d.n + d.m * d.n  # garbage after the data
    d1 = orlib.parse_cflp(ORLIB / "cflp" / "holmberg" / "p1")[0]
    assert d1.capacity[:2].tolist() == [258, 128] and d1.demand[:3].tolist() == [49, 29, 23]


def test_bad_files(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("1\n2 3\n1 2 3\n")
    with pytest.raises(ValueError, match="cut short"):
        orlib.parse_gap(short)
    words = tmp_path / "words.txt"
    words.write_text("2 1\n capacity 5. capacity 7.\n 3 1 2\n")
    with pytest.raises(ValueError, match="substitute"):
        orlib.parse_cflp(words)
    assert orlib.parse_cflp(words, capacity=10)[0].capacity.tolist() == [10, 10]
    with pytest.raises(ValueError, match="own capacities"):
        orlib.parse_cflp(ORLIB / "cflp" / "cap41.txt", capacity=10)
    with pytest.raises(ValueError, match="unknown benchmark kind"):
        orlib.import_file("tsp", words)


# ----------------------------------------------------------------------------- mapping


def test_gap_mapping_min_and_max():
    d = orlib.parse_gap(ORLIB / "gap" / "gap1.txt")[0]
    inst = gap("gap1", "max")[0]
    assert inst.name == "gap1-1"
    assert (len(inst.zones), len(inst.providers), len(inst.offers), len(inst.needs)) == \
        (15, 5, 75, 15)
    offer = {o.id: o for o in inst.offers}["a2-j3"]
    top = d.cost.max()
    assert offer.provider == "a2" and offer.zone == "j3"
    assert offer.price == top - d.cost[1, 2] and offer.travel_factor == d.resource[1, 2]
    assert offer.capacity == d.capacity[1] == inst.providers[1].capacity
    assert all(n.quantity == 1 and n.zone == n.id for n in inst.needs)
    info = inst.benchmark
    assert (info.problem, info.sense, info.offset, info.scale) == ("GAP", "max", 15 * top, -1)
    assert info.source == "gap/gap1.txt" and info.index == 1
    # every job assigned beats leaving one out
    assert inst.policy.unmet_penalty["standard"] > sum(
        max(o.price for o in inst.offers if o.zone == z.id) for z in inst.zones)
    low = gap("gap1", "min")[0]
    assert low.name == "gap1-1-min" and low.benchmark.sense == "min"
    assert {o.id: o for o in low.offers}["a2-j3"].price == d.cost[1, 2]
    assert low.benchmark.original_objective(123.0) == 123.0
    assert gap("gapa", "min")[0].name == "gapa-1"


def test_cflp_mapping():
    d = orlib.parse_cflp(ORLIB / "cflp" / "holmberg" / "p1")[0]
    (inst,) = orlib.import_cap(ORLIB / "cflp" / "holmberg" / "p1")
    assert inst.name == "p1-1"
    (lot,) = inst.lots
    assert lot.framework is False and lot.reservation is True
    assert len(inst.block_bids) == d.m and not inst.block_contracts
    for i, bid in enumerate(inst.block_bids):
        assert (bid.rate, bid.min_volume) == (0, 0)
        assert (bid.max_volume, bid.award_cost) == (d.capacity[i], d.fixed[i])
    offers = {o.id: o for o in inst.offers}
    needs = {n.id: n for n in inst.needs}
    for i, j in ((0, 0), (3, 17), (9, 49)):
        o = offers[f"f{i + 1}-c{j + 1}"]
        assert o.price * needs[f"c{j + 1}"].quantity == pytest.approx(d.cost[i, j], rel=1e-12)
    worst = d.fixed.sum() + d.cost.max(axis=0).sum()
    assert inst.policy.unmet_penalty["standard"] * d.demand.min() > worst
    assert inst.benchmark.problem == "CFLP-single-source"


def test_capacity_templates():
    """capa/b/c: one problem per capacity of OR-Library's list, or the one asked for."""
    (one,) = orlib.import_cap(ORLIB / "cflp" / "capb.txt", capacity=7000)
    assert one.name == "capb-3" and one.benchmark.index == 3
    assert one.benchmark.variant == "capacity 7000"
    assert {p.capacity for p in one.providers} == {7000}
    assert len(one.needs) == 1000 and len(one.offers) == 100_000


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("kind, path", [
    ("orlib-gap", "gap/gap4.txt"),
    ("orlib-gap", "gap/yagiura/e05100"),
    ("orlib-cap", "cflp/cap61.txt"),
    ("orlib-cap", "cflp/holmberg/p2"),
])
def test_write_and_reload(tmp_path, kind, path):
    instances = orlib.import_file(kind, ORLIB / path)
    written = orlib.write_instances(instances, tmp_path)
    stem = Path(path).stem
    assert [w.name for w in written] == [f"{stem}-{k}.json" for k in range(1, len(written) + 1)]
    for inst, target in zip(instances, written, strict=True):
        assert load_instance(target) == inst


# ----------------------------------------------------------------------------- known values


def test_known_values():
    assert orlib.known_value("gap/gap1.txt", 1, "max") == (336.0, 336.0, "optimal")
    assert orlib.known_value("gap1", 1, "min").best_known == 261
    assert orlib.known_value("gapd.txt", 6, "min") == (12241.0, 12235.0, "open")
    assert orlib.known_value("p1", 1, "single-source").best_known == 8848
    assert orlib.known_value("cap41", 1, "single-source") == (None, None, "infeasible")
    assert orlib.known_value("cap41", 1, "multi-source").best_known == 1040444.375
    assert orlib.known_value("capc", 2, "single-source").best_known == 11570437.68
    with pytest.raises(KeyError):
        orlib.known_value("gap1", 6, "max")
    with pytest.raises(ValueError, match="variant"):
        orlib.known_value("gap1", 1, "sideways")
    assert orlib.known_value_of(gap("gap2", "min")[3]) == orlib.known_value("gap2", 4, "min")


def test_shared_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("ALLOCATOR_SHARED", str(tmp_path))
    assert orlib.orlib_dir() == tmp_path / "benchmarks" / "orlib"


# ----------------------------------------------------------------------------- optima


def exact(inst: Instance) -> float:
    """Solve exactly and return the objective in the problem's own sense."""
    r = solve(Problem.from_instance(inst), SolveParams(solver="highs", time_limit=60, gap=0.0))
    assert r.status.value == "optimal", r.summary()
    assert len(r.solution.assignment) == len(inst.needs)  # every job assigned
    return inst.benchmark.original_objective(r.objective)


GAP_MAX = [(stem, k) for stem in GAP_FILES for k in range(1, 6)]
GAP_MIN = GAP_MAX if FULL else [(stem, 1) for stem in GAP_FILES]


@pytest.mark.parametrize("stem, k", GAP_MAX, ids=[f"{s}-{k}" for s, k in GAP_MAX])
def test_gap_reaches_published_maximum(stem, k):
    inst = gap(stem, "max")[k - 1]
    assert exact(inst) == pytest.approx(orlib.known_value_of(inst).best_known, abs=1e-6)


@pytest.mark.parametrize("stem, k", GAP_MIN, ids=[f"{s}-{k}-min" for s, k in GAP_MIN])
def test_gap_reaches_published_minimum(stem, k):
    inst = gap(stem, "min")[k - 1]
    assert exact(inst) == pytest.approx(orlib.known_value_of(inst).best_known, abs=1e-6)


@pytest.mark.parametrize("path", ["cflp/holmberg/p1", "cflp/holmberg/p2", "cflp/cap61.txt"])
def test_cflp_reaches_single_source_optimum(path):
    from allocator.design.solve import DesignParams, solve_design

    (inst,) = orlib.import_cap(ORLIB / path)
    r = solve_design(inst, DesignParams(solver="highs", time_limit=60, gap=0.0))
    assert r.status.value == "optimal", r.summary()
    assert len(r.solution.assignment) == len(inst.needs)
    want = orlib.known_value_of(inst).best_known
    assert inst.benchmark.original_objective(r.objective) == pytest.approx(want, rel=1e-8)
    awarded = {p for p, _ in r.solution.awards}
    assert awarded == {inst.providers[int(re.sub(r"\D", "", o.split("-")[0])) - 1].id
                       for o in r.solution.assignment.values()}


def test_cflp_infeasible_single_source_leaves_needs_unmet():
    """cap41: customers of 12912 and 5495 exceed every capacity (5000): both go unmet."""
    from allocator.design.solve import DesignParams, solve_design

    (inst,) = orlib.import_cap(ORLIB / "cflp" / "cap41.txt")
    assert orlib.known_value_of(inst).status == "infeasible"
    r = solve_design(inst, DesignParams(solver="highs", time_limit=60, gap=0.0))
    unmet = {n.id for n in inst.needs} - set(r.solution.assignment)
    assert {next(n.quantity for n in inst.needs if n.id == u) for u in unmet} == {12912, 5495}
