"""What a solver returns: our own status vocabulary, the solution, and the result.

Nothing is stored on a model object: every solver returns a :class:`Result`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Outcome of a solve, mapped explicitly from each backend's own codes."""

    optimal = "optimal"  # proven optimal within the requested relative gap
    feasible = "feasible"  # a solution, not proven optimal (time limit, heuristic)
    infeasible = "infeasible"  # proven to have no solution
    time_limit_no_solution = "time_limit_no_solution"
    error = "error"

    @property
    def has_solution(self) -> bool:
        return self in (Status.optimal, Status.feasible)


# The five terms of the objective (DESIGN.md section 4), in the order they are written there.
TERMS = ("block", "framework", "quality_zone", "unmet", "transfer")
TERM_LABELS = {
    "block": "block contracts (rate x volume, plus award costs in design mode)",
    "framework": "framework / spot purchases",
    "quality_zone": "quality and out-of-zone penalties",
    "unmet": "unmet-need penalty",
    "transfer": "transfer penalty (people moved or left unmet)",
}


@dataclass(frozen=True)
class Solution:
    """An allocation, in the instance's own ids.

    assignment
        need id -> offer id (DESIGN.md clarification 2) for every need that is served;
        a need that is absent is unmet.
    block
        need id -> quantity (hours or beds of that need) paid out of the provider's block
        volume in the pair's lot; absent means 0 (all framework).
    awards
        design mode only: (provider id, lot id) -> awarded block volume V, for awarded bids.
    scenarios
        design mode with scenarios: scenario id -> that scenario's allocation.
    """

    assignment: Mapping[str, str]
    block: Mapping[str, float] = field(default_factory=dict)
    awards: Mapping[tuple[str, str], float] = field(default_factory=dict)
    scenarios: Mapping[str, Solution] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """The outcome of one solve.

    gap is (objective - bound) / max(1, |objective|) when both exist, else None (no bound:
    the gap is unknown, never reported as 0).
    """

    status: Status
    solver: str
    objective: float | None = None
    bound: float | None = None
    runtime_s: float = 0.0
    terms: Mapping[str, float] = field(default_factory=dict)
    solution: Solution | None = None
    build_s: float = 0.0
    solve_s: float = 0.0
    message: str = ""
    progress: tuple[tuple[float, float | None, float | None], ...] = ()  # (t, objective, bound)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        return gap(self.objective, self.bound)

    def summary(self) -> str:
        parts = [f"{self.solver}: {self.status.value}"]
        if self.objective is not None:
            parts.append(f"objective {self.objective:,.2f}")
        if self.bound is not None:
            parts.append(f"bound {self.bound:,.2f}")
        if self.gap is not None:
            parts.append(f"gap {100 * self.gap:.4f}%")
        parts.append(f"{self.runtime_s:.1f} s")
        return ", ".join(parts)


def gap(objective: float | None, bound: float | None) -> float | None:
    """Relative gap (objective - bound) / max(1, |objective|); None without both."""
    if objective is None or bound is None:
        return None
    return max(0.0, (objective - bound) / max(1.0, abs(objective)))
