"""HiGHS on the exact model next to the search: warm-started, fed, and stopped on time.

Main process only (highspy; never next to OR-Tools). The portfolio's ``auto`` runs this while
the search goes on in its child process:

* the MIP starts from the search's best assignment (a MIP start);
* whenever HiGHS offers to take a user solution (``kCallbackMipUserSolution``), the search's
  newest better assignment, if any, is handed over, so that HiGHS prunes with it;
* HiGHS's own time limit is not checked during its root cut rounds (measured: 40 s asked,
  70 s taken on a county), so an interrupt callback stops it at the deadline as well;
* the model is cut into its independent blocks (connected components of the rows and columns:
  no row links two blocks), and each block is a MIP of its own (:func:`solve_blocks`). HiGHS
  does not look for such blocks, and its branch and bound over the whole model interleaves
  them: a block that alone closes in a second stays open behind a larger one. Measured on
  ``zoo-blockonly-S`` (three blocks), 10 s: the whole model's bound 106,495.6 (106,497.5 at
  30 s), the blocks' 106,501.7, the smallest one closed.
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

# a block other than the last may take this share of the time left (more if its share of the
# columns is larger). On zoo-blockonly-S at 10 s a middle block (957 of 4,323 columns) then
# reaches its root cuts next to the search: the bound rose by 8 in 3 of 6 runs with 0.5, in 0
# of 6 with time shared by columns; the largest block's bound did not move after its root.
BLOCK_TIME_SHARE = 0.5


@dataclass(frozen=True)
class MipAnswer:
    status: Status
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    injected: int  # search answers handed to HiGHS while it ran
    blocks: int = 1  # independent blocks solved one after another


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
    """:func:`solve_fed` on each independent block of ``model`` in turn (:func:`blocks_of`).

    Blocks run smallest first; each but the last may take :data:`BLOCK_TIME_SHARE` of the time
    left, or its share of the columns not yet solved if larger, and the time a block does not
    use passes to the larger ones after it. Each starts
    from the newest assignment known then (``start``, or the last one ``incoming`` gave), and
    is handed the search's newer ones on its columns.

    The answer: every block's best values (a block without one keeps the start's, which is
    feasible there, since no row crosses blocks); its bound the sum of the blocks' bounds and
    the offset, None when a block has none (not reached, or stopped before its root LP);
    optimal when every block is.
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

    found: list[np.ndarray | None] = []  # each block's HiGHS values
    bound: float | None = float(model.offset)
    statuses = []
    injected = 0
    left_cols = sum(len(cols) for cols in parts)
    for cols in parts:
        now = time.monotonic()
        share = (deadline - now) * max(len(cols) / max(1, left_cols), BLOCK_TIME_SHARE)
        left_cols -= len(cols)
        take()
        base = newest[0]
        sub_A = A[:, cols]
        rows = np.flatnonzero(np.diff(sp.csr_matrix(sub_A).indptr))
        block = MatrixModel(
            c=model.c[cols], offset=0.0, A=sp.csr_matrix(sub_A[rows, :]),
            row_lo=model.row_lo[rows], row_hi=model.row_hi[rows],
            col_lo=model.col_lo[cols], col_hi=model.col_hi[cols],
            integer=model.integer[cols], demands=())

        def block_incoming(cols: np.ndarray = cols) -> np.ndarray | None:
            got = take()
            return None if got is None else got[cols]

        ans = solve_fed(block, start=None if base is None else base[cols],
                        deadline=min(deadline, now + share) if left_cols else deadline,
                        incoming=block_incoming, gap=gap, threads=threads, seed=seed)
        injected += ans.injected
        statuses.append(ans.status)
        if ans.status in (Status.infeasible, Status.error):
            return MipAnswer(status=ans.status, values=None, objective=None, bound=None,
                             injected=injected, blocks=len(parts))
        found.append(ans.values)
        bound = None if bound is None or ans.bound is None else bound + ans.bound
    take()
    # each block's better assignment, HiGHS's or the newest search answer's: no row crosses
    # blocks, so any mix is feasible and its cost the sum of the blocks'
    values: np.ndarray | None = np.zeros(model.n_cols)
    for cols, own in zip(parts, found, strict=True):
        options = [v for v in (own, None if newest[0] is None else newest[0][cols])
                   if v is not None]
        if not options or values is None:
            values = None
            continue
        values[cols] = min(options, key=lambda v: float(model.c[cols] @ v))
    if all(st == Status.optimal for st in statuses) and values is not None:
        status = Status.optimal
    else:
        status = Status.feasible if values is not None else Status.time_limit_no_solution
    objective = None if values is None else float(model.c @ values + model.offset)
    return MipAnswer(status=status, values=values, objective=objective, bound=bound,
                     injected=injected, blocks=len(parts))


def solve_fed(model: MatrixModel, *, start: np.ndarray | None, deadline: float,
              incoming: Callable[[], np.ndarray | None], gap: float = 1e-7,
              threads: int = 1, seed: int = 0) -> MipAnswer:
    """Solve ``model`` (weighted objective) with HiGHS until ``deadline`` (monotonic).

    Parameters
    ----------
    start
        Column values of a feasible assignment (MIP start), or None.
    incoming
        Called from HiGHS's callbacks: column values of a new, better assignment from the
        search, or None.
    """
    import highspy

    from allocator.exact.highs import highs_lp, set_threads, status_of

    h = new_highs()
    h.setOptionValue("time_limit", float(max(0.05, deadline - time.monotonic())))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("random_seed", int(seed))
    set_threads(h, threads)
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
    return MipAnswer(status=status, values=values,
                     objective=float(info.objective_function_value) if has else None,
                     bound=bound if np.isfinite(bound) else None, injected=injected[0])
