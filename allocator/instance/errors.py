"""Errors the engine raises on bad input, each naming where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputProblem:
    """One problem found in an input: where it is and what is wrong."""

    file: str
    table: str
    row: str  # the row's id where it has one, else "row N" (1-based, as a person counts)
    field: str
    message: str

    def __str__(self) -> str:
        field = self.field and f"field '{self.field}'"
        where = ", ".join(part for part in (self.file, self.table, self.row, field) if part)
        return f"{where}: {self.message}"


class InstanceError(ValueError):
    """An instance (or another input file) failed validation.

    Carries every problem found, not just the first, so that a user can fix them in one go.
    """

    def __init__(self, problems: list[InputProblem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"... and {len(self.problems) - 50} more")
        super().__init__(f"{len(self.problems)} problem(s):\n" + "\n".join(lines))
