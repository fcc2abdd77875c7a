"""HiGHS on the exact model next to the search: warm-started, fed, and stopped on time.

Main process only (highspy; never next to OR-Tools). The portfolio's ``auto`` runs this while
the search goes on in its child process:

* the MIP starts from the search's best assignment (a MIP start);
* whenever HiGHS offers to take a user solution (``kCallbackMipUserSolution``), the search's
  newest better assignment, if any, is handed over, so that HiGHS prunes with it;
* HiGHS's own time limit is not checked during its root cut rounds (measured: 40 s asked,
  70 s taken on a county), so an interrupt callback stops it at the deadline as well.

:func:`solve_blocks` solves a model's independent blocks (connected components of its rows
and columns: no row links two blocks) one by one. HiGHS does not look for such blocks, and its
branch and bound over the whole model interleaves them: a block that alone closes in seconds
stays open behind a larger one. Measured on ``zoo-blockonly-S`` (blocks of 178, 957 and 3,188
columns), one thread, alone on a core: the whole model's bound 106,495.6 in 7 s (106,497.5 in
30 s, 106,505.4 in 900 s); block by block 106,501.7 in 7 s, and the 957-column block closes
alone in 13 s, which proves 106,510.2. It serves the long bound runs of the benchmarks
(``benchmarks.bounds``, ``highs-blocks``). ``auto`` keeps :func:`solve_fed` on the whole
model: next to its two searches the niced thread gets a fifth of a core, and block by block
its bounds were no better (zoo-blockonly-S, 6 seeds) nor steadier (zoo-sharecap-S: 220,397
in 2 of 6 runs; on the whole model 220,422 in the three committed runs and 220,406 in one
later run); un-niced for the roots, the bounds rose and the searches' answers got worse by as
much.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from allocator.core.result import Status
from allocator.exact.highs import new_highs
from allocator.exact.model import MatrixModel

# in the second pass of solve_blocks, a block other than the last may take this share of the
# time left (more if its share of the columns is larger): a middle block may close, while the
# largest block's bound rarely moves after its root (zoo-blockonly-S: 30,227.6 from 1 s to
# 20 s).
BLOCK_TIME_SHARE = 0.5


@dataclass(frozen=True)
class MipAnswer:
    status: Status
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    injected: int  # search answers handed to HiGHS while it ran
    blocks: int = 1  # independent blocks solved one after another
    # HiGHS's answer was not worth the objective it reported (its warm-start defect): solved
    # again without the start, or kept with no claim and no bound
    restarted: bool = False


def blocks_of(model: MatrixModel) -> list[np.ndarray]:
    """The columns of each independent block of ``model``, smallest block first.

    Two columns are in one block when a row holds both (connected components of the
    row-column graph). A single list of every column when the model does not split, or when a
    row without columns could not hold (left to the whole model's solve to report).
    """
    from scipy.sparse.csgraph import connected_components

    A = sp.coo_matrix(model.A)
    n_rows, n_cols = A.shape
    empty = np.bincount(A.row, minlength=n_rows) == 0
    if n_cols == 0 or ((model.row_lo[empty] > 0) | (model.row_hi[empty] < 0)).any():
        return [np.arange(n_cols)]
    graph = sp.coo_matrix((np.ones(len(A.row), dtype=np.int8), (A.row, n_rows + A.col)),
                          shape=(n_rows + n_cols, n_rows + n_cols))
    _, labels = connected_components(graph, directed=False)
    col_labels = labels[n_rows:]
    _, label = np.unique(col_labels, return_inverse=True)
    label = label.ravel()
    order = np.argsort(label, kind="stable")
    cuts = np.flatnonzero(np.diff(label[order])) + 1
    parts = np.split(order, cuts)
    return sorted(parts, key=lambda cols: (len(cols), int(cols[0])))


def solve_blocks(model: MatrixModel, *, start: np.ndarray | None, deadline: float,
                 incoming: Callable[[], np.ndarray | None], gap: float = 1e-7,
                 threads: int = 1, seed: int = 0) -> MipAnswer:
    """:func:`solve_fed` on each independent block of ``model`` (:func:`blocks_of`).

    Two passes, blocks smallest first in each:

    1. **Roots.** Every block's root node only (presolve, LP, cuts, heuristics), each with
       the time left times its share of the columns not yet done: what HiGHS does on the
       whole model before it branches, so the bound is not weaker than the whole model's.
    2. **Trees.** With the time left, every block not yet proven is solved again in full;
       each but the last may take :data:`BLOCK_TIME_SHARE` of the time left (or its share of
       the columns if larger), and the time a block does not use passes to the ones after
       it. A block's bound is the larger of its two passes'.

    Each solve starts from the newest assignment known then (``start``, or the last one
    ``incoming`` gave) and is handed the search's newer ones on its columns.

    The answer takes, block by block, the cheapest of HiGHS's values and the search's newest
    answer (no row crosses blocks, so any mix is feasible and costs the sum of its blocks').
    Its bound is the offset plus the blocks' bounds, None when a block has none (not reached,
    or stopped before its root LP); it is optimal when every block is.
    """
    parts = blocks_of(model)
    if len(parts) <= 1:
        return solve_fed(model, start=start, deadline=deadline, incoming=incoming, gap=gap,
                         threads=threads, seed=seed)
    A = sp.csc_matrix(model.A)
    newest = [None if start is None else np.asarray(start, dtype=float)]

    def take() -> np.ndarray | None:
        values = incoming()
        if values is not None:
            newest[0] = np.asarray(values, dtype=float)
        return values

    def block_of(cols: np.ndarray) -> MatrixModel:
        sub_A = A[:, cols]
        rows = np.flatnonzero(np.diff(sp.csr_matrix(sub_A).indptr))
        return MatrixModel(
            c=model.c[cols], offset=0.0, A=sp.csr_matrix(sub_A[rows, :]),
            row_lo=model.row_lo[rows], row_hi=model.row_hi[rows],
            col_lo=model.col_lo[cols], col_hi=model.col_hi[cols],
            integer=model.integer[cols], demands=())

    n = len(parts)
    models = [block_of(cols) for cols in parts]
    found: list[list[np.ndarray]] = [[] for _ in parts]  # each block's HiGHS values
    bounds: list[float | None] = [None] * n
    proven = [False] * n
    injected = 0
    for root_only in (True, False):
        todo = [k for k in range(n) if not proven[k]]
        left_cols = sum(len(parts[k]) for k in todo)
        for k in todo:
            cols = parts[k]
            now = time.monotonic()
            if now >= deadline:
                break
            frac = len(cols) / max(1, left_cols)
            left_cols -= len(cols)
            share = (deadline - now) * (frac if root_only else max(frac, BLOCK_TIME_SHARE))
            take()
            base = newest[0]

            def block_incoming(cols: np.ndarray = cols) -> np.ndarray | None:
                got = take()
                return None if got is None else got[cols]

            ans = solve_fed(models[k], start=None if base is None else base[cols],
                            deadline=min(deadline, now + share) if left_cols else deadline,
                            incoming=block_incoming, gap=gap, threads=threads, seed=seed,
                            max_nodes=1 if root_only else None)
            injected += ans.injected
            if ans.status in (Status.infeasible, Status.error):
                return MipAnswer(status=ans.status, values=None, objective=None, bound=None,
                                 injected=injected, blocks=n)
            if ans.values is not None:
                found[k].append(ans.values)
            had = bounds[k]
            if ans.bound is not None:
                bounds[k] = ans.bound if had is None else max(had, ans.bound)
            proven[k] = proven[k] or ans.status == Status.optimal
    take()
    values: np.ndarray | None = np.zeros(model.n_cols)
    for cols, own in zip(parts, found, strict=True):
        options = own + ([] if newest[0] is None else [newest[0][cols]])
        if not options or values is None:
            values = None
            continue
        values[cols] = min(options, key=lambda v: float(model.c[cols] @ v))
    bound = None if any(b is None for b in bounds) else \
        float(model.offset) + sum(float(b) for b in bounds if b is not None)
    if all(proven) and values is not None:
        status = Status.optimal
    else:
        status = Status.feasible if values is not None else Status.time_limit_no_solution
    objective = None if values is None else float(model.c @ values + model.offset)
    return MipAnswer(status=status, values=values, objective=objective, bound=bound,
                     injected=injected, blocks=n)


def solve_fed(model: MatrixModel, *, start: np.ndarray | None, deadline: float,
              incoming: Callable[[], np.ndarray | None], gap: float = 1e-7,
              threads: int = 1, seed: int = 0, max_nodes: int | None = None) -> MipAnswer:
    """Solve ``model`` (weighted objective) with HiGHS until ``deadline`` (monotonic).

    Parameters
    ----------
    start
        Column values of a feasible assignment (MIP start), or None.
    incoming
        Called from HiGHS's callbacks: column values of a new, better assignment from the
        search, or None.
    max_nodes
        HiGHS's node limit (1: the root node only), or None.
    """
    import highspy

    from allocator.exact.highs import highs_lp, misreported, set_threads, status_of

    h = new_highs()
    h.setOptionValue("time_limit", float(max(0.05, deadline - time.monotonic())))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("random_seed", int(seed))
    set_threads(h, threads)
    if max_nodes is not None:
        h.setOptionValue("mip_max_nodes", int(max_nodes))
    lp = highs_lp(highspy, cost=model.c, A=model.A, col_lo=model.col_lo, col_hi=model.col_hi,
                  row_lo=model.row_lo, row_hi=model.row_hi, offset=model.offset,
                  integer=model.integer)
    h.passModel(lp)
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(np.asarray(start, dtype=float))
        sol.value_valid = True
        h.setSolution(sol)
    injected = [0]

    def interrupt(event) -> None:
        if time.monotonic() >= deadline:
            event.interrupt()

    def offer(event) -> None:
        values = incoming()
        if values is not None:
            event.data_in.setSolution(np.asarray(values, dtype=float))
            injected[0] += 1

    h.cbMipInterrupt += interrupt
    h.cbMipUserSolution += offer
    h.run()
    info = h.getInfo()
    has = info.primal_solution_status == 2
    status = status_of(h, h.getModelStatus())
    values = np.array(h.getSolution().col_value, dtype=float) if has else None
    bound = float(info.mip_dual_bound)
    if not model.integer.any():
        # an LP (a block of continuous columns only): HiGHS leaves the MIP bound at 0
        bound = float(info.objective_function_value) if status == Status.optimal else np.nan
    objective = float(info.objective_function_value) if has else None
    actual = None if values is None or objective is None else \
        misreported(model.c, model.offset, values, objective)
    if actual is not None:
        # Seen on zoo-xcapbound-2 (250 needs), warm-started: reported 48,718.64 for values worth
        # 49,608.65 (the start), "Optimal", below the LP bound 49,047.51; auto took it as proven
        # and stopped its searches at 0.6 s, 0.066% above the LP (the optimum is 49,072.3).
        # Solve again without the start, or keep the values with no claim and no bound.
        if start is not None and deadline - time.monotonic() > 0.05:
            again = solve_fed(model, start=None, deadline=deadline, incoming=incoming, gap=gap,
                              threads=threads, seed=seed, max_nodes=max_nodes)
            return MipAnswer(status=again.status, values=again.values,
                             objective=again.objective, bound=again.bound,
                             injected=injected[0] + again.injected, restarted=True)
        return MipAnswer(status=Status.feasible, values=values, objective=actual, bound=None,
                         injected=injected[0], restarted=True)
    return MipAnswer(status=status, values=values, objective=objective,
                     bound=bound if np.isfinite(bound) else None, injected=injected[0])
