"""What every ``allocator`` command shares: exit codes and how bad input is reported.

Exit codes: 0 done (solved, valid, check passed); 1 no solution, infeasible, or check
failed; 2 bad input. Bad input never shows a traceback: each problem is printed on stderr on
its own line, naming the file, table, row and field (or the option), and the command exits 2.
Imported by the command modules (``main``, ``design``, ``minicomp``, ``simulate``, ``db``,
``web``, ``template``); it imports none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from allocator.instance.schema import Instance

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def say(line: str) -> None:
    """One line on stderr, never wrapped (each problem stays on its own line)."""
    typer.echo(line, err=True)


def bad_input(lines: list[str]) -> NoReturn:
    """Print each problem on its own line and exit 2."""
    for line in lines:
        say(line)
    raise typer.Exit(EXIT_BAD_INPUT)


def load(path: Path) -> Instance:
    """Load and validate an instance, or print every problem and exit 2."""
    from allocator.instance.errors import InstanceError
    from allocator.instance.io import load_instance

    try:
        return load_instance(path)
    except InstanceError as error:
        bad_input([str(p) for p in error.problems]
                  + [f"{len(error.problems)} problem(s) in {path}"])


def validated(model: Any, settings: dict[str, Any],
              options: dict[str, str] | None = None) -> Any:
    """``model(**settings)`` (a pydantic model of options), or every bad option reported as
    bad input, by its command-line name (``--time-limit: ...``): the field's name with
    dashes, or ``options[field]`` where the option is named otherwise."""
    from pydantic import ValidationError

    def option(loc: tuple[Any, ...]) -> str:
        field = str(loc[0]) if loc else ""
        if options and field in options:
            return options[field]
        return "--" + "-".join(map(str, loc)).replace("_", "-")

    try:
        return model(**settings)
    except ValidationError as error:
        bad_input([f"{option(tuple(e['loc']))}: {e['msg']}" for e in error.errors()])
