"""Benders pieces: the LP recourse's subgradient, the master's bound, whole-bed rounding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from allocator.core.check import check
from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Status
from allocator.design.benders import Master, design_lp_bound, lp_recourse, whole_capacity
from allocator.design.designs import apply_design
from allocator.design.recourse import design_holders
from allocator.design.scenarios import demands, generate_scenarios, with_scenarios
from allocator.design.solve import DesignParams, expected_lot_demand, solve_design

from .markets import designs, tiny_market


@pytest.fixture(scope="module")
def setup():
    market = tiny_market()
    inst = with_scenarios(apply_design(market, designs()["mixed"]),
                          generate_scenarios(market, 3, seed=4))
    ds = demands(inst)
    base = Problem.from_instance(inst, mode="design")
    return inst, ds, base, expected_lot_demand(inst, ds)


def test_subgradient_is_a_valid_cut(setup):
    """Q(V') >= Q(V) + g (V' - V) for random V' (convexity), and the cut is tight at V."""
    inst, ds, base, D = setup
    rng = np.random.default_rng(0)
    vmax = np.array([inst.block_bids[int(base.holder_bid[h])].max_volume
                     for h in design_holders(base)])
    v0 = vmax * rng.uniform(0, 1, len(vmax))
    (at,) = lp_recourse(inst, ds[:1], D, v0, [None])
    for _ in range(5):
        v1 = vmax * rng.uniform(0, 1, len(vmax))
        (other,) = lp_recourse(inst, ds[:1], D, v1, [None])
        assert other.objective >= at.objective + at.gradient @ (v1 - v0) - 1e-6
    # warm start from the returned basis: same value
    (again,) = lp_recourse(inst, ds[:1], D, v0, [at.basis])
    assert again.objective == pytest.approx(at.objective, rel=1e-9)


def test_master_bound_below_the_optimum(setup):
    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    master = Master(inst, base, D, [d.weight for d in ds])
    volume = np.zeros(master.nb)
    for _ in range(6):
        master.add_cuts(volume, lp_recourse(inst, ds, D, volume, [None] * len(ds)))
        status, y, volume, objective, bound = master.solve(
            SolveParams())
        assert bound <= optimum + 1e-6 * optimum
        assert master.first_stage(y, volume) >= master.offset


def test_whole_beds_keep_the_lot_limits(setup):
    inst, ds, base, D = setup
    master = Master(inst, base, D, [d.weight for d in ds])
    y = np.ones(master.nb, dtype=bool)
    volume = np.minimum(master.vmax, 1.4)
    rounded = master.whole_beds(y, volume)
    beds = master.beds
    assert rounded is not None and beds.any() and (~beds).any()
    assert np.allclose(rounded[beds], np.round(rounded[beds]))
    assert np.allclose(rounded[~beds], volume[~beds])  # hours are left alone
    # a lot whose share window holds no whole number of beds: no rounding
    master.share = [None if s is None else (0.3, 0.6) for s in master.share]
    assert master.whole_beds(y & beds & (master.lot == master.lot[beds][0]),
                             np.where(beds, 0.45, 0.0)) is None


def test_wait_and_see_lp_bound_below_the_optimum(setup):
    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    values = design_lp_bound(inst, ds, D)
    bound = sum(d.weight * v for d, v in zip(ds, values, strict=True))
    assert bound <= optimum + 1e-6 * optimum
    assert bound >= 0.9 * optimum  # and not vacuous on this market


def test_wait_and_see_mip_bound_between_lp_and_optimum(setup):
    """Each scenario's own design MIP: still a bound (at most the optimum), never below the LP."""
    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    lp = design_lp_bound(inst, ds, D)
    mip = design_lp_bound(inst, ds, D, 1, 30.0)
    for a, b in zip(lp, mip, strict=True):
        assert b >= a - 1e-9
    bound = sum(d.weight * v for d, v in zip(ds, mip, strict=True))
    assert bound <= optimum + 1e-6 * optimum


def test_relaxed_phase_reaches_the_lp_relaxation_of_the_whole_model(setup):
    """The relaxed phase (master LP, in-out cuts) converges to the LP relaxation of the
    extensive form, which lies between the wait-and-see LP bound and the optimum."""
    from allocator.design.extensive import design_problems
    from allocator.exact import highs
    from allocator.exact.base import SolverOptions
    from allocator.exact.model import build

    inst, ds, base, D = setup
    model = build([(p, d.weight) for p, d in zip(design_problems(inst, ds), ds, strict=True)],
                  design=True, expected_lot_demand=D, strengthen=True)
    whole_lp = highs.solve(model, SolverOptions(time_limit=60), relax=True).objective
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    ws = sum(d.weight * v for d, v in zip(ds, design_lp_bound(inst, ds, D), strict=True))
    res = solve_design(inst, DesignParams(method="benders", time_limit=120,
                                          lp_phase_share=1.0, gap=0.0))
    relaxed = [h for h in res.extra["iterations"] if h.get("phase") == "relaxed"]
    assert relaxed, res.extra["iterations"]
    last = relaxed[-1]["relaxed_bound"]
    assert last == pytest.approx(whole_lp, rel=1e-4)
    assert ws - 1e-6 * abs(ws) <= whole_lp <= optimum + 1e-6 * abs(optimum)
    # every bound on the way is a bound, and the reported one never falls
    lows = [h["lower_bound"] for h in res.extra["iterations"]]
    assert all(b <= optimum + 1e-6 * abs(optimum) for b in lows)
    assert lows == sorted(lows)
    assert res.bound is not None and res.bound >= last - 1e-6 * abs(last)


@pytest.mark.parametrize("workers", [1, 2])
def test_master_inout_cuts_keep_the_bound_and_converge_to_the_same_point(setup, workers):
    """In-out cuts between master designs (master_inout): every bound on the way is at most
    the optimum and never falls, in-out cuts were added, and the loop converges to the same
    Benders bound (the design model with LP recourse) and the same design as without them.
    (This market's recourse LPs are fractional, so that bound is below the optimum.) With two
    workers the in-out sweep runs beside the next master MIP and its cuts go in after it."""
    from allocator.design.sweep import make_runner

    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    runs = {}
    for a in (0.5, 0.0):
        with make_runner(workers) as runner:
            res = solve_design(inst, DesignParams(method="benders", time_limit=120,
                                                  lp_phase_share=0.0, master_inout=a,
                                                  gap=1e-9), runner=runner)
        masters = [h for h in res.extra["iterations"] if "aggregated" in h]
        lows = [h["lower_bound"] for h in masters]
        assert all(b <= optimum + 1e-6 * abs(optimum) for b in lows)
        assert lows == sorted(lows)
        assert res.bound <= optimum + 1e-6 * abs(optimum)
        runs[a] = (res, sum(h.get("inout_cuts", 0) for h in masters))
    (io, io_cuts), (plain, plain_cuts) = runs[0.5], runs[0.0]
    assert io_cuts > 0 and plain_cuts == 0
    assert io.bound == pytest.approx(plain.bound, rel=1e-7)
    assert io.objective == pytest.approx(plain.objective, rel=1e-7)
    assert optimum <= io.objective + 1e-6 * abs(optimum)


def test_aggregated_masters_counts_the_master_mips_holding_the_aggregate():
    """Where offers exist only with an award: the first ``aggregated_masters`` master MIPs
    hold the aggregated demand and the later ones are cuts only (None: every one); both
    bounds stay below the extensive form's optimum."""
    from allocator.design.aggregate import grouped_aggregates
    from allocator.design.scenarios import demands as demands_of

    from .test_aggregate import SEEDS, _case

    def gated(inst):
        ds = demands_of(inst)
        D = expected_lot_demand(inst, ds)
        return Master(inst, Problem.from_instance(inst, mode="design"), D,
                      [d.weight for d in ds], grouped_aggregates(inst, ds, D, 1)).gated

    inst = _case(17)  # of SEEDS: a market whose Benders loop takes four master MIPs
    assert 17 in SEEDS and gated(inst)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    flags = {}
    for count in (1, None):
        res = solve_design(inst, DesignParams(method="benders", time_limit=120,
                                              lp_phase_share=0.0, max_iterations=4,
                                              aggregated_masters=count, gap=1e-9))
        flags[count] = [h["aggregated"] for h in res.extra["iterations"] if "phase" not in h]
        assert res.bound <= optimum + 1e-6 * abs(optimum)
    assert len(flags[None]) >= 2 and all(flags[None])
    assert len(flags[1]) >= 2 and flags[1][0] is True and not any(flags[1][1:])


def test_improving_designs_of_the_aggregated_master_are_swept_beside_it():
    """Where offers exist only with an award, the aggregated master's first improving designs
    (HiGHS's callback) are swept beside it: their cuts go into the master and they become
    candidates. One worker (swept after the master) and two (beside it, in a thread) give the
    same bound, design and cost; the bound stays below the extensive form's optimum, the
    design above it; with ``beside_designs=0`` none are swept."""
    from allocator.design.sweep import make_runner

    from .test_aggregate import _case

    inst = _case(17)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    runs = {}
    for workers, count in ((1, 4), (2, 4), (2, 0)):
        with make_runner(workers) as runner:
            res = solve_design(inst, DesignParams(method="benders", time_limit=120,
                                                  lp_phase_share=0.0, max_iterations=6,
                                                  beside_designs=count, gap=1e-9),
                               runner=runner)
        masters = [h for h in res.extra["iterations"] if "aggregated" in h]
        assert masters[0]["aggregated"]
        runs[workers, count] = (res, masters[0]["beside_designs"])
        assert res.bound <= optimum + 1e-6 * abs(optimum)
        assert res.objective >= optimum - 1e-6 * abs(optimum)
    (one, n1), (two, n2), (_, n0) = runs[1, 4], runs[2, 4], runs[2, 0]
    assert n1 == n2 >= 1 and n0 == 0
    assert two.bound == pytest.approx(one.bound, rel=1e-9)
    assert two.objective == pytest.approx(one.objective, rel=1e-9)


def test_designs_swept_beside_the_master_give_cuts_and_candidates(monkeypatch):
    """Every improving design taken from the master's callback is swept: cuts at it go into
    the master, and it joins the candidates at its LP value (first stage plus the weighted LP
    recourse, as a sweep at it alone gives)."""
    from allocator.design import decomposition
    from allocator.design.sweep import make_runner

    from .test_aggregate import _case

    inst = _case(17)
    offered, cut_at, listed, finals = [], [], [], []
    real_finish, real_add = decomposition._Beside.finish, Master.add_cuts
    inside = [False]

    def finish(self, final=None):
        if final is not None:  # the master's own design: the loop sweeps it (or takes it)
            finals.append((np.asarray(final[0], dtype=bool), self.loop.master.capacity(final[1])))
        inside[0] = True
        try:
            out = real_finish(self, final)
        finally:
            inside[0] = False
        listed.extend((value, y, v) for value, y, v in self.loop.candidates)
        return out

    def sweep_beside(self, kind, y, volume, serial):
        if kind == "design":
            offered.append((y.copy(), volume.copy(), self.loop.master.capacity(volume)))
        return real_sweep(self, kind, y, volume, serial)

    def add_cuts(self, volume, results, y=None):
        if inside[0]:  # the cuts finish() puts in
            cut_at.append((None if y is None else np.asarray(y, dtype=bool).copy(),
                           np.asarray(volume, dtype=float).copy()))
        return real_add(self, volume, results, y)

    real_sweep = decomposition._Beside._sweep
    monkeypatch.setattr(decomposition._Beside, "_sweep", sweep_beside)
    monkeypatch.setattr(decomposition._Beside, "finish", finish)
    monkeypatch.setattr(Master, "add_cuts", add_cuts)
    with make_runner(2) as runner:
        solve_design(inst, DesignParams(method="benders", time_limit=120, lp_phase_share=0.0,
                                        max_iterations=3, beside_designs=4, gap=1e-9),
                     runner=runner)
    designs = [(y, v, c) for y, v, c in offered
               if not any(np.array_equal(y, fy) and np.allclose(c, fc) for fy, fc in finals)]
    assert designs
    for y, v, cap in designs:
        assert [c for c in cut_at if c[0] is not None and np.array_equal(c[0], y)
                and np.allclose(c[1], cap)], "no cut at a design swept beside the master"
        assert [value for value, cy, cv in listed
                if np.array_equal(np.asarray(cy, dtype=bool), y) and np.allclose(cv, v)], \
            "a design swept beside the master is not a candidate"


def test_a_sweep_beside_the_master_that_fails_fails_the_solve(setup, monkeypatch):
    """An error in the thread beside the master reaches the caller (not a silent bound)."""
    from allocator.design import decomposition
    from allocator.design.sweep import make_runner

    def boom(self, y, volume):
        raise RuntimeError("sweep beside the master failed")

    real_call = decomposition._Sweep.__call__

    def call(self, y, volume, timed=True):  # what the thread had not started when it ended
        if not timed:
            boom(self, y, volume)
        return real_call(self, y, volume, timed)

    monkeypatch.setattr(decomposition._Sweep, "beside", boom)
    monkeypatch.setattr(decomposition._Sweep, "__call__", call)
    inst = setup[0]
    with make_runner(2) as runner, pytest.raises(RuntimeError, match="beside the master"):
        solve_design(inst, DesignParams(method="benders", time_limit=120, lp_phase_share=0.0,
                                        master_inout=0.5, gap=1e-9), runner=runner)


def test_a_limit_shorter_than_the_first_sweep_still_gives_a_checked_design_and_a_bound(setup):
    """With the time gone after the first sweep, Benders neither computes the wait-and-see
    LP bound (about three sweeps) nor sweeps the master's design: the first master design
    goes to the exact evaluation as it is, and the bound is the relaxed master's LP (at a
    10 s limit on Staffordshire this took 21 s, where it took 63 s before)."""
    from allocator.core.check import check

    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    res = solve_design(inst, DesignParams(method="benders", time_limit=0.01, gap=0.0))
    assert res.status.has_solution and res.solution is not None
    assert check(inst, res.solution, reported=res).ok
    assert res.extra["wait_and_see_bound"] is None
    assert not [h for h in res.extra["iterations"] if h.get("phase") != "relaxed"]
    assert res.bound is not None and res.bound <= optimum + 1e-6 * abs(optimum)
    assert res.objective >= optimum - 1e-6 * abs(optimum)


def test_bound_only_iterations_spend_the_time_the_final_stage_left(setup, monkeypatch):
    """The cut loop stopped by its time share with most of the limit left: the master
    iterations after the final stage raise the bound (never above the optimum, never
    falling), change neither the design nor its cost, and reach the bound of a loop that was
    never stopped (the Benders bound with LP recourse)."""
    from allocator.design import decomposition

    inst, ds, base, D = setup
    # the Benders loop's own bound: the extensive form after it (which closes this market) off
    monkeypatch.setattr(decomposition, "_extensive_after", lambda ctx, res, max_columns: res)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    common = dict(method="benders", time_limit=120, lp_phase_share=0.0, master_inout=0.0,
                  gap=1e-9)
    full = solve_design(inst, DesignParams(**common))
    # a share far below one iteration's time: both short runs stop after their first master
    # iteration, whatever the machine's speed (0.001 of 120 s let a fast run do two, a slow
    # one one: seen once in CI, the two designs then differed)
    short = DesignParams(**common, benders_share=1e-7)
    after = solve_design(inst, short)
    with monkeypatch.context() as m:
        m.setattr(decomposition, "_bound_after", lambda ctx, loop, res: res)
        before = solve_design(inst, short)
    assert after.extra["bound_only_iterations"] >= 1
    assert "bound_only_iterations" not in before.extra
    assert after.objective == pytest.approx(before.objective, rel=1e-9)
    assert before.bound < after.bound <= optimum + 1e-6 * abs(optimum)
    assert after.bound == pytest.approx(full.bound, rel=1e-6)
    lows = [h["lower_bound"] for h in after.extra["iterations"]]
    assert lows == sorted(lows)
    assert after.extra["iterations"][-1].get("phase") == "bound only"


def _all_block(seed: int):
    market = tiny_market()
    inst = with_scenarios(apply_design(market, designs()["all_block"]),
                          generate_scenarios(market, 3, seed=seed))
    ds = demands(inst)
    return inst, ds, Problem.from_instance(inst, mode="design"), expected_lot_demand(inst, ds)


def test_whole_capacity_marks_the_bids_only_whole_placements_draw_on():
    """A bid's recourse capacity is floor(V) in a lot without framework whose needs all
    have whole quantities (placements), where the provider's contract in force is whole."""
    inst, ds, base, _ = _all_block(1)
    lots = [inst.lots[li].id for li in base.holder_lot[design_holders(base)]]
    whole = whole_capacity(inst, base, ds)
    # all block: the two bed lots; not the hours lot (packages of 7.5 hours)
    assert [w for w, lot in zip(whole, lots, strict=True) if lot != "hours"] \
        == [True] * sum(lot != "hours" for lot in lots)
    assert not any(w for w, lot in zip(whole, lots, strict=True) if lot == "hours")
    # hours in whole numbers only: the hours lot's bids too
    needs = tuple(n.model_copy(update={"quantity": float(round(n.quantity))})
                  for n in inst.needs)
    ds_whole = [d.__class__(d.id, d.weight, tuple(
        n.model_copy(update={"quantity": float(round(n.quantity))}) for n in d.needs))
        for d in ds]
    assert whole_capacity(inst.model_copy(update={"needs": needs}), base, ds_whole).all()
    # a framework lot: fractional volume is usable there (b in [0, x])
    mixed = with_scenarios(apply_design(tiny_market(), designs()["mixed"]),
                           generate_scenarios(tiny_market(), 3, seed=1))
    mbase = Problem.from_instance(mixed, mode="design")
    mlots = [mixed.lots[li].id for li in mbase.holder_lot[design_holders(mbase)]]
    mwhole = whole_capacity(mixed, mbase, demands(mixed))
    assert {lot for w, lot in zip(mwhole, mlots, strict=True) if w} == {"hc"}
    # a contract in force of a fractional volume: its capacity c + V is not whole
    from allocator.instance.schema import BlockContract

    bid = next(b for b in inst.block_bids if b.lot == "sl")
    held = inst.model_copy(update={"block_contracts": (
        BlockContract(provider=bid.provider, lot="sl", rate=bid.rate, volume=1.5),)})
    hbase = Problem.from_instance(held, mode="design")
    hkeys = [(hbase.provider_ids[hbase.holder_provider[h]], hbase.lot_ids[hbase.holder_lot[h]])
             for h in design_holders(hbase)]
    hwhole = dict(zip(hkeys, whole_capacity(held, hbase, ds), strict=True))
    assert hwhole[(bid.provider, "sl")] is np.False_
    assert sum(hwhole.values()) == sum(whole) - 1


@pytest.mark.parametrize("seed", [1, 3])
def test_whole_capacity_columns_close_the_gap_fractional_volumes_leave(seed):
    """The cut loop run to the end, against the extensive form's optimum: with the recourse's
    capacity in whole beds (integer W <= V) the Benders bound stays below the optimum and
    closes at least 90% of the gap the LP recourse at fractional volumes leaves (on these
    markets it leaves 8-10% of the optimum; with W about 0.01% remains)."""
    inst, ds, base, D = _all_block(seed)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    bounds = []
    for whole in (np.zeros(len(design_holders(base)), dtype=bool), None):
        master = Master(inst, base, D, [d.weight for d in ds], whole=whole)
        y, volume, bound = np.zeros(master.nb), np.zeros(master.nb), None
        for it in range(80):
            cap = master.capacity(volume)
            cuts = lp_recourse(inst, ds, D, cap, [None] * len(ds), award=y)
            if master.add_cuts(cap, cuts, y) == 0 and it:
                break
            status, y, volume, _, bound = master.solve(SolveParams(gap=0.0))
            assert bound <= optimum + 1e-6 * abs(optimum)
        bounds.append(bound)
    plain, whole_beds = bounds
    assert master.nw > 0
    assert plain < optimum - 0.05 * optimum  # the gap is there without W
    assert whole_beds >= plain + 0.9 * (optimum - plain)
    # and the whole decomposition proves it
    res = solve_design(inst, DesignParams(method="benders", time_limit=120, gap=1e-9))
    assert res.bound <= optimum + 1e-6 * abs(optimum)
    assert res.bound >= plain + 0.9 * (optimum - plain)


@pytest.mark.parametrize("seed", [1, 3])
def test_aggregated_master_with_whole_capacity_bounds_the_optimum(seed):
    """All block with a scheme that p4's highly complex block brings (DESIGN.md 9.1): the
    master holds the aggregated demand (its whole bids' capacity W, as in the cuts); every
    master bound on the way, and the decomposition's, stay below the extensive optimum."""
    from allocator.design.aggregate import grouped_aggregates
    from allocator.instance.schema import Offer

    inst, ds, _, _ = _all_block(seed)
    new = Offer.model_validate({
        "id": "new4", "provider": "p4", "zone": "z2", "service": "supported_living",
        "unit": "beds", "price": 2500.0, "capacity": 2.0, "max_complexity": "highly_complex",
        "scheme": "new4", "if_awarded": "hc"})
    inst = inst.model_copy(update={"offers": (*inst.offers, new)})
    base = Problem.from_instance(inst, mode="design")
    D = expected_lot_demand(inst, ds)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    master = Master(inst, base, D, [d.weight for d in ds], grouped_aggregates(inst, ds, D, 1))
    assert master.gated and master.nw > 0
    y, volume = np.zeros(master.nb), np.zeros(master.nb)
    for it in range(8):
        cap = master.capacity(volume)
        if master.add_cuts(cap, lp_recourse(inst, ds, D, cap, [None] * len(ds), award=y),
                           y) == 0 and it:
            break
        status, y, volume, _, bound = master.solve(SolveParams(gap=0.0), aggregated=True)
        assert bound <= optimum + 1e-6 * abs(optimum)
        y = y.astype(float)
    res = solve_design(inst, DesignParams(method="benders", time_limit=120, gap=1e-9))
    assert res.bound <= optimum + 1e-6 * abs(optimum) <= res.objective + 2e-6 * abs(optimum)
    assert res.bound >= optimum - 0.01 * abs(optimum)


def test_whole_capacity_cuts_at_the_floor_of_a_forced_fractional_volume():
    """Bids whose floor is 1.5 beds: an awarded one holds V >= 1.5 but uses floor(V) = 1
    (W = 1). The cut loop takes its cuts at floor(V) (``Master.capacity``); taken at V they
    would not cut off the master's (W, theta), and on this market the loop then stopped at
    19,198 against an optimum of 21,011. With the floor: within 0.01%."""
    inst, ds, _, _ = _all_block(5)
    bids = tuple(b.model_copy(update={"min_volume": 1.5})
                 if b.lot != "hours" and b.max_volume >= 1.5 else b for b in inst.block_bids)
    inst = inst.model_copy(update={"block_bids": bids})
    base = Problem.from_instance(inst, mode="design")
    D = expected_lot_demand(inst, ds)
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    master = Master(inst, base, D, [d.weight for d in ds])
    y, volume, bound = np.zeros(master.nb), np.zeros(master.nb), None
    fractional = False
    for it in range(80):
        cap = master.capacity(volume)
        fractional |= bool(np.any(volume[master.whole] % 1 > 1e-6))
        if master.add_cuts(cap, lp_recourse(inst, ds, D, cap, [None] * len(ds), award=y),
                           y) == 0 and it:
            break
        status, y, volume, _, bound = master.solve(SolveParams(gap=0.0))
        assert bound <= optimum + 1e-6 * abs(optimum)
        y = y.astype(float)
    assert fractional  # some master design had a whole bid at a fractional volume
    assert bound >= optimum - 1e-4 * abs(optimum)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_last_in_out_point_is_swept_when_max_iterations_ends_the_loop(setup, workers):
    """No master follows the last iteration's in-out point when ``max_iterations`` ends the
    loop: it is swept then, with one worker or two, and its cuts go in."""
    from allocator.design.sweep import make_runner

    inst = setup[0]
    with make_runner(workers) as runner:
        res = solve_design(inst, DesignParams(method="benders", time_limit=120,
                                              lp_phase_share=0.0, max_iterations=2, gap=1e-9),
                           runner=runner)
    masters = [h for h in res.extra["iterations"] if "aggregated" in h]
    assert len(masters) == 2
    assert masters[-1].get("inout_cuts", 0) > 0


def test_the_time_a_benders_loop_leaves_goes_to_the_extensive_form(monkeypatch):
    """A tiny random market of the independent check (its r122): few lumpy needs, so the LP
    recourse is far below the MIP recourse and the loop ends in under a second with a design
    8.2% above the optimum (9,779.66 against 9,041.38, the optimum of an independent
    implementation trying every award vector). The extensive form fits and closes it in the
    time left; the loop's own result is kept beside it in ``extra``."""
    from allocator.design import decomposition
    from allocator.instance.io import load_instance

    inst = load_instance(Path(__file__).parents[1] / "data" / "benders_lumpy_recourse.json")
    optimum = 9041.38467485046
    params = DesignParams(method="benders", time_limit=60, gap=1e-9)
    res = solve_design(inst, params)
    assert res.status == Status.optimal and res.solution is not None
    assert res.objective == pytest.approx(optimum, rel=1e-9)
    assert res.bound == pytest.approx(optimum, rel=1e-9)
    assert res.extra["method"] == "benders" and res.extra["extensive_after"]["status"] == "optimal"
    assert check(inst, res.solution, reported=res).ok
    with monkeypatch.context() as m:
        m.setattr(decomposition, "_extensive_after", lambda ctx, res, max_columns: res)
        alone = solve_design(inst, params)
    assert alone.status == Status.feasible and alone.objective > optimum * 1.05
    assert alone.bound is not None and alone.bound < optimum
    # too large for the extensive form: the loop's answer as it was
    small = solve_design(inst, params.model_copy(update={"max_columns": 1}))
    assert "extensive_after" not in small.extra
    assert small.objective == pytest.approx(alone.objective, rel=1e-9)


def test_a_benders_design_shows_its_own_progress_only(setup):
    """The live progress of a Benders design is the loop's (best design, design bound): the
    master MIPs, the scenarios' recourse MIPs (in this process with one worker) and the
    polishing MIP run HiGHS, whose figures are of their own problems (a master's bound below
    the design's, a polish's "gap 0.01%"). They once reached the command line's progress and
    the web job's chart. Every event is the loop's, the best never rises and the bound never
    falls."""
    from allocator.core import progress

    inst, ds, base, D = setup
    seen: list[progress.Progress] = []
    with progress.listening(seen.append):
        res = solve_design(inst, DesignParams(method="benders", time_limit=60,
                                              lp_phase_share=0.0, gap=1e-9))
    assert res.status.has_solution
    assert seen and {e.source for e in seen} == {"benders"}, {e.source for e in seen}
    best = [e.objective for e in seen if e.objective is not None]
    lows = [e.bound for e in seen if e.bound is not None]
    assert best == sorted(best, reverse=True) and lows == sorted(lows)


def test_benders_ends_with_the_extensive_form_started_from_its_design(setup, monkeypatch):
    """An explicit ``--method benders`` on a design small enough for the extensive form: the
    time the loop leaves goes to the extensive form's MIP started from Benders' design and
    allocations. The start is a whole, feasible solution of the extensive form worth exactly
    Benders' expected cost; the answer is the extensive optimum, checked."""
    from allocator.design import decomposition
    from allocator.design.extensive import design_problems, start_values
    from allocator.exact.model import build

    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    starts = []
    real = decomposition.solve_extensive

    def spy(ctx, start=None):
        assert start is not None and start.objective is not None
        problems = design_problems(ctx.instance, ctx.demands)
        model = build([(p, d.weight) for p, d in zip(problems, ctx.demands, strict=True)],
                      design=True, expected_lot_demand=ctx.lot_demand)
        v = start_values(model, problems, start)
        assert v is not None
        act = model.A @ v
        assert (act >= model.row_lo - 1e-6).all() and (act <= model.row_hi + 1e-6).all()
        assert (v >= model.col_lo - 1e-9).all() and (v <= model.col_hi + 1e-9).all()
        starts.append((float(model.c @ v + model.offset), start.objective))
        return real(ctx, start=start)

    monkeypatch.setattr(decomposition, "solve_extensive", spy)
    res = solve_design(inst, DesignParams(method="benders", time_limit=60, gap=1e-9,
                                          lp_phase_share=0.0))
    assert res.extra["method"] == "benders" and "extensive_after" in res.extra
    assert len(starts) == 1 and starts[0][0] == pytest.approx(starts[0][1], rel=1e-9)
    assert res.objective == pytest.approx(optimum, rel=1e-6)
    assert res.status == Status.optimal and res.solution is not None
    assert check(inst, res.solution, reported=res).ok


def test_auto_runs_the_extensive_form_beside_benders(setup):
    """``auto`` on a weighted design small enough for the extensive form: Benders here and the
    extensive form in a process of its own, both for the whole limit; the answer is the
    optimum (brute force in the extensive form alone), checked, with the other method's
    figures in ``extra``. The extensive form alone where Benders does not apply
    (lexicographic) or the model is above ``hybrid_columns``."""
    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    res = solve_design(inst, DesignParams(time_limit=60, gap=1e-9))
    assert res.extra["method"] == "benders+extensive"
    # the other process's figures, or, where the loop ended first and the extensive form
    # here proved the optimum before that process answered, this one's
    beside = res.extra.get("extensive_beside") or res.extra["extensive_after"]
    assert isinstance(beside, str) and beside.startswith("stopped") or (
        beside["status"] in ("optimal", "feasible") and beside["objective"] is not None)
    assert res.objective == pytest.approx(optimum, rel=1e-6)
    assert res.status == Status.optimal and res.solution is not None
    assert res.bound is not None and res.bound <= res.objective + 1e-6
    assert check(inst, res.solution, reported=res).ok
    lex = solve_design(inst, DesignParams(time_limit=60, objective="lexicographic"))
    assert lex.extra["method"] == "extensive"
    big = solve_design(inst, DesignParams(time_limit=60, hybrid_columns=1))
    assert big.extra["method"] == "extensive"


def test_auto_without_a_benders_design_gives_the_extensive_forms_answer(setup, monkeypatch):
    """Benders ended with no design (a limit shorter than its first evaluation): the
    extensive form beside it then answers, with the larger bound, never above its cost."""
    from allocator.core.result import Result
    from allocator.design import decomposition

    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    monkeypatch.setattr(decomposition, "solve_benders", lambda ctx, extensive_after=True: Result(
        status=Status.time_limit_no_solution, solver="highs-design", bound=optimum * 0.5))
    res = solve_design(inst, DesignParams(time_limit=60, gap=1e-9))
    assert res.extra["method"] == "benders+extensive"
    assert res.extra["benders_first"] == {"status": "time_limit_no_solution",
                                          "bound": optimum * 0.5}
    assert res.status == Status.optimal and res.objective == pytest.approx(optimum, rel=1e-6)
    assert res.bound is not None and res.bound <= res.objective
    assert check(inst, res.solution, reported=res).ok


def test_auto_keeps_benders_answer_when_the_extensive_form_gives_none(setup, monkeypatch):
    """The extensive form's process late, failed or dead: Benders' answer, checked, says so;
    the process is not left running."""
    import multiprocessing

    from allocator.design import decomposition

    inst, ds, base, D = setup
    started = []
    real_start = multiprocessing.get_context("spawn").Process.start

    def start(self):
        started.append(self)
        return real_start(self)

    monkeypatch.setattr(multiprocessing.get_context("spawn").Process, "start", start)
    monkeypatch.setattr(decomposition, "_receive",
                        lambda conn, timeout: (None, "no answer 5 s after the deadline"))
    res = solve_design(inst, DesignParams(time_limit=20, gap=1e-9, lp_phase_share=0.0))
    assert res.extra["method"] == "benders+extensive"
    if res.status != Status.optimal:  # a proven Benders answer stops the other at once
        assert res.extra["extensive_beside"] == "no answer 5 s after the deadline"
    assert res.status.has_solution and check(inst, res.solution, reported=res).ok
    assert len(started) == 1 and not started[0].is_alive()


def test_the_extensive_process_sends_its_answer_or_its_error(setup):
    """What the process runs, here in this process: the extensive form's answer on the pipe,
    within the time it was given; an error is sent as text, never raised."""
    import multiprocessing
    import time

    from allocator.design.decomposition import _receive, extensive_beside

    inst, ds, base, D = setup
    receive, send = multiprocessing.Pipe(duplex=False)
    extensive_beside(send, inst, DesignParams(gap=0.0), time.time() + 30)
    res, note = _receive(receive, 1.0)
    assert note == "" and res is not None and res.status == Status.optimal
    assert res.objective == pytest.approx(
        solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective, rel=1e-9)
    receive, send = multiprocessing.Pipe(duplex=False)
    extensive_beside(send, inst, None, time.time() + 30)  # no parameters: an error
    res, note = _receive(receive, 1.0)
    assert res is None and note.startswith("AttributeError")
    receive, send = multiprocessing.Pipe(duplex=False)
    send.close()  # a process that died before answering
    assert _receive(receive, 1.0) == (None, "its process ended without an answer (EOFError)")


def test_auto_gives_the_time_left_to_the_extensive_form_when_its_process_dies(monkeypatch):
    """Seen in CI: the extensive form's process ended without an answer, and Benders, whose
    cuts come from the LP recourse, had stopped at 0.1 s of 30 s with a bound 32% below the
    optimum. The time Benders leaves now goes to the extensive form in this process, which
    proves the brute-force optimum."""
    from random_instances import random_instance
    from reference import brute_force

    from allocator.design import decomposition

    inst = random_instance(26, design=True, n_scenarios=0)
    ref = brute_force(inst)
    assert ref.objective is not None
    note = "its process ended without an answer (EOFError)"
    monkeypatch.setattr(decomposition, "_receive", lambda conn, timeout: (None, note))
    res = solve_design(inst, DesignParams(time_limit=30, gap=0.0))
    assert res.extra["method"] == "benders+extensive"
    assert res.extra["extensive_beside"] == note
    assert res.extra["extensive_after"]["status"] == "optimal"
    assert res.status == Status.optimal
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    assert check(inst, res.solution, reported=res).ok


def test_auto_runs_the_extensive_form_here_too_when_the_loop_ends_early(monkeypatch):
    """When the Benders loop ends before the deadline (no cut is new) and the process beside
    it has not answered, this core no longer waits idle: the extensive form runs here too,
    on one thread, started from the loop's design. On seed 26 the loop stops at 0.1 s with a
    bound 32% below the optimum; with the other process silent (its answer held back) the
    extensive form here proves the brute-force optimum, and the answer says so."""
    import time

    from random_instances import random_instance
    from reference import brute_force

    from allocator.design import decomposition

    inst = random_instance(26, design=True, n_scenarios=0)
    ref = brute_force(inst)
    assert ref.objective is not None

    def silent(conn, timeout):
        time.sleep(min(timeout, 2.0))
        return None, "held back by the test"

    monkeypatch.setattr(decomposition, "_receive", silent)
    res = solve_design(inst, DesignParams(time_limit=30, gap=0.0))
    assert res.extra["method"] == "benders+extensive"
    assert "extensive_beside" not in res.extra  # returned before the other process answered
    assert res.extra["extensive_after"]["status"] == "optimal"
    assert res.status == Status.optimal
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    assert check(inst, res.solution, reported=res).ok


def test_a_process_beside_that_is_killed_is_named_with_its_signal(monkeypatch):
    """A CI run once saw the extensive form's process end with no answer and nothing in the
    log. Its exit code now goes into the note (a signal by name), and the time Benders leaves
    still goes to the extensive form here. The process is killed (SIGKILL) as soon as it has
    started; Benders waits until the parent has read its end."""
    import multiprocessing
    import os
    import signal
    import threading

    from random_instances import random_instance
    from reference import brute_force

    from allocator.design import decomposition

    inst = random_instance(26, design=True, n_scenarios=0)
    ref = brute_force(inst)
    assert ref.objective is not None
    spawn = multiprocessing.get_context("spawn")
    real_start, real_receive, real_benders = (spawn.Process.start, decomposition._receive,
                                              decomposition.solve_benders)
    read = threading.Event()

    def start(self):
        real_start(self)
        os.kill(self.pid, signal.SIGKILL)
        self.join(timeout=10)

    def receive(conn, timeout):
        try:
            return real_receive(conn, timeout)
        finally:
            read.set()

    def benders(ctx, extensive_after=True):
        assert read.wait(timeout=30)
        return real_benders(ctx, extensive_after=extensive_after)

    monkeypatch.setattr(spawn.Process, "start", start)
    monkeypatch.setattr(decomposition, "_receive", receive)
    monkeypatch.setattr(decomposition, "solve_benders", benders)
    res = solve_design(inst, DesignParams(time_limit=30, gap=0.0))
    assert res.extra["extensive_beside"] == ("its process ended without an answer (EOFError); "
                                             "the process was ended by SIGKILL")
    assert res.status == Status.optimal
    assert res.objective == pytest.approx(ref.objective, rel=1e-9)
    assert check(inst, res.solution, reported=res).ok
    from allocator.core.processes import exit_in_words

    assert exit_in_words(3) == "exited with code 3" and exit_in_words(-11) == "was ended by SIGSEGV"


def test_the_extensive_process_answers_without_a_usable_stderr(setup, monkeypatch):
    """faulthandler needs a stderr with a file descriptor; a process without one (a service
    with stderr closed) still answers rather than failing before its solve."""
    import multiprocessing
    import sys
    import time

    from allocator.design.decomposition import _receive, extensive_beside

    inst, ds, base, D = setup
    monkeypatch.setattr(sys, "stderr", None)
    receive, send = multiprocessing.Pipe(duplex=False)
    extensive_beside(send, inst, DesignParams(gap=0.0), time.time() + 30)
    res, note = _receive(receive, 1.0)
    assert note == "" and res is not None and res.status == Status.optimal


def test_the_wait_and_see_bound_is_skipped_only_where_it_cannot_pay():
    """The wait-and-see LP is at most the relaxed phase's best point's value: it is computed
    only when that value is more than WAIT_AND_SEE_MIN_GAIN above the bound so far."""
    from allocator.design.decomposition import (
        WAIT_AND_SEE_MIN_GAIN,
        _CutLoop,
        _wait_and_see_may_pay,
    )

    loop = _CutLoop(master=None, sweep=None, wait_and_see=None)  # type: ignore[arg-type]
    assert _wait_and_see_may_pay(loop)  # no bound yet
    loop.raise_bound(100_000.0)
    assert _wait_and_see_may_pay(loop)  # no relaxed point yet
    loop.relaxed_upper = 100_000.0 * (1 + WAIT_AND_SEE_MIN_GAIN / 2)
    assert not _wait_and_see_may_pay(loop)
    loop.relaxed_upper = 100_000.0 * (1 + 2 * WAIT_AND_SEE_MIN_GAIN)
    assert _wait_and_see_may_pay(loop)


def test_a_relaxed_phase_out_of_time_skips_a_wait_and_see_bound_that_cannot_pay(setup,
                                                                               monkeypatch):
    """End to end, with a relaxed phase that ran out of time far from its best point: the
    wait-and-see LP runs, and does not when the threshold says it cannot pay; either way the
    bound is a bound."""
    import allocator.design.decomposition as dec

    inst, ds, base, D = setup
    optimum = solve_design(inst, DesignParams(method="extensive", gap=0.0)).objective
    calls = []
    real = dec._Sweep.wait_and_see

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(dec._Sweep, "wait_and_see", counted)
    monkeypatch.setattr(dec, "_relaxed_phase", lambda ctx, loop: (
        setattr(loop, "relaxed_upper", 1.0e9), loop.raise_bound(-1.0e9), False)[-1])
    for gain, expect in ((0.005, 1), (1.0e9, 0)):
        calls.clear()
        monkeypatch.setattr(dec, "WAIT_AND_SEE_MIN_GAIN", gain)
        res = solve_design(inst, DesignParams(method="benders", time_limit=60, gap=1e-9))
        assert len(calls) == expect
        assert res.bound is not None and res.bound <= optimum + 1e-6 * abs(optimum)
        ws = res.extra["wait_and_see_bound"]
        assert (ws is None) == (expect == 0)
        assert ws is None or ws <= optimum + 1e-6 * abs(optimum)
