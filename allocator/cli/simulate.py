"""``allocator simulate``: a year of brokerage replayed (DESIGN.md section 9.5).

:func:`register` adds the command to the ``allocator`` application. A thin wrapper over
:func:`allocator.simulate.simulate`; exit codes as the rest of the CLI: 0 done, 2 bad input
(every problem on its own line, naming file, table, row and field).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.common import EXIT_OK, validated
from allocator.cli.common import bad_input as _bad_input


def simulate_command(
    market: Annotated[Path, typer.Argument(
        help="The market: an instance (.json, .xlsx or a CSV folder); its needs are the book "
             "on day 0.")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    weeks: Annotated[int, typer.Option(help="Weeks to replay.")] = 52,
    policies: Annotated[str, typer.Option(
        help="Comma-separated: first_come, nightly, nightly_moves:K.")
    ] = "first_come,nightly,nightly_moves:5",
    replications: Annotated[int, typer.Option(help="Independent replications.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the study (same seed, same numbers).")] = 0,
    workers: Annotated[int | None, typer.Option(
        help="Local worker processes (default: one per core; 1: in this process).")] = None,
    dask: Annotated[str | None, typer.Option(
        help="Run on this dask.distributed scheduler (tcp://HOST:PORT).")] = None,
    exit_rate: Annotated[float, typer.Option(
        help="Rate a year at which each provider leaves the market (an exponential time: "
        "0.01 is about 1% a year).")] = 0.01,
    opening_rate: Annotated[float, typer.Option(
        help="New supported-living schemes per scheme per year.")] = 0.02,
    time_limit: Annotated[float, typer.Option(
        help="Time limit of one night's solve, in seconds.")] = 10.0,
    gap: Annotated[float, typer.Option(help="Relative gap of a night's solve.")] = 1e-4,
    formats: Annotated[str, typer.Option(
        help="Files to write, comma-separated: json,csv,xlsx,html.")] = "json,csv,xlsx,html",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Replay WEEKS weeks of MARKET's brokerage under each policy, with common random numbers.

    Writes result.json (per policy: means over weeks and replications with 95% intervals),
    CSV tables (weekly, by zone, differences between policies), simulation.xlsx and
    report.html.
    """
    from rich.console import Console

    from allocator.cli.common import load as _load
    from allocator.cli.design import _runner
    from allocator.simulate import SimulationConfig, simulate
    from allocator.simulate.report import FORMATS, write_outputs
    from allocator.simulate.run import make_policies

    wanted = tuple(f.strip() for f in formats.split(",") if f.strip())
    if not set(wanted) <= set(FORMATS):
        _bad_input([f"--formats: unknown {sorted(set(wanted) - set(FORMATS))}; "
                    f"choose from {', '.join(FORMATS)}"])
    config = validated(SimulationConfig, dict(
        weeks=weeks, replications=replications, seed=seed, provider_exit_rate=exit_rate,
        scheme_opening_rate=opening_rate, time_limit=time_limit, gap=gap),
        options={"provider_exit_rate": "--exit-rate", "scheme_opening_rate": "--opening-rate"})
    specs = [s.strip() for s in policies.split(",") if s.strip()]
    try:
        make_policies(specs, config)
    except ValueError as error:
        _bad_input([f"--policies: {error}"])
    instance = _load(market)
    runner = _runner(workers, dask)
    console = Console(stderr=True, quiet=quiet, highlight=False)
    with _progress(console, replications) as update:
        result = simulate(instance, specs, config, runner=runner, progress=update)
    runner.close()
    try:
        write_outputs(result, out, wanted)
    except OSError as error:
        _bad_input([f"--out {out}: {error}"])
    if not quiet:
        typer.echo(result.summary())
        for note in result.notes:
            typer.echo(f"note: {note}")
        typer.echo(f"results written to {out}")
    raise typer.Exit(EXIT_OK)


class _progress:
    """A rich progress bar over replications (one line per update when not on a terminal)."""

    def __init__(self, console, total: int):
        self.console = console
        self.total = total
        self.bar = None
        self.task = None

    def __enter__(self):
        if self.console.quiet:
            return lambda done, total: None
        if not self.console.is_terminal:
            return lambda done, total: self.console.print(
                f"replications: {done}/{total}", highlight=False)
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("replications"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TimeRemainingColumn(), console=self.console,
                            transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task("replications", total=self.total)

        bar, task = self.bar, self.task

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    """Add ``allocator simulate`` to ``app``."""
    app.command("simulate")(simulate_command)
