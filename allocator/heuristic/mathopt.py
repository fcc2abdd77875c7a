"""Sparse LPs and MIPs handed to OR-Tools MathOpt (its bundled HiGHS) as one protocol buffer.

Building the model variable by variable through the Python API costs more than solving the
small models of :mod:`.lns`; the proto is filled from numpy arrays instead. OR-Tools is
imported here: child process only, never next to highspy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class MatrixAnswer:
    """status: "optimal", "feasible" (a solution, not proven), "none"."""

    status: str
    objective: float | None
    x: np.ndarray | None
    row_dual: np.ndarray | None  # for min problems with <= rows: <= 0


def solve_matrix(c: np.ndarray, A: sp.csr_matrix, row_hi: np.ndarray, col_hi: np.ndarray, *,
                 integer: np.ndarray | None = None, offset: float = 0.0,
                 time_limit: float | None = None, node_limit: int | None = None,
                 seed: int = 0, hint: np.ndarray | None = None, solver: str = "highs",
                 tolerance: float = 1e-4, threads: int | None = None) -> MatrixAnswer:
    """min c.x + offset  s.t.  A x <= row_hi,  0 <= x <= col_hi,  x integer where ``integer``.

    Parameters
    ----------
    time_limit
        Seconds (wall clock), or None.
    node_limit
        Branch-and-bound nodes (a work limit: reproducible), or None.
    hint
        A starting solution (MIPs).
    solver
        ``"highs"`` (simplex / branch and bound) or ``"pdlp"`` (first-order LP: scales to
        huge LPs, answers within a relative ``tolerance``; its duals are approximate).
    threads
        Solver threads (None: the solver's default, one for PDLP).
    """
    from ortools.math_opt import model_parameters_pb2, model_pb2
    from ortools.math_opt.core.python import solver as core
    from ortools.math_opt.python import mathopt

    n = len(c)
    m_rows = A.shape[0]
    mp = model_pb2.ModelProto()
    v = mp.variables
    v.ids.extend(range(n))
    v.lower_bounds.extend(np.zeros(n).tolist())
    v.upper_bounds.extend(np.asarray(col_hi, dtype=float).tolist())
    v.integers.extend((np.zeros(n, dtype=bool) if integer is None else integer).tolist())
    nz = np.nonzero(c)[0]
    mp.objective.maximize = False
    mp.objective.offset = float(offset)
    mp.objective.linear_coefficients.ids.extend(nz.tolist())
    mp.objective.linear_coefficients.values.extend(np.asarray(c)[nz].tolist())
    lc = mp.linear_constraints
    lc.ids.extend(range(m_rows))
    lc.lower_bounds.extend([-np.inf] * m_rows)
    lc.upper_bounds.extend(np.asarray(row_hi, dtype=float).tolist())
    coo = A.tocsr()
    coo.sum_duplicates()
    coo.sort_indices()
    rows = np.repeat(np.arange(m_rows), np.diff(coo.indptr))
    mat = mp.linear_constraint_matrix
    mat.row_ids.extend(rows.tolist())
    mat.column_ids.extend(coo.indices.tolist())
    mat.coefficients.extend(coo.data.tolist())
    is_mip = integer is not None and bool(integer.any())
    params = mathopt.SolveParameters(
        time_limit=None if time_limit is None else timedelta(seconds=max(0.01, time_limit)),
        node_limit=node_limit, random_seed=int(seed) % 2**30 if not solver == "pdlp" else None,
        threads=threads,
        enable_output=False, relative_gap_tolerance=1e-7 if is_mip else None)
    if solver == "pdlp":
        crit = params.pdlp.termination_criteria.simple_optimality_criteria
        crit.eps_optimal_relative = tolerance
        crit.eps_optimal_absolute = tolerance
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    if hint is not None:
        h = model_params.solution_hints.add()
        h.variable_values.ids.extend(range(n))
        h.variable_values.values.extend(np.asarray(hint, dtype=float).tolist())
    kind = mathopt.SolverType.PDLP if solver == "pdlp" else mathopt.SolverType.HIGHS
    try:
        res = core.solve(mp, kind.value,
                         mathopt.StreamableSolverInitArguments().to_proto(), params.to_proto(),
                         model_params, None, mathopt.CallbackRegistration().to_proto(), None,
                         None)
    except Exception as exc:
        # OR-Tools refuses an answer it cannot vouch for with pybind11_abseil's StatusNotOk
        # (seen once, PDLP on 3 million pairs at XL: "incompatible basis and dual solution
        # ... [INTERNAL]"), which used to end the whole search process. No answer from this
        # solve: the callers go on without it (an LP bound not proven, a neighbourhood not
        # improved). Anything else is a bug and propagates.
        if type(exc).__name__ != "StatusNotOk":
            raise
        return MatrixAnswer("none", None, None, None)
    optimal = res.termination.reason == mathopt.TerminationReason.OPTIMAL.value
    if not res.solutions or not res.solutions[0].HasField("primal_solution"):
        return MatrixAnswer("none", None, None, None)
    primal = res.solutions[0].primal_solution
    x = np.zeros(n)
    x[np.array(primal.variable_values.ids, dtype=np.int64)] = np.array(
        primal.variable_values.values)
    dual = None
    for s in res.solutions:
        if s.HasField("dual_solution"):
            dual = np.zeros(m_rows)
            dv = s.dual_solution.dual_values
            dual[np.array(dv.ids, dtype=np.int64)] = np.array(dv.values)
            break
    return MatrixAnswer("optimal" if optimal else "feasible", float(primal.objective_value), x,
                        dual)
