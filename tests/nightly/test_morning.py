"""The morning report: an XLSX workbook and a self-contained HTML page per run."""

from openpyxl import load_workbook

from allocator.nightly.decisions import accept
from allocator.nightly.morning import build_report, write_report
from allocator.nightly.run import NightlyOptions, run_nightly
from nightly.helpers import load_book


def test_the_report_has_every_table_and_the_changes_since_the_previous_run(engine, tmp_path):
    load_book(engine)
    first = run_nightly(engine, NightlyOptions(time_limit=10))
    report = build_report(engine, first.run_id)
    assert set(report.tables) == {"New referrals", "Moves", "Unmet by zone", "Providers",
                                  "Blocks", "Changes"}
    header, rows = report.tables["Unmet by zone"]
    assert rows[-1][0] == "total" and rows[-1][3] == first.n_unmet
    new_rows = report.tables["New referrals"][1]
    assert len(new_rows) == first.n_new
    need = next(r[0] for r in new_rows if r[7] == "assign")
    accept(engine, first.run_id, need)
    second = run_nightly(engine, NightlyOptions(time_limit=10))
    xlsx, page = write_report(engine, second.run_id, tmp_path)
    text = page.read_text()
    assert "<script" not in text and "http" not in text  # self-contained
    assert f"accepted (run {first.run_id})" in text and need in text
    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "New referrals", "Moves", "Unmet by zone", "Providers",
                             "Blocks", "Changes"]
    changes = [row for row in wb["Changes"].iter_rows(values_only=True)][1:]
    assert any(r[0] == "no longer suggested" and r[1] == need for r in changes)
