"""``allocator mini-competition``: score a lot's bids and price each on the whole market.

A thin wrapper over :func:`allocator.design.minicompetition.mini_competition` (DESIGN.md 9.4).
Exit codes as the rest of the CLI: 0 every admissible bid priced (or proven to have no
feasible design alone on the lot), 1 some bid has no whole-market cost for another reason, or
no bid has one (the files say which and why), 2 bad input.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.common import EXIT_FAILED, EXIT_OK
from allocator.cli.common import bad_input as _bad_input
from allocator.cli.common import load as _load
from allocator.cli.design import _params


def mini_competition_command(
    instance: Annotated[Path, typer.Argument(help="Design instance: .json, .xlsx or a folder.")],
    lot: Annotated[str, typer.Option(help="The lot competed for (its block bids compete).")],
    out: Annotated[Path, typer.Option(help="Output folder.")],
    quality_points: Annotated[float, typer.Option(help="Points for quality.")] = 60.0,
    price_points: Annotated[float, typer.Option(help="Points for price.")] = 40.0,
    time_limit: Annotated[float, typer.Option(
        help="Time limit of each bid's whole-market design solve, seconds.")] = 120.0,
    solver: Annotated[str, typer.Option(help="MIP solver: highs, cbc or highs-pulp.")] = "highs",
    gap: Annotated[float, typer.Option(help="Relative gap counted as optimal.")] = 1e-6,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Mini-competition for one lot (DESIGN.md section 9.4).

    Each admissible bid gets its published score and its whole-market cost (the design model
    with only that bid on the lot, with its proven bound); both rankings, the two winners and
    the difference a week and a year; abnormally low tenders flagged; inadmissible bids named.
    Writes result.json, ranking.csv, result.xlsx and report.html into --out.
    """
    from rich.console import Console
    from rich.table import Table

    from allocator.design.minicomp_report import sentence, write_mini_competition
    from allocator.design.minicompetition import MiniCompetitionError, mini_competition

    params = _params(time_limit=time_limit, gap=gap, solver=solver)
    bad = [f"--{name}-points {value:g}: must be finite and non-negative"
           for name, value in (("quality", quality_points), ("price", price_points))
           if not math.isfinite(value) or value < 0]
    if not bad and quality_points + price_points <= 0:
        bad = ["--quality-points 0 and --price-points 0: nothing to score"]
    if bad:
        _bad_input(bad)
    inst = _load(instance)
    console = Console(quiet=quiet, highlight=False)
    try:
        mc = mini_competition(inst, lot, quality_points=quality_points,
                              price_points=price_points, params=params)
    except MiniCompetitionError as error:
        _bad_input([f"{instance}: {error}"])
    try:
        write_mini_competition(mc, out)
    except OSError as error:
        _bad_input([f"--out {out}: {error}"])
    rows = [(str(b.cost_rank or "-"), b.provider, f"{b.rate:,.2f}", f"{b.quality:g}",
             "-" if b.score is None else f"{b.score:.2f}",
             "-" if b.whole_market_cost is None else f"{b.whole_market_cost:,.2f}",
             "-" if b.whole_market_bound is None else f"{b.whole_market_bound:,.2f}",
             _flags(b, mc.lexicographic)) for b in mc.by_cost()]
    title = f"{mc.instance}: lot {mc.lot}" + (
        " (lexicographic: ranked by unmet need, then cost)" if mc.lexicographic else "")
    table = Table(title=title, box=None, pad_edge=False,
                  header_style="bold underline")
    # names and figures are never cut (an 80-column log showed "81,79…"): those columns are
    # as wide as their widest cell (and one-word headings); two-word headings and the notes
    # wrap instead
    for k, col in enumerate(("rank", "provider", "rate", "quality", "score",
                             "whole-\nmarket cost", "bound", "notes")):
        words = [w for r in rows for w in r[k].split()] + (
            [] if "\n" in col else [col])
        table.add_column(col, min_width=max(map(len, words)),
                         justify="left" if k in (1, 7) else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(sentence(mc))
    for note in mc.notes:
        console.print(f"note: {note}")
    console.print(f"results written to {out}")
    # a bid proven infeasible alone on the lot is an answer, not a failure
    unpriced = [b for b in mc.bids if b.admissible and b.whole_market_cost is None
                and not b.infeasible]
    raise typer.Exit(EXIT_FAILED if unpriced or mc.whole_market_winner is None else EXIT_OK)


def _flags(bid, lexicographic: bool = False) -> str:
    """The notes of a bid's row: what is not as it should be (nothing for a proven,
    admissible bid at a normal rate); under a lexicographic objective, the unmet-need penalty
    the ranking compares first."""
    flags = []
    if lexicographic and bid.whole_market_cost is not None:
        flags.append(f"unmet {bid.terms.get('unmet', 0.0):,.2f}")
    if not bid.admissible:
        flags.append("inadmissible")
    elif bid.status not in ("optimal", "feasible"):
        flags.append(bid.status.replace("_", " "))
    if bid.abnormally_low:
        flags.append("abnormally low")
    if bid.admissible and not bid.proven:
        flags.append("not proven" if bid.whole_market_cost is not None else "no cost")
    return ", ".join(flags)


def register(app: typer.Typer) -> None:
    """Add ``mini-competition`` to ``app``."""
    app.command("mini-competition")(mini_competition_command)

