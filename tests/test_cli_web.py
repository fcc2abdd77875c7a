"""The web app's commands through typer: users add, serve's refusals, demo's book."""

from __future__ import annotations

import re

from sqlalchemy import select
from typer.testing import CliRunner

from allocator.cli.main import app
from allocator.store import models as m
from allocator.store import users
from allocator.store.engine import make_engine, transaction

PASSWORD = "a long enough password"


def test_users_add_reads_the_password_from_stdin(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert runner.invoke(app, ["db", "init", "--db", url]).exit_code == 0
    result = runner.invoke(app, ["users", "add", "sam", "--role", "broker", "--db", url],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    with transaction(make_engine(url)) as session:
        assert users.authenticate(session, "sam", PASSWORD) is not None
        entry = session.execute(select(m.AuditEntry)).scalar_one()
        assert (entry.action, entry.target) == ("user added", "sam")
    again = runner.invoke(app, ["users", "add", "sam", "--role", "admin", "--db", url],
                          input=PASSWORD + "\n")
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(app, ["users", "add", "kim", "--role", "broker", "--db", url],
                          input="short\n")
    assert short.exit_code == 2 and "at least 12" in short.output
    reset = runner.invoke(app, ["users", "add", "sam", "--role", "admin", "--reset", "--db",
                                url], input="another long password\n")
    assert reset.exit_code == 0
    # no password option exists: a password on the command line is refused by typer
    argv = runner.invoke(app, ["users", "add", "x", "--role", "broker", "--password", "p",
                               "--db", url])
    assert argv.exit_code != 0


def test_serve_refuses_a_book_that_is_not_initialised(tmp_path):
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{missing}"])
    assert result.exit_code == 2
    assert "allocator db init" in result.output
    assert not missing.exists()  # nothing created


def test_demo_makes_the_devon_book_and_prints_the_passwords_once(tmp_path, monkeypatch):
    import allocator.cli.web as web

    served = []
    monkeypatch.setattr(web, "_serve", lambda db, *a: served.append(db))
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--db", url, "--data-dir", str(tmp_path / "d")])
    assert first.exit_code == 0, first.output
    found = dict(re.findall(r"user '(\w+)'\s+password (\S+)", first.output))
    assert set(found) == {"broker", "commissioner", "admin"}
    with transaction(make_engine(url)) as session:
        assert users.authenticate(session, "broker", found["broker"]) is not None
        assert session.execute(select(m.Need)).first() is not None
    second = runner.invoke(app, ["demo", "--db", url, "--data-dir", str(tmp_path / "d")])
    assert second.exit_code == 0 and "password" in second.output
    assert found["broker"] not in second.output
    assert served == [url, url]
