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

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .check import check
    from .io import load_instance, save_instance
    from .problem import Problem
    from .result import Result, Solution, Status
    from .schema import Instance
    from .solve import SolveParams, solve

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Instance": ".schema",
    "Problem": ".problem",
    "solve": ".solve",
    "SolveParams": ".solve",
    "Result": ".result",
    "Status": ".result",
    "Solution": ".result",
    "check": ".check",
    "load_instance": ".io",
    "save_instance": ".io",
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


class _Package(types.ModuleType):
    """Keeps ``allocator.check`` and ``allocator.solve`` the functions, not their modules.

    Importing a submodule sets it as an attribute of its package, which would hide the
    function of the same name once anything imported ``allocator.check`` or
    ``allocator.solve`` directly (an eager ``from .solve import solve`` has the same
    effect as this hook: the package attribute is the function).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if _EXPORTS.get(name) == f".{name}" and isinstance(value, types.ModuleType):
            value = getattr(value, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
