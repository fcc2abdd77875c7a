"""The solver registry: every solver declared once, one dispatcher, honest statuses.

Modelled on linopy's ``solver_capabilities.py``: each solver says what it solves (the
allocation model of DESIGN.md section 4, the design model of section 5), for which objectives
an ``optimal`` it returns is a proof, whether it is installed, and where its
``solve(problem, params) -> Result`` lives. The CLI, the nightly run, design, compare and the
benchmarks all ask this module, so adding a backend is one :class:`SolverSpec` here and one
module that implements its ``solve``.

:func:`solve` is the one entry point for allocation solves. After the backend answers it
applies the rules every answer obeys (:func:`certify`): ``optimal`` only when a proven bound
is within the requested gap; ``objective_kind`` is what was solved.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from allocator.core.params import SolveParams
from allocator.core.problem import Problem
from allocator.core.result import Result, Status

Mode = Literal["allocation", "design"]
Objective = Literal["weighted", "lexicographic"]
BOTH: frozenset[Objective] = frozenset({"weighted", "lexicographic"})

# Slack on the requested gap: the objective we report is recomputed exactly from the rounded
# assignment, and a MIP solver proves optimality within its own tolerances (HiGHS stops at an
# absolute gap of 1e-6 on its own objective, its mip_abs_gap, and its values are feasible to
# 1e-7 times coefficients of up to hundreds of pounds), so "within the requested gap" allows
# an absolute ABS_SLACK (a hundredth of a penny a week: seen on a small design with gap 0,
# exact objective 784.818 against HiGHS's bound 784.817997) plus a relative REL_SLACK.
ABS_SLACK = 1e-4
REL_SLACK = 1e-9


class UnknownSolverError(ValueError):
    """A solver name that is not registered, or not installed, or that cannot solve the mode."""


@dataclass(frozen=True)
class SolverSpec:
    """What one solver declares.

    name
        What users type (``--solver NAME``).
    summary
        One line for ``allocator solvers`` and ``--help``.
    modes
        ``allocation`` (section 4) and/or ``design`` (section 5; design solves go through
        :mod:`allocator.design` with this backend).
    proves
        Objectives for which the solver's own ``optimal`` may be believed. A solver outside
        this set is still allowed to return ``optimal``, but only through :func:`certify`,
        i.e. when a bound it can defend is within the requested gap.
    requires
        Python modules it needs (checked with :func:`importlib.util.find_spec`, nothing is
        imported).
    entry
        ``"module:function"`` of its ``solve(problem, params) -> Result``.
    own_process
        Whether its native library runs in child processes (OR-Tools cannot share a process
        with highspy).
    backend
        For design mode: the MIP backend name of :mod:`allocator.exact.solve` it maps to.
    """

    name: str
    summary: str
    modes: frozenset[Mode]
    proves: frozenset[Objective]
    requires: tuple[str, ...]
    entry: str
    own_process: bool = False
    backend: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def installed(self) -> bool:
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def load(self) -> Callable[[Problem, SolveParams], Result]:
        module, _, function = self.entry.partition(":")
        fn: Callable[[Problem, SolveParams], Result] = getattr(
            importlib.import_module(module), function)
        return fn


SOLVERS: dict[str, SolverSpec] = {
    spec.name: spec
    for spec in (
        SolverSpec(
            name="auto",
            summary="the portfolio (default): the search, plus HiGHS warm-started on small "
                    "instances; best answer, best bound",
            modes=frozenset({"allocation", "design"}), proves=BOTH,
            requires=("ortools", "highspy"), entry="allocator.heuristic.portfolio:solve",
            own_process=True, backend="highs"),
        SolverSpec(
            name="heuristic",
            summary="the OR-Tools search alone (LP or Lagrangian bound, rounding, local "
                    "search, LNS)",
            modes=frozenset({"allocation"}), proves=frozenset(),
            requires=("ortools", "highspy"), entry="allocator.heuristic.portfolio:solve",
            own_process=True),
        SolverSpec(
            name="highs",
            summary="the exact model on HiGHS (highspy)",
            modes=frozenset({"allocation", "design"}), proves=BOTH,
            requires=("highspy",), entry="allocator.exact.solve:solve", backend="highs"),
        SolverSpec(
            name="highs-pulp",
            summary="the exact model on HiGHS through PuLP",
            modes=frozenset({"allocation", "design"}), proves=BOTH,
            requires=("pulp", "highspy"), entry="allocator.exact.solve:solve",
            backend="highs-pulp"),
        SolverSpec(
            name="cbc",
            summary="the exact model on CBC (PuLP's bundled build); its proofs are confirmed "
                    "by HiGHS, as the bundled CBC has claimed optima it did not have",
            modes=frozenset({"allocation", "design"}), proves=frozenset(),
            requires=("pulp",), entry="allocator.exact.solve:solve", backend="cbc"),
        SolverSpec(
            name="cpsat",
            summary="the exact model on CP-SAT (integer-scaled; proofs only when the scaling "
                    "is exact)",
            modes=frozenset({"allocation"}), proves=BOTH,
            requires=("ortools",), entry="allocator.exact.cpsat:solve", own_process=True),
    )
}


def names(mode: Mode | None = None) -> tuple[str, ...]:
    """Registered solver names (of one mode), in registry order."""
    return tuple(n for n, s in SOLVERS.items() if mode is None or mode in s.modes)


def get(name: str, mode: Mode = "allocation") -> SolverSpec:
    """The spec of solver ``name``; an :class:`UnknownSolverError` naming the choices if it is
    not registered, not installed, or cannot solve ``mode``."""
    spec = SOLVERS.get(name)
    if spec is None:
        raise UnknownSolverError(
            f"unknown solver {name!r}; choose one of {', '.join(names())}")
    if mode not in spec.modes:
        raise UnknownSolverError(
            f"solver {name!r} does not solve the {mode} model; choose one of "
            f"{', '.join(names(mode))}")
    if not spec.installed():
        missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
        raise UnknownSolverError(
            f"solver {name!r} needs {', '.join(missing)}, which is not installed")
    return spec


def design_backend(name: str) -> str:
    """The exact backend a design solve with ``--solver name`` runs on."""
    backend = get(name, "design").backend
    assert backend is not None, name
    return backend


def solve(problem: Problem, params: SolveParams | None = None) -> Result:
    """Solve the allocation model (DESIGN.md section 4) with ``params.solver``.

    The one dispatcher: the backend's answer goes through :func:`certify`, so no solver claims
    more than it can prove.
    """
    params = params or SolveParams()
    spec = get(params.solver, "allocation")
    if problem.mode != "allocation":
        raise UnknownSolverError("solve() takes an allocation problem; design problems go "
                                 "through allocator.design.solve_design")
    result = spec.load()(problem, params)
    return overrun(certify(result, params, params.objective or problem.objective_kind),
                   params, problem.n_pairs)


def overrun(result: Result, params: SolveParams, n_pairs: int) -> Result:
    """An answer that took clearly longer than its time limit (more than a second and a tenth
    past it) says so, in ``extra["time_limit_overrun_s"]`` and its message: on a large market
    a short limit cannot always be kept, and the user should know why. Measured on
    ``zoo-base-L`` (784,273 pairs): ``auto`` at 5 s took 8 s (starting and stopping the search
    processes, which finish their current step); ``highs`` at 30 s took 47 s, of which 34 s
    after presolve in HiGHS's MIP set-up, before its first LP iteration, where neither its
    time limit nor its interrupt callbacks act."""
    limit = float(params.time_limit)
    over = float(result.runtime_s) - limit
    if over <= max(1.0, 0.1 * limit):
        return result
    build = f" ({result.build_s:.1f} s of it building the model)" if result.build_s else ""
    note = (f"took {result.runtime_s:.1f} s against the time limit of {limit:g} s{build}: on "
            f"{n_pairs:,} eligible pairs the solver could not stop sooner (a step it does not "
            "interrupt ran past the limit: HiGHS's set-up after presolve, or starting and "
            "stopping the search processes)")
    extra = {**result.extra, "time_limit_overrun_s": round(over, 3)}
    message = f"{result.message}; {note}" if result.message else note
    return replace(result, message=message, extra=extra)


def within_gap(objective: float | None, bound: float | None, gap: float) -> bool:
    """Whether ``bound`` proves ``objective`` within the relative ``gap`` (see ABS_SLACK)."""
    if objective is None or bound is None:
        return False
    scale = max(1.0, abs(objective))
    return objective - bound <= gap * scale + ABS_SLACK + REL_SLACK * scale


def certify(result: Result, params: SolveParams, objective_kind: str) -> Result:
    """Apply the rules every answer obeys.

    - ``optimal`` needs a proven bound within the requested gap (``params.gap``), measured on
      the exactly recomputed objective; otherwise the status is ``feasible``. For a
      lexicographic answer the first phase must be proven too (``extra["unmet_proven"]``).
    - A ``feasible`` answer whose proven gap is within the requested gap is ``optimal``:
      the proof is the bound, whoever found it.
    - ``extra["objective_kind"]`` is the objective that was solved.
    """
    extra = dict(result.extra)
    extra["objective_kind"] = objective_kind
    status = result.status
    if status.has_solution:
        g = result.gap
        proven = within_gap(result.objective, result.bound, params.gap)
        if objective_kind == "lexicographic":
            proven = proven and bool(extra.get("unmet_proven", status is Status.optimal))
        if status is Status.optimal and not proven:
            extra["claimed"] = "optimal"
            extra["certified"] = (
                "not proven: " + ("no bound" if g is None else f"gap {100 * g:.4g}% above the "
                                  f"requested {100 * params.gap:.4g}%")
                + ("" if objective_kind != "lexicographic" or extra.get("unmet_proven", True)
                   else "; the unmet term is not proven minimal"))
            status = Status.feasible
        elif status is Status.feasible and proven:
            status = Status.optimal
    return replace(result, status=status, extra=extra)
