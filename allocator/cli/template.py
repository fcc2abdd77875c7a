"""``allocator template FILE.xlsx``: an empty market workbook to fill in.

See :mod:`allocator.instance.template` for what the workbook holds. Exit codes: 0 written,
2 bad input (not an .xlsx name, a folder that does not exist, a file that cannot be written).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.common import EXIT_BAD_INPUT


def template_command(
    file: Annotated[Path, typer.Argument(help="The workbook to write (.xlsx).")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write an empty market workbook: every sheet, headers in words, drop-down lists,
    instructions and one worked example row per sheet."""
    from allocator.instance.template import write_template

    if file.suffix.lower() != ".xlsx":
        typer.echo(f"{file}: the template is an Excel workbook: give a name ending in .xlsx",
                   err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if not file.parent.is_dir():
        typer.echo(f"{file}: folder {file.parent} does not exist", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    if file.exists() and not force:
        typer.echo(f"{file}: already exists (use --force to replace it)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        write_template(file)
    except OSError as error:
        typer.echo(f"{file}: {error.strerror or error}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(f"wrote {file}: fill it in, then `allocator validate {file}` and "
               f"`allocator convert {file} market.json`")


def register(app: typer.Typer) -> None:
    """Add ``template`` to the main application."""
    app.command("template")(template_command)
