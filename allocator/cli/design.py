"""The lot-design commands: ``allocator design`` and ``allocator compare``.

:func:`register` adds them to the ``allocator`` application (``allocator/cli.py`` calls it).
Both are thin wrappers over :mod:`allocator.design`; exit codes as the rest of the CLI: 0 a
design found, 1 none, 2 bad input (every problem on its own line, naming file, table, row and
field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.common import EXIT_FAILED, EXIT_OK, validated
from allocator.cli.common import bad_input as _bad_input
from allocator.cli.common import load as _load


def _runner(workers: int | None, dask: str | None):
    from allocator.design.sweep import make_runner

    if workers is not None and workers < 1:
        _bad_input([f"--workers: must be at least 1, got {workers}"])
    try:
        return make_runner(workers, dask)
    except OSError as error:  # the scheduler cannot be reached
        _bad_input([f"--dask {dask}: {error}"])


def _params(**settings):
    """Validated :class:`DesignParams` from the options given (None: the default)."""
    from allocator.design.solve import DesignParams

    return validated(DesignParams, {k: v for k, v in settings.items() if v is not None})


def design_command(
    instance: Annotated[Path, typer.Argument(help="Design instance: .json, .xlsx or a folder.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    design: Annotated[Path | None, typer.Option(
        help="A lot design file to apply to the instance first (its lots and bids).")] = None,
    scenarios: Annotated[int | None, typer.Option(
        help="Generate this many demand scenarios (replacing the instance's own).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated scenarios.")] = 0,
    time_limit: Annotated[float, typer.Option(help="Time limit in seconds.")] = 300.0,
    gap: Annotated[float, typer.Option(help="Relative gap counted as optimal.")] = 1e-6,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: one per core).")] = None,
    dask: Annotated[str | None, typer.Option(
        help="Run on this dask.distributed scheduler (tcp://HOST:PORT).")] = None,
    method: Annotated[str, typer.Option(
        help="auto, extensive, benders or groups.")] = "auto",
    max_iterations: Annotated[int | None, typer.Option(
        help="Benders: stop after this many iterations (a stop that does not depend on "
             "the machine's speed).")] = None,
    aggregate_groups: Annotated[int | None, typer.Option(
        help="Benders: groups of scenarios whose aggregated demand the master holds beside "
             "its cuts where offers exist only with an award (0: cuts only; default 1).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Choose the block awards and volumes over demand scenarios (DESIGN.md section 5).

    Writes result.json (the fields of ``allocator solve``, with the awards and every scenario's
    allocation), the CSV tables, result.xlsx, report.html and instance.json (the instance with
    the scenarios used, for ``allocator check``).
    """
    from rich.console import Console

    from allocator.core.problem import Problem
    from allocator.design.scenarios import generate_scenarios, with_scenarios
    from allocator.design.solve import solve_design
    from allocator.instance.io import save_instance
    from allocator.report.files import write_results
    from allocator.report.summary import objective_kind, print_summary
    from allocator.report.tables import build_tables

    params = _params(time_limit=time_limit, gap=gap, method=method,
                     max_iterations=max_iterations, aggregate_groups=aggregate_groups)
    if scenarios is not None and scenarios < 1:
        _bad_input([f"--scenarios: must be at least 1, got {scenarios}"])
    inst = _load(instance)
    if design is not None:
        from allocator.design.designs import load_and_apply
        from allocator.instance.errors import InstanceError

        try:
            inst = load_and_apply(inst, design)
        except InstanceError as error:
            _bad_input([str(p) for p in error.problems]
                       + [f"{len(error.problems)} problem(s) in {design}"])
    if scenarios is not None:
        inst = with_scenarios(inst, generate_scenarios(inst, scenarios, seed))
    console = Console(quiet=quiet, highlight=False)
    from allocator.cli.live import live_progress

    with live_progress(f"designing {inst.name}", show=not quiet, currency=inst.currency), \
            _runner(workers, dask) as runner:
        result = solve_design(inst, params, runner=runner)
    problem = Problem.from_instance(inst, mode="design")
    tables = (build_tables(problem, result.solution, objective=objective_kind(problem, result))
              if result.solution is not None else {})
    try:
        write_results(out, problem, result, tables=tables)
        save_instance(inst, out / "instance.json")
    except OSError as error:
        _bad_input([f"--out {out}: {error}"])
    print_summary(problem, result, tables, console=console)
    if result.solution is not None:
        console.print(f"{len(result.solution.awards)} award(s); method "
                      f"{result.extra.get('method')}, bound: {result.extra.get('bound_kind')}")
    if result.extra.get("method_note"):
        console.print(f"[yellow]note: {result.extra['method_note']}[/yellow]")
    console.print(f"results written to {out}")
    raise typer.Exit(EXIT_OK if result.status.has_solution else EXIT_FAILED)


def compare_command(
    market: Annotated[Path, typer.Argument(help="Market instance: .json, .xlsx or a folder.")],
    designs: Annotated[list[Path], typer.Argument(help="Lot design files (.json or .toml).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    scenarios: Annotated[int, typer.Option(help="Number of demand scenarios.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the scenarios.")] = 0,
    time_limit: Annotated[float, typer.Option(
        help="Time limit per design, seconds (with --share-time, at least this each and "
             "designs x this in all).")] = 120.0,
    share_time: Annotated[bool, typer.Option(
        "--share-time/--no-share-time",
        help="A design that ends early leaves its time to the designs after it (designs with "
             "no bid to award go first).")] = True,
    gap: Annotated[float, typer.Option(help="Relative gap counted as optimal.")] = 1e-6,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: one per core).")] = None,
    dask: Annotated[str | None, typer.Option(
        help="Run on this dask.distributed scheduler (tcp://HOST:PORT).")] = None,
    method: Annotated[str, typer.Option(
        help="auto, extensive, benders or groups.")] = "auto",
    max_iterations: Annotated[int | None, typer.Option(
        help="Benders: stop after this many iterations (a stop that does not depend on "
             "the machine's speed).")] = None,
    aggregate_groups: Annotated[int | None, typer.Option(
        help="Benders: groups of scenarios whose aggregated demand the master holds beside "
             "its cuts where offers exist only with an award (0: cuts only; default 1).")] = None,
    formats: Annotated[str, typer.Option(help="Files to write: csv,xlsx,html.")] = "csv,xlsx,html",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Compare lot designs for one market on the same demand scenarios.

    Prints the table (expected weekly cost and its parts, unmet need, awards, concentration)
    and writes comparison.csv (plus the lots, providers, scenarios and awards tables),
    comparison.xlsx and comparison.html with charts.
    """
    from rich.console import Console

    from allocator.design.compare import compare_designs
    from allocator.design.designs import load_design
    from allocator.design.report import FORMATS, print_comparison, write_comparison
    from allocator.design.scenarios import generate_scenarios
    from allocator.instance.errors import InstanceError

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not set(wanted) <= set(FORMATS):
        _bad_input([f"--formats: unknown {sorted(set(wanted) - set(FORMATS))}; "
                    f"choose from {', '.join(FORMATS)}"])
    if scenarios < 1:
        _bad_input([f"--scenarios: must be at least 1, got {scenarios}"])
    params = _params(time_limit=time_limit, gap=gap, method=method,
                     max_iterations=max_iterations, aggregate_groups=aggregate_groups)
    inst = _load(market)
    problems, loaded = [], []
    for path in designs:
        try:
            loaded.append((str(path), load_design(path)))
        except InstanceError as error:
            problems += [str(p) for p in error.problems]
    if problems:
        _bad_input(problems + [f"{len(problems)} problem(s) in the design files"])
    console = Console(quiet=quiet, highlight=False)
    generated = generate_scenarios(inst, scenarios, seed)
    try:
        from allocator.cli.live import live_progress

        with live_progress(f"comparing {len(loaded)} design(s)", show=not quiet,
                           currency=inst.currency), _runner(workers, dask) as runner:
            comparison = compare_designs(inst, loaded, generated, params, runner,
                                         share_time=share_time)
    except InstanceError as error:  # a design that does not fit the market
        _bad_input([str(p) for p in error.problems]
                   + [f"{len(error.problems)} problem(s) applying the designs to {market}"])
    note = (f"Market {inst.name}; {scenarios} scenarios (seed {seed}); time limit "
            + (f"{time_limit:g} s per design, shared: a design that ended early left its time "
               f"to the designs after it ({len(loaded) * time_limit:g} s in all; the time "
               "each was given is in the table)." if share_time
               else f"{time_limit:g} s per design."))
    try:
        write_comparison(comparison, out, wanted, note=note, currency=inst.currency)
    except OSError as error:
        _bad_input([f"--out {out}: {error}"])
    print_comparison(comparison, console, inst.currency)
    console.print(f"results written to {out}")
    ok = all(r.result.status.has_solution for r in comparison.runs)
    raise typer.Exit(EXIT_OK if ok else EXIT_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``design`` and ``compare`` to ``app``."""
    app.command("design")(design_command)
    app.command("compare")(compare_command)
