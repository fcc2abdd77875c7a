"""What a MIP backend returns, in our own status vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from allocator.core.result import Status
from allocator.exact.model import MatrixModel


@dataclass(frozen=True)
class MatrixSolve:
    """Raw outcome of one MIP solve (objective and bound include the model's offset)."""

    status: Status
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    runtime_s: float
    message: str = ""


@dataclass(frozen=True)
class SolverOptions:
    time_limit: float = 60.0
    gap: float = 1e-7
    threads: int | None = None
    verbose: bool = False
    seed: int = 0


def add_row(model: MatrixModel, coeffs: np.ndarray, lo: float, hi: float) -> MatrixModel:
    """A copy of ``model`` with one more row lo <= coeffs . x <= hi."""
    from dataclasses import replace

    row = sp.csr_matrix(np.asarray(coeffs, dtype=float).reshape(1, -1))
    return replace(
        model,
        A=sp.vstack([model.A, row], format="csr"),
        row_lo=np.r_[model.row_lo, lo],
        row_hi=np.r_[model.row_hi, hi],
        row_names=model.row_names + ("lexicographic unmet cap",) if model.row_names else (),
        row_kinds=model.row_kinds + (("lexicographic unmet cap", model.A.shape[0],
                                      model.A.shape[0] + 1),),
    )
