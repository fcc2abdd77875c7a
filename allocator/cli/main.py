"""The ``allocator`` command line: a thin wrapper over the library.

Exit codes: 0 solved (optimal or feasible) / valid / check passed; 1 no solution, infeasible,
or check failed; 2 bad input (an invalid instance, a missing or unreadable file, a bad option).
Bad input never shows a traceback: each problem is printed on its own line, naming the file,
table, row and field.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from allocator.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from allocator.cli.common import bad_input as _bad_input
from allocator.cli.common import load as _load
from allocator.cli.common import say as _say
from allocator.cli.common import validated as _params
from allocator.cli.db import register as register_book_commands
from allocator.cli.design import register as register_design_commands
from allocator.cli.minicomp import register as register_minicomp_commands
from allocator.cli.simulate import register as register_simulate_commands
from allocator.cli.template import register as register_template_command
from allocator.cli.web import register as register_web_commands
from allocator.generate.families import COMBINED, FAMILIES
from allocator.solvers.registry import SOLVERS, UnknownSolverError, design_backend
from allocator.solvers.registry import names as solver_names

if TYPE_CHECKING:
    from allocator.core.problem import Problem
    from allocator.core.result import Result
    from allocator.instance.schema import Instance


app = typer.Typer(
    name="allocator",
    help="Care allocation engine: solve, validate, check and convert instances.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(help="Import published benchmark instances (OR-Library).",
                         no_args_is_help=True)
app.add_typer(import_app, name="import")


# the solver choices are the registry's (allocator.solvers.registry), declared once there
SolverName = StrEnum(  # type: ignore[misc]
    "SolverName", [(name.replace("-", "_"), name) for name in solver_names()])


class ObjectiveName(StrEnum):
    weighted = "weighted"
    lexicographic = "lexicographic"


class Scale(StrEnum):
    S = "S"
    M = "M"
    L = "L"
    XL = "XL"


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send file descriptor 1 to 2 for a while: solver logs must not mix with ``--json``."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded use): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _with_progress(run: Callable[[], Result], what: str, *, show: bool,
                   console: Console, currency: str = "GBP") -> Result:
    """Run ``run()`` with live progress (best objective, bound, gap) on standard error."""
    from allocator.cli.live import live_progress

    del console  # the summary's console; progress goes to standard error
    with live_progress(what, show=show, currency=currency):
        return run()


def _solver_for(inst: Instance, settings: dict[str, Any], mode: str = "auto"
                ) -> tuple[Problem, Callable[[], Result]]:
    """The problem to report on and the solve to run: an allocation solve (DESIGN.md section 4;
    bids and scenarios are not used), or a design solve (section 5) with ``--mode design`` -
    which ``auto`` picks only for imported benchmarks with bids (facility location)."""
    from allocator.core.problem import Problem

    if mode == "design" or (mode == "auto" and inst.benchmark is not None and inst.block_bids):
        from allocator.design.solve import DesignParams, solve_design

        try:  # the design model is solved exactly (or by its decomposition) on a MIP backend
            settings = {**settings, "solver": design_backend(settings["solver"])}
        except UnknownSolverError as error:
            _bad_input([f"--solver: {error}"])
        settings = {k: v for k, v in settings.items() if k != "dask"}  # allocation regions only
        design_params = _params(DesignParams, settings)
        return (Problem.from_instance(inst, mode="design"),
                lambda: solve_design(inst, design_params))
    from allocator.solvers import SolveParams, solve

    params = _params(SolveParams, settings)
    problem = Problem.from_instance(inst)
    return problem, lambda: solve(problem, params)


def _check_dask(address: str) -> None:
    """Bad input unless a dask.distributed scheduler answers at ``address``."""
    try:
        from distributed import Client
    except ImportError as error:
        _bad_input([f"--dask {address}: dask.distributed is not installed ({error})"])
    try:
        Client(address, timeout=10).close()
    except (OSError, TimeoutError, ValueError) as error:
        _bad_input([f"--dask {address}: no dask scheduler answers there ({error})"])


@app.command("solve")
def solve_command(
    instance: Annotated[Path, typer.Argument(help="Instance: .json, .xlsx or a CSV folder.")],
    solver: Annotated[SolverName, typer.Option(
        help="auto: the portfolio (search, plus HiGHS where it pays; best answer, best bound);"
             " highs, highs-pulp, cbc, cpsat: the exact model; heuristic: the search alone."
             " `allocator solvers` lists them with what each can prove.")
    ] = SolverName.auto,  # type: ignore[attr-defined]
    objective: Annotated[ObjectiveName | None, typer.Option(
        help="Objective; the instance's policy when not given.")] = None,
    time_limit: Annotated[float, typer.Option(help="Time limit in seconds.")] = 60.0,
    gap: Annotated[float, typer.Option(help="Relative MIP gap counted as optimal.")] = 1e-7,
    threads: Annotated[int | None, typer.Option(help="Solver threads.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Output folder [default: ./results/<instance name>].")] = None,
    formats: Annotated[str, typer.Option(
        help="Result files to write, comma-separated: json,csv,xlsx,html.")] = "json,csv,xlsx,html",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the result's summary fields as JSON, and nothing else.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show the solver log.")] = False,
    dask: Annotated[str | None, typer.Option(
        help="Run the regions of a large market (scales L and XL, solvers auto and heuristic) "
             "on this dask.distributed scheduler (tcp://HOST:PORT).")] = None,
    mode: Annotated[str, typer.Option(
        help="allocation (DESIGN.md section 4: contracts in force, the instance's own needs), "
             "design (section 5: bids become awards, over the scenarios), or auto: "
             "allocation, except design for imported benchmarks with bids.")] = "auto",
) -> None:
    """Solve an instance and write result.json, CSV tables, result.xlsx and report.html.

    By default this is the allocation of DESIGN.md section 4: block bids and scenarios are not
    used (``allocator design`` and ``--mode design`` choose awards over scenarios).
    """
    from allocator.core.params import SolveParams
    from allocator.report.files import FORMATS, write_results
    from allocator.report.summary import objective_kind, print_summary, summary_fields
    from allocator.report.tables import build_tables

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not set(wanted) <= set(FORMATS):
        _bad_input([f"--formats: unknown {sorted(set(wanted) - set(FORMATS))}; "
                    f"choose from {', '.join(FORMATS)}"])
    settings = {"solver": solver.value, "objective": objective.value if objective else None,
                "time_limit": time_limit, "gap": gap, "threads": threads,
                "verbose": verbose and not quiet}
    if dask:
        _check_dask(dask)
        settings["dask"] = dask
    _params(SolveParams, settings)  # bad options are reported before the instance is read
    inst = _load(instance)
    console = Console(quiet=quiet or as_json, highlight=False)
    if mode not in ("auto", "allocation", "design"):
        _bad_input([f"--mode: {mode!r} is not one of auto, allocation, design"])
    problem, run = _solver_for(inst, settings, mode)
    redirect = _stdout_to_stderr() if as_json else contextlib.nullcontext()
    what = f"solving {inst.name} with {solver.value} (limit {time_limit:g} s)"
    if solver.value in EXACT_ONLY and problem.mode == "allocation" \
            and problem.n_pairs > EXACT_WARN_PAIRS:
        console.print(
            f"[yellow]{solver.value} on {problem.n_pairs:,} eligible pairs: branch and bound "
            "alone is slow at this size (zoo-base-L, 784,273 pairs: HiGHS took 47 s on a 30 s "
            "limit with no answer, and ended 3.9-8.9% above its bound at 300 s); "
            "--solver auto is made for it[/]", highlight=False)
    try:
        with redirect:
            result = _with_progress(run, what, console=console, currency=inst.currency,
                                    show=not (quiet or as_json or settings["verbose"]))
    except ModuleNotFoundError as error:  # heuristic / auto before their module exists
        if not (error.name or "").startswith("allocator."):
            raise
        _bad_input([f"--solver {solver.value}: not available ({error})"])
    tables = (build_tables(problem, result.solution, objective=objective_kind(problem, result))
              if result.solution is not None else {})
    folder = out if out is not None else Path("results") / _stem(instance)
    try:
        write_results(folder, problem, result, tables=tables, formats=wanted)
    except OSError as error:  # e.g. --out names a file, or a folder we may not write
        _bad_input([f"--out {folder}: {error}"])
    if as_json:
        typer.echo(json.dumps(summary_fields(problem, result, tables), indent=1))
    elif not quiet:
        print_summary(problem, result, tables, console=console)
        console.print(f"results written to {folder}", highlight=False)
    raise typer.Exit(EXIT_OK if result.status.has_solution else EXIT_FAILED)


# exact solvers alone (no search): above this many eligible pairs the CLI says what to expect
EXACT_ONLY = ("highs", "cbc", "highs-pulp")
EXACT_WARN_PAIRS = 200_000


def _stem(path: Path) -> str:
    return path.name if path.is_dir() else path.stem


@app.command("solvers")
def solvers_command() -> None:
    """List the registered solvers: what they solve, what they prove, whether installed."""
    from rich.table import Table

    table = Table("solver", "solves", "proves optimality", "installed", "what it is")
    for name, spec in SOLVERS.items():
        proves = ", ".join(sorted(spec.proves)) or "only through its bound (certified)"
        table.add_row(name, ", ".join(sorted(spec.modes)), proves,
                      "yes" if spec.installed() else "no", spec.summary)
    Console(highlight=False).print(table)


@app.command("validate")
def validate_command(
    file: Annotated[Path, typer.Argument(help="Instance: .json, .xlsx or a CSV folder.")],
) -> None:
    """Validate an instance and list every problem, one per line (exit 2 if any); then what
    is valid but probably not meant, as notes (exit 0)."""
    from allocator.instance.validate import notes, validate_path

    inst, problems = validate_path(file)
    if problems or inst is None:
        for p in problems:
            typer.echo(str(p))
        _say(f"{len(problems)} problem(s) in {file}")
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"ok: {file}: {inst.name}: {len(inst.zones)} zones, {len(inst.providers)} "
               f"providers, {len(inst.offers)} offers, {len(inst.needs)} needs, "
               f"{len(inst.lots)} lots, {len(inst.block_contracts)} block contracts, "
               f"{len(inst.block_bids)} bids, {len(inst.scenarios)} scenarios")
    for note in notes(inst):
        typer.echo(f"note: {note}")


@app.command("check")
def check_command(
    instance: Annotated[Path, typer.Argument(help="The instance that was solved.")],
    result: Annotated[Path, typer.Argument(help="result.json (or the folder holding it).")],
) -> None:
    """Re-check a written result: every constraint and objective term, recomputed."""
    from allocator.core.check import check
    from allocator.report.files import read_result, solution_from_result

    inst = _load(instance)
    try:
        doc = read_result(result)
    except (OSError, ValueError) as error:
        _bad_input([f"{result}: {error}"])
    if doc.get("solution") is None:
        _say(f"{result}: no solution to check (status {doc.get('status', '?')})")
        raise typer.Exit(EXIT_FAILED)
    try:
        solution = solution_from_result(doc)
    except ValueError as error:
        _bad_input([f"{result}: {error}"])
    mode: str = doc["mode"] if doc.get("mode") in ("allocation", "design") else "auto"
    report = check(inst, solution, reported=doc, mode=mode)
    typer.echo(report.summary())
    raise typer.Exit(EXIT_OK if report.ok else EXIT_FAILED)


@app.command("convert")
def convert_command(
    src: Annotated[Path, typer.Argument(help="Instance to read (.json, .xlsx, CSV folder).")],
    dst: Annotated[Path, typer.Argument(help="Where to write; the format from its suffix.")],
) -> None:
    """Convert an instance between JSON, an XLSX workbook and a folder of CSV files."""
    from allocator.instance.io import save_instance

    inst = _load(src)
    try:
        save_instance(inst, dst)
    except (OSError, ValueError) as error:
        _bad_input([f"{dst}: {error}"])
    typer.echo(f"wrote {dst}")


@app.command("generate")
def generate_command(
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same instance).")],
    out: Annotated[Path, typer.Option(help="File to write (.json, .xlsx, or a CSV folder).")],
    scale: Annotated[Scale, typer.Option(help="DESIGN.md section 7 scale.")] = Scale.M,
    needs: Annotated[int | None, typer.Option(help="Override the number of needs.")] = None,
    providers: Annotated[int | None, typer.Option(help="Override the providers.")] = None,
    zones: Annotated[int | None, typer.Option(help="Override the zones.")] = None,
    blocks: Annotated[bool, typer.Option("--blocks", help="Add block contracts.")] = False,
    bids: Annotated[bool, typer.Option("--bids", help="Add block bids (design).")] = False,
    scenarios: Annotated[int, typer.Option(help="Number of demand scenarios.")] = 0,
    family: Annotated[str, typer.Option(
        help="Family of the market zoo: " + ", ".join([*FAMILIES, *COMBINED]) + ".")] = "base",
) -> None:
    """Generate a synthetic instance calibrated to the council papers."""
    from allocator.generate import generate
    from allocator.instance.io import save_instance

    try:
        inst = generate(scale.value, needs=needs, providers=providers, zones=zones, seed=seed,
                        blocks=blocks, bids=bids, scenarios=scenarios, family=family)
        save_instance(inst, out)
    except (OSError, ValueError) as error:
        _bad_input([f"generate: {error}"])
    typer.echo(f"wrote {out}: {len(inst.needs):,} needs, {len(inst.providers):,} providers, "
               f"{len(inst.zones):,} zones")


def _import(kind: str, file: Path, out: Path, **options: Any) -> None:
    from allocator.generate.orlib import import_file, write_instances

    if not file.is_file():
        _bad_input([f"{file}: file not found"])
    try:
        written = write_instances(import_file(kind, file, **options), out)
    except (OSError, ValueError) as error:
        _bad_input([f"{file}: {error}"])
    for path in written:
        typer.echo(f"wrote {path}")


class Sense(StrEnum):
    min = "min"
    max = "max"


@import_app.command("orlib-gap")
def import_gap_command(
    file: Annotated[Path, typer.Argument(help="gap1..gap12, gapa..gapd or a Yagiura file.")],
    out: Annotated[Path, typer.Option(help="Folder for the instances (one JSON each).")],
    sense: Annotated[Sense | None, typer.Option(
        help="Objective sense to import; the file's own when not given.")] = None,
) -> None:
    """Import a generalised assignment problem file (one instance per problem in it)."""
    _import("orlib-gap", file, out, sense=sense.value if sense else None)


@import_app.command("orlib-cap")
def import_cap_command(
    file: Annotated[Path, typer.Argument(help="cap41..cap134, capa/capb/capc or Holmberg p*.")],
    out: Annotated[Path, typer.Option(help="Folder for the instances (one JSON each).")],
    capacity: Annotated[float | None, typer.Option(
        help="capa/capb/capc: this capacity only (all four of OR-Library's when not given).")
    ] = None,
) -> None:
    """Import a capacitated facility location file as single-source design instances."""
    _import("orlib-cap", file, out, capacity=capacity)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("care-allocator")
        except PackageNotFoundError:  # run from a source tree that was not installed
            number = "unknown (not installed)"
        typer.echo(f"allocator {number}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Care allocation engine: solve, validate, check and convert instances."""


# after the engine's own commands, so that they come first in --help
register_book_commands(app)  # db, referrals, nightly, accept, reject (allocator/cli_db.py)
register_design_commands(app)  # design, compare (allocator/cli_design.py)
register_template_command(app)  # template (allocator/cli/template.py)
register_web_commands(app)  # serve, users add, demo (allocator/cli/web.py)
register_minicomp_commands(app)  # mini-competition (allocator/cli/minicomp.py)
register_simulate_commands(app)  # simulate (allocator/cli/simulate.py)


def main() -> None:
    """Console-script entry point."""
    app()
