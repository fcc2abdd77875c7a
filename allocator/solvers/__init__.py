"""The solver layer: the registry of solvers and the one dispatcher (:mod:`.registry`)."""

from allocator.core.params import SolveParams
from allocator.solvers.registry import (
    SOLVERS,
    SolverSpec,
    UnknownSolverError,
    certify,
    design_backend,
    get,
    names,
    solve,
)

__all__ = [
    "SOLVERS",
    "SolveParams",
    "SolverSpec",
    "UnknownSolverError",
    "certify",
    "design_backend",
    "get",
    "names",
    "solve",
]
