"""Care allocation engine for adult social care commissioning.

The public API, imported lazily so that ``import allocator`` loads neither a MIP backend
(highspy) nor OR-Tools, which cannot share a process::

    from allocator import load_instance, Problem, solve, SolveParams, check

    instance = load_instance("instances/tiny.json")
    result = solve(Problem.from_instance(instance), SolveParams(solver="highs"))
    print(result.summary())
    print(check(instance, result.solution, reported=result).summary())
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from allocator.core.check import check
    from allocator.core.problem import Problem
    from allocator.core.result import Result, Solution, Status
    from allocator.instance.io import load_instance, save_instance
    from allocator.instance.schema import Instance
    from allocator.solvers import SolveParams, solve

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Instance": ".instance.schema",
    "Problem": ".core.problem",
    "solve": ".solvers",
    "SolveParams": ".solvers",
    "Result": ".core.result",
    "Status": ".core.result",
    "Solution": ".core.result",
    "check": ".core.check",
    "load_instance": ".instance.io",
    "save_instance": ".instance.io",
}

__all__ = [
    "Instance",
    "Problem",
    "Result",
    "Solution",
    "SolveParams",
    "Status",
    "check",
    "load_instance",
    "save_instance",
    "solve",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'allocator' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
