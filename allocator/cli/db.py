"""The book's commands: ``db``, ``referrals``, ``nightly``, ``accept``, ``reject``.

:func:`register` adds them to the main ``allocator`` application (``allocator/cli.py`` calls
it). Every command takes ``--db URL`` (default ``$ALLOCATOR_DB``, else
``sqlite:///allocator.db``). Exit codes: 0 done, 1 failed (no solution, refused, lock held),
2 bad input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from allocator.cli.common import EXIT_BAD_INPUT, EXIT_FAILED
from allocator.cli.common import say as _say

DbOption = Annotated[str | None, typer.Option(
    "--db", help="Database URL (default: $ALLOCATOR_DB, else sqlite:///allocator.db).")]


def _engine(url: str | None, *, require: bool = True,
            writes: bool = False):  # type: ignore[no-untyped-def]
    """The book's engine, checked: a valid URL (nothing created before that), a readable
    database, this code's schema (``require``), and an undamaged book (``writes``)."""
    from allocator.store.engine import make_engine
    from allocator.store.health import (
        StoreError,
        check_integrity,
        check_url,
        inspect_sqlite_file,
        ping,
        shown,
        sqlite_file,
    )
    from allocator.store.migrate import SchemaOutOfDate, require_current

    resolved = check_url(url)
    engine = make_engine(resolved)
    file = sqlite_file(engine)
    if file is not None and not Path(file).exists():
        if require:  # connecting would create an empty file: say what to do instead
            raise StoreError(f"{shown(resolved)}: no book at {file} (the file does not "
                             "exist): run `allocator db init` first")
    elif file is not None:
        # read-only first: the engine's connect switches the file to WAL (a write)
        inspect_sqlite_file(resolved, file, need_book=require, integrity=writes)
    ping(engine)
    if writes:
        check_integrity(engine)
    if require:
        try:
            require_current(engine)
        except SchemaOutOfDate as error:
            _say(str(error))
            raise typer.Exit(EXIT_FAILED) from None
    return engine


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Run a book command; any database error becomes one sentence and exit code 2.

    The sentence names the URL, the file and what is wrong
    (:func:`allocator.store.health.describe`); a traceback is never shown.
    """

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from allocator.store.health import StoreError, check_url, describe

        try:
            command(*args, **kwargs)
        except StoreError as error:
            _say(str(error))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except SQLAlchemyError as error:
            try:
                url = check_url(kwargs.get("db"))
            except StoreError:
                url = str(kwargs.get("db") or "")
            _say(describe(error, url))
            raise typer.Exit(EXIT_BAD_INPUT) from None

    return run


def db_init(db: DbOption = None) -> None:
    """Create the book's tables, or upgrade them to this version's schema."""
    from allocator.store.migrate import current_revision, head_revision, upgrade

    engine = _engine(db, require=False, writes=True)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        typer.echo(f"{where}: already at schema revision {after}")
    else:
        typer.echo(f"{where}: schema {before or 'none'} -> {after} (head {head_revision(engine)})")


def db_import(
    instance: Annotated[Path, typer.Argument(help="A market: .json, .xlsx or a CSV folder.")],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option(
        help="Replace a book that already holds a market (its history goes too).")] = False,
) -> None:
    """Import a whole market into the book (needs with a current provider become active)."""
    from allocator.instance.errors import InstanceError
    from allocator.instance.io import load_instance
    from allocator.store.book import BookNotEmpty, import_instance
    from allocator.store.engine import transaction

    try:
        inst = load_instance(instance)
    except InstanceError as error:
        _say(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    engine = _engine(db, writes=True)
    try:
        with transaction(engine) as session:
            summary = import_instance(session, inst, replace=replace)
    except BookNotEmpty as error:
        _say(str(error))
        raise typer.Exit(EXIT_FAILED) from None
    typer.echo(str(summary))


def db_export(
    file: Annotated[Path, typer.Argument(help="Where to write: .json, .xlsx or a folder.")],
    db: DbOption = None,
) -> None:
    """Write the book back as an instance (active needs carry their current provider)."""
    from allocator.instance.io import save_instance
    from allocator.store.book import export_instance
    from allocator.store.engine import transaction

    engine = _engine(db)
    with transaction(engine) as session:
        inst = export_instance(session)
    try:
        save_instance(inst, file)
    except (OSError, ValueError) as error:
        _say(f"{file}: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(f"{file}: {len(inst.needs)} needs, {len(inst.offers)} offers,"
               f" {len(inst.providers)} providers")


def referrals_add(
    file: Annotated[Path, typer.Argument(help="Referrals: a .csv file or an .xlsx workbook.")],
    db: DbOption = None,
    rejects: Annotated[Path | None, typer.Option(
        help="Where to write rejected rows (default: NAME.rejects.csv beside the file).")] = None,
) -> None:
    """Add new referrals: good rows in one transaction, bad rows to a rejects file."""
    from allocator.nightly.intake import IntakeFileError, add_referrals

    engine = _engine(db, writes=True)
    try:
        summary = add_referrals(engine, file, rejects_file=rejects)
    except IntakeFileError as error:
        _say(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(str(summary))
    for r in summary.rejects[:20]:
        _say(f"  row {r.row} ({r.need_id or 'no id'}), {r.field}: {r.reason}")
    if len(summary.rejects) > 20:
        _say(f"  ... {len(summary.rejects) - 20} more in {summary.rejects_file}")


def nightly(
    db: DbOption = None,
    time_limit: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    max_moves: Annotated[int | None, typer.Option(
        help="Re-optimise people in care, moving at most K of them (default: nobody moves).")
    ] = None,
    solver: Annotated[str, typer.Option(
        help="auto (exact, or the heuristic for very large runs), highs, cbc, highs-pulp,"
             " heuristic.")] = "auto",
    gap: Annotated[float, typer.Option(help="Relative MIP gap counted as optimal.")] = 1e-6,
    report_dir: Annotated[Path, typer.Option(
        help="Where to write the morning report (XLSX and HTML).")] = Path("morning"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report.")] = False,
) -> None:
    """Allocate the new referrals; people in care stay (or move, with --max-moves)."""
    from allocator.nightly.morning import write_report
    from allocator.nightly.run import BookChanged, NightlyFailed, NightlyOptions, run_nightly
    from allocator.store.lock import LockHeld

    engine = _engine(db, writes=True)
    options = NightlyOptions(solver=solver, time_limit=time_limit, max_moves=max_moves, gap=gap)
    try:
        outcome = run_nightly(engine, options)
    except LockHeld as error:
        _say(f"refused: {error}")
        raise typer.Exit(EXIT_FAILED) from None
    except (NightlyFailed, BookChanged) as error:
        _say(f"failed: {error}")
        raise typer.Exit(EXIT_FAILED) from None
    for line in outcome.messages:
        _say(line)
    typer.echo(outcome.summary())
    if not no_report:
        xlsx, page = write_report(engine, outcome.run_id, report_dir)
        typer.echo(f"morning report: {xlsx} and {page}")


def accept(
    run: Annotated[int, typer.Argument(help="Run id.")],
    need: Annotated[str, typer.Argument(help="Need id.")],
    db: DbOption = None,
) -> None:
    """Accept a run's suggestion: it becomes the need's current assignment."""
    from allocator.nightly.decisions import DecisionError
    from allocator.nightly.decisions import accept as do_accept

    engine = _engine(db, writes=True)
    try:
        typer.echo(str(do_accept(engine, run, need)))
    except DecisionError as error:
        _say(f"refused: {error}")
        raise typer.Exit(EXIT_FAILED) from None


def reject(
    run: Annotated[int, typer.Argument(help="Run id.")],
    need: Annotated[str, typer.Argument(help="Need id.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the decision).")],
    db: DbOption = None,
) -> None:
    """Reject a run's suggestion: that provider is not suggested for this need again."""
    from allocator.nightly.decisions import DecisionError
    from allocator.nightly.decisions import reject as do_reject

    engine = _engine(db, writes=True)
    try:
        typer.echo(str(do_reject(engine, run, need, reason=reason)))
    except DecisionError as error:
        _say(f"refused: {error}")
        raise typer.Exit(EXIT_FAILED) from None


def register(app: typer.Typer) -> None:
    """Add the book's commands to ``app``."""
    db_app = typer.Typer(help="The book: create, import a market, export it.",
                         no_args_is_help=True)
    db_app.command("init")(_guarded(db_init))
    db_app.command("import")(_guarded(db_import))
    db_app.command("export")(_guarded(db_export))
    app.add_typer(db_app, name="db")
    referrals_app = typer.Typer(help="New referrals into the book.", no_args_is_help=True)
    referrals_app.command("add")(_guarded(referrals_add))
    app.add_typer(referrals_app, name="referrals")
    app.command("nightly")(_guarded(nightly))
    app.command("accept")(_guarded(accept))
    app.command("reject")(_guarded(reject))
