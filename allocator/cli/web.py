"""The web app's commands: ``serve``, ``users add`` and ``demo``.

:func:`register` adds them to the ``allocator`` application. ``serve`` runs one process
(uvicorn) on the book at ``--db``; ``users add`` reads the password from standard input or a
prompt, never from the command line (where other users of the machine could read it);
``demo`` makes a book of the shipped Devon market with one user per role, prints their
passwords once, and serves it.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer

from allocator.cli.db import EXIT_BAD_INPUT, EXIT_FAILED, DbOption, _engine, _guarded, _say

DEVON = Path(__file__).resolve().parents[2] / "instances" / "devon_personal_care.json"
DEMO_DB = "sqlite:///allocator-demo.db"
DEMO_USERS = (("broker", "broker"), ("commissioner", "commissioner"), ("admin", "admin"))
ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no look-alikes

Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
Port = Annotated[int, typer.Option(help="Port to listen on.")]
DataDir = Annotated[Path, typer.Option(
    help="Folder for uploads and the session secret (unless $ALLOCATOR_SECRET_KEY is set).")]


def _serve(db: str | None, host: str, port: int, data_dir: Path, certfile: Path | None,
           keyfile: Path | None) -> None:
    import uvicorn

    from allocator.store.engine import resolve_url
    from allocator.web.app import create_app
    from allocator.web.settings import WebSettings, secret_key

    _engine(db)  # refuses an uninitialised book, with the fix
    tls = certfile is not None
    settings = WebSettings(db_url=resolve_url(db), secret_key=secret_key(data_dir),
                           data_dir=data_dir, secure_cookies=tls)
    app = create_app(settings)
    scheme = "https" if tls else "http"
    typer.echo(f"serving {settings.db_url.split('@')[-1]} on {scheme}://{host}:{port}/"
               " (Ctrl+C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False,
                server_header=False,
                ssl_certfile=str(certfile) if certfile else None,
                ssl_keyfile=str(keyfile) if keyfile else None)


def serve(
    db: DbOption = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    data_dir: DataDir = Path("allocator-web"),
    ssl_certfile: Annotated[Path | None, typer.Option(
        help="TLS certificate (PEM): serve over HTTPS, session cookie marked Secure.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
) -> None:
    """Serve the brokerage and commissioning web app on the book."""
    _serve(db, host, port, data_dir, ssl_certfile, ssl_keyfile)


def _read_password(prompt: bool) -> str:
    if sys.stdin.isatty() and prompt:
        return typer.prompt("password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def users_add(
    name: Annotated[str, typer.Argument(help="Username.")],
    role: Annotated[str, typer.Option(help="broker, commissioner or admin.")],
    db: DbOption = None,
    reset: Annotated[bool, typer.Option(
        help="The user exists: set this role and a new password, and enable the account.")]
    = False,
) -> None:
    """Add a user; the password is read from standard input (one line) or a prompt."""
    from allocator.store import audit
    from allocator.store.engine import transaction
    from allocator.store.users import UserError, add_user

    engine = _engine(db, writes=True)
    password = _read_password(prompt=True)
    try:
        with transaction(engine) as session:
            account = add_user(session, name, role, password, replace=reset)
            audit.record(session, "user added" if not reset else "user reset",
                         username="(command line)", target=account.username,
                         detail=f"role {account.role}")
    except UserError as error:
        _say(f"refused: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(f"user {account.username} ({account.role}) {'reset' if reset else 'added'}")


def demo(
    db: Annotated[str, typer.Option(help="Where the demo book goes.")] = DEMO_DB,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    data_dir: DataDir = Path("allocator-demo"),
) -> None:
    """Open the app on the shipped Devon book: made on first use, with one user per role
    whose passwords are printed once."""
    from allocator.instance.io import load_instance
    from allocator.store import audit
    from allocator.store.book import import_instance, is_empty
    from allocator.store.engine import make_engine, transaction
    from allocator.store.migrate import upgrade
    from allocator.store.users import add_user

    if not DEVON.exists():
        _say(f"{DEVON}: the shipped Devon market is not here (the demo runs from a checkout of"
             " the repository)")
        raise typer.Exit(EXIT_BAD_INPUT)
    engine = make_engine(db)
    upgrade(engine)
    with transaction(engine) as session:
        fresh = is_empty(session)
        if fresh:
            import_instance(session, load_instance(DEVON))
            lines = []
            for username, role in DEMO_USERS:
                password = "".join(secrets.choice(ALPHABET) for _ in range(16))
                add_user(session, username, role, password, replace=True)
                lines.append(f"  {role:<13} user {username!r:<15} password {password}")
            audit.record(session, "demo created", username="(command line)",
                         target=DEVON.name, detail="users: " + ", ".join(
                             u for u, _ in DEMO_USERS))
    if fresh:
        typer.echo(f"demo book {db}: the Devon personal-care market ({DEVON.name}).")
        typer.echo("Log in with (shown only now; `allocator users add NAME --role ROLE --reset"
                   f" --db {db}` sets a new one):")
        for line in lines:
            typer.echo(line)
    else:
        typer.echo(f"demo book {db} already made: log in with the passwords printed then"
                   f" (or reset one: allocator users add broker --role broker --reset --db {db})")
    try:
        _serve(db, host, port, data_dir, None, None)
    except OSError as error:
        _say(f"cannot serve on {host}:{port}: {error}")
        raise typer.Exit(EXIT_FAILED) from None


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``users`` and ``demo`` to ``app``."""
    app.command("serve")(_guarded(serve))
    users_app = typer.Typer(help="Web app accounts.", no_args_is_help=True)
    users_app.command("add")(_guarded(users_add))
    app.add_typer(users_app, name="users")
    app.command("demo")(_guarded(demo))
