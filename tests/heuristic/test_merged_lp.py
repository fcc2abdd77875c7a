"""Needs of one type merged in the LP (``lp.need_types``, ``merged_lp_model``, ``unmerge``).

The merged LP is the relaxation with each type's needs added up; its optimum must equal the
relaxation's, and its answer, handed back need by need, must be an answer of the relaxation
of the same cost. Markets here get copies of a third of their needs (new ids, nothing else
changed), so that types of several needs exist beside needs of their own. HiGHS only (this
process never loads OR-Tools)."""

from __future__ import annotations

import numpy as np
import pytest

from allocator.core.problem import Problem
from allocator.heuristic import lp as lp_module
from allocator.heuristic.data import from_problem
from allocator.heuristic.lp import lp_model, merged_lp_model, need_types, solve_lp, unmerge

from .market import market_instance


def _market(seed: int):
    inst = market_instance(90, 8, 4, seed, tightness=1.4)
    rng = np.random.default_rng(seed)
    needs = list(inst.needs)
    copies = [n.model_copy(update={"id": f"{n.id}-copy{c}"})
              for n in rng.choice(needs, size=len(needs) // 3, replace=False)
              for c in range(int(rng.integers(1, 4)))]
    inst = inst.model_copy(update={"needs": tuple(needs + copies)})
    return from_problem(Problem.from_instance(inst))


def _signature(d, n: int) -> bytes:
    a, b = d.need_start[n], d.need_start[n + 1]
    parts = [np.float64(d.unmet_cost[n]).tobytes()]
    parts += [np.ascontiguousarray(getattr(d, f)[a:b]).tobytes() for f in lp_module._PAIR_FIELDS]
    return b"|".join(parts)


@pytest.mark.parametrize("seed", range(6))
def test_types_are_exactly_the_needs_with_equal_options(seed: int) -> None:
    d = _market(seed)
    t = need_types(d, np.arange(d.n_needs))
    sig = [_signature(d, n) for n in range(d.n_needs)]
    assert len(set(sig)) == len(t.reps) < d.n_needs
    for n in range(d.n_needs):
        assert sig[n] == sig[t.reps[t.of[n]]]
    assert len({sig[r] for r in t.reps}) == len(t.reps)  # no two types alike
    assert np.array_equal(np.bincount(t.of), t.count)
    for k in range(len(t.reps)):  # ranks 0..count-1 within each type
        assert sorted(t.rank[t.of == k]) == list(range(int(t.count[k])))


def test_a_hash_collision_is_caught_by_the_field_by_field_check(monkeypatch) -> None:
    d = _market(0)
    honest = need_types(d, np.arange(d.n_needs))
    monkeypatch.setattr(lp_module, "_need_keys",
                        lambda d, needs, *a: np.zeros(len(needs), dtype=np.uint64))
    fooled = need_types(d, np.arange(d.n_needs))
    # every need collides with the first: each need unlike it must still be apart from it
    assert len(fooled.reps) >= len(honest.reps)
    for k in range(len(fooled.reps)):
        members = np.nonzero(fooled.of == k)[0]
        assert len(set(honest.of[members])) == 1


@pytest.mark.parametrize("seed", range(6))
def test_the_merged_lp_is_the_lp_and_its_answer_is_an_answer_of_the_lp(seed: int) -> None:
    d = _market(seed)
    needs = np.arange(d.n_needs)
    model, pairs, used = lp_model(d, needs)
    value, _, _ = solve_lp(model, 60.0)
    merged, types, used_m = merged_lp_model(d, needs)
    assert np.array_equal(used, used_m)
    assert merged.n_cols < model.n_cols
    value_m, x_m, _ = solve_lp(merged, 60.0)
    assert value is not None and value_m is not None
    assert value_m == pytest.approx(value, rel=1e-9, abs=1e-6)
    # handed back need by need: each need at most one in all, every row within its
    # capacity, the same cost of its x columns
    got_pairs, share = unmerge(d, types, x_m)
    assert np.array_equal(got_pairs, pairs)
    assert ((share >= 0) & (share <= 1 + 1e-9)).all()
    per_need = np.bincount(d.pair_need[pairs], weights=share, minlength=d.n_needs)
    assert (per_need <= 1 + 1e-7).all()
    n_x = len(pairs)
    x_full = np.r_[share, np.zeros(model.n_cols - n_x)]
    load = model.A[d.n_needs:d.n_needs + len(used)] @ x_full  # b columns at 0: no funding
    assert (load <= model.row_hi[d.n_needs:d.n_needs + len(used)] + 1e-6).all()
    x_cost = float(model.c[:n_x] @ share)
    x_cols_m = int((d.need_start[types.reps + 1] - d.need_start[types.reps]).sum())
    assert x_cost == pytest.approx(float(merged.c[:x_cols_m] @ x_m[:x_cols_m]), rel=1e-9,
                                   abs=1e-6)
    # a whole merged answer (here each column rounded down: still feasible) comes back whole,
    # each column's count spread over as many needs of its type
    whole = np.floor(x_m[:x_cols_m] + 1e-9)
    _, share_w = unmerge(d, types, whole)
    assert set(np.unique(share_w)) <= {0.0, 1.0}
    assert share_w.sum() == whole.sum()
    load_w = model.A[d.n_needs:d.n_needs + len(used)] @ np.r_[share_w, np.zeros(model.n_cols - n_x)]
    assert (load_w <= model.row_hi[d.n_needs:d.n_needs + len(used)] + 1e-6).all()


@pytest.mark.parametrize("seed", range(700, 712))
def test_merged_lp_of_each_component_with_needs_that_have_no_option(seed: int) -> None:
    """Components as the search solves them, on the brute-force suite's random markets (some
    needs there have no eligible pair: a component of needs without pairs once crashed the
    types), with their unmet-only phase-1 problem too."""
    from random_instances import random_instance

    from allocator.heuristic.data import components
    from allocator.heuristic.portfolio import tie_weight, unmet_only

    p = Problem.from_instance(random_instance(seed, lexicographic=True))
    for problem in (p, unmet_only(p, tie_weight(p))):
        d = from_problem(problem)
        n_comp, labels = components(d)
        for comp in range(n_comp):
            needs = np.nonzero(labels == comp)[0]
            types = need_types(d, needs)
            assert types.count.sum() == len(needs)
            model, _, used = lp_model(d, needs)
            merged, _, used_m = merged_lp_model(d, needs)
            assert np.array_equal(used, used_m)
            if len(used) == 0:
                continue
            value, _, _ = solve_lp(model, 60.0)
            value_m, x_m, _ = solve_lp(merged, 60.0)
            assert value is not None and value_m == pytest.approx(value, rel=1e-9, abs=1e-6)
            unmerge(d, types, x_m)


def test_the_brute_force_markets_have_needs_without_options() -> None:
    from random_instances import random_instance

    empty = 0
    for seed in range(700, 712):
        d = from_problem(Problem.from_instance(random_instance(seed, lexicographic=True)))
        empty += int((np.diff(d.need_start) == 0).sum())
    assert empty > 0
