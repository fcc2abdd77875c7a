"""The book's commands end to end through typer (SQLite)."""

import typer
from store.databases import consistent_book
from typer.testing import CliRunner

from allocator.cli.db import register
from allocator.instance.io import save_instance


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root."""

    register(app)
    return app


def test_db_referrals_nightly_accept_reject(tmp_path):
    app, runner = make_app(), CliRunner()
    db = ["--db", f"sqlite:///{tmp_path / 'b.db'}"]
    inst, _ = consistent_book(7)
    save_instance(inst, tmp_path / "market.json")

    def ok(*args):
        result = runner.invoke(app, [*args, *db])
        assert result.exit_code == 0, result.output
        return result.output

    assert "run `allocator db init`" in runner.invoke(app, ["nightly", *db]).output
    ok("db", "init")
    assert "imported" in ok("db", "import", str(tmp_path / "market.json"))
    refused = runner.invoke(app, ["db", "import", str(tmp_path / "market.json"), *db])
    assert refused.exit_code == 1 and "--replace" in refused.output
    (tmp_path / "r.csv").write_text(
        "id,kind,zone,service,complexity,care_group,quantity\n"
        "x1,package,z1,personal_care,less_complex,OP,1\nx2,package,mars,personal_care,"
        "less_complex,OP,1\n")
    out = ok("referrals", "add", str(tmp_path / "r.csv"))
    assert "1 added" in out and "1 rejected" in out
    assert (tmp_path / "r.rejects.csv").exists()
    out = ok("nightly", "--time-limit", "10", "--report-dir", str(tmp_path / "m"))
    assert "run 1:" in out and (tmp_path / "m" / "morning_run1.html").exists()
    assert "recorded run" in ok("nightly", "--time-limit", "10", "--no-report")
    from sqlalchemy import select

    from allocator.store import models as m
    from allocator.store.engine import make_engine, transaction

    with transaction(make_engine(db[1])) as session:
        rows = session.execute(select(m.Suggestion).where(m.Suggestion.action == "assign")
                               .order_by(m.Suggestion.seq)).scalars().all()
    assert "assigned to" in ok("accept", "1", rows[0].need_id)
    assert "not be suggested" in ok("reject", "1", rows[1].need_id, "--reason", "too far")
    ok("db", "export", str(tmp_path / "back.json"))
    assert (tmp_path / "back.json").stat().st_size > 0
