"""HiGHS on the exact model next to the search: warm-started, fed, and stopped on time.

Main process only (highspy; never next to OR-Tools). The portfolio's ``auto`` runs this while
the search goes on in its child process:

* the MIP starts from the search's best assignment (a MIP start);
* whenever HiGHS offers to take a user solution (``kCallbackMipUserSolution``), the search's
  newest better assignment, if any, is handed over, so that HiGHS prunes with it;
* HiGHS's own time limit is not checked during its root cut rounds (measured: 40 s asked,
  70 s taken on a county), so an interrupt callback stops it at the deadline as well.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from allocator.core.result import Status
from allocator.exact.model import MatrixModel


@dataclass(frozen=True)
class MipAnswer:
    status: Status
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    injected: int  # search answers handed to HiGHS while it ran


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

    from allocator.exact.highs import highs_lp, status_of

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(max(0.05, deadline - time.monotonic())))
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", int(threads))
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
    return MipAnswer(status=status, values=values,
                     objective=float(info.objective_function_value) if has else None,
                     bound=bound if np.isfinite(bound) else None, injected=injected[0])
