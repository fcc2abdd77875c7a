"""Referral intake: row by row, rejects written, good rows committed once."""

import csv

import pytest

from allocator.nightly import intake
from allocator.nightly.intake import IntakeFileError, add_referrals
from nightly.helpers import load_book, snapshot

HEADER = "id,kind,zone,service,complexity,care_group,quantity,priority,acceptable_zones\n"
GOOD = ["g1,package,z1,personal_care,less_complex,OP,5,standard,",
        "g2,package,z2,individual_support,complex,LD,7.5,urgent,z1;z2",
        "g3,placement,z1,supported_living,complex,LD,1,standard_bed,"]
BAD = ["b1,package,nowhere,personal_care,less_complex,OP,5,standard,",  # unknown zone
       "b2,package,z1,personal_care,less_complex,OP,-3,standard,",  # quantity
       "b3,package,z1,personal_care,less_complex,OP,4,vip,",  # no penalty
       ",package,z1,personal_care,less_complex,OP,4,standard,",  # no id
       "b5,placement,z1,supported_living,complex,LD,2,standard_bed,",  # a placement is 1 bed
       "g1,package,z1,personal_care,less_complex,OP,5,standard,"]  # duplicate in file


def write(path, rows):
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_good_rows_are_added_and_bad_rows_rejected_with_row_field_reason(engine, tmp_path):
    load_book(engine)
    before = snapshot(engine)
    f = write(tmp_path / "referrals.csv", GOOD + BAD)
    summary = add_referrals(engine, f)
    assert summary.added == ["g1", "g2", "g3"]
    assert summary.rejected_rows == len(BAD)
    with open(tmp_path / "referrals.rejects.csv") as handle:
        rejects = list(csv.DictReader(handle))
    got = {(int(r["row"]), r["field"]) for r in rejects}
    assert got == {(5, "zone"), (6, "quantity"), (7, "priority"), (8, "id"), (9, "quantity"),
                   (10, "id")}
    assert all(r["reason"] for r in rejects)
    assert any("duplicate id: already on row 2" in r["reason"] for r in rejects)
    after = snapshot(engine)
    assert after["counts"]["needs"] == before["counts"]["needs"] + 3
    assert after["version"] == before["version"] + 1
    assert {after["statuses"][g] for g in ("g1", "g2", "g3")} == {"new"}


def test_re_adding_the_same_file_adds_nothing_twice(engine, tmp_path):
    load_book(engine)
    f = write(tmp_path / "r.csv", GOOD + BAD[:1])
    add_referrals(engine, f)
    before = snapshot(engine)
    again = add_referrals(engine, f)
    assert again.added == [] and again.skipped == ["g1", "g2", "g3"]
    after = snapshot(engine)
    assert after["counts"]["needs"] == before["counts"]["needs"]
    assert after["version"] == before["version"]


def test_the_same_id_with_other_values_is_a_reject(engine, tmp_path):
    load_book(engine)
    add_referrals(engine, write(tmp_path / "a.csv", GOOD[:1]))
    changed = add_referrals(engine, write(tmp_path / "b.csv", [GOOD[0].replace(",5,", ",6,")]))
    assert changed.added == [] and changed.rejects[0].field == "id"
    assert "different values" in changed.rejects[0].reason


def test_an_xlsx_workbook_is_read_from_its_referrals_sheet(engine, tmp_path):
    from openpyxl import Workbook

    load_book(engine)
    wb = Workbook()
    wb.active.title = "notes"
    sheet = wb.create_sheet("referrals")
    sheet.append(HEADER.strip().split(","))
    for row in GOOD[:2] + BAD[:1]:
        sheet.append([float(c) if c.replace(".", "").isdigit() else c for c in row.split(",")])
    wb.save(tmp_path / "r.xlsx")
    summary = add_referrals(engine, tmp_path / "r.xlsx")
    assert summary.added == ["g1", "g2"] and summary.rejected_rows == 1
    assert (tmp_path / "r.rejects.csv").exists()


def test_a_failure_while_committing_adds_nothing(engine, tmp_path, monkeypatch):
    load_book(engine)
    before = snapshot(engine)

    def fail(session):
        raise RuntimeError("killed mid-way")

    monkeypatch.setattr(intake.book, "bump_version", fail)  # after the rows are inserted
    with pytest.raises(RuntimeError):
        add_referrals(engine, write(tmp_path / "r.csv", GOOD))
    assert snapshot(engine) == before


def test_a_file_that_cannot_be_read_as_a_whole(engine, tmp_path):
    load_book(engine)
    bad = tmp_path / "x.csv"
    bad.write_text("id,colour\n1,red\n")
    with pytest.raises(IntakeFileError, match="unknown column"):
        add_referrals(engine, bad)
    with pytest.raises(IntakeFileError, match="file not found"):
        add_referrals(engine, tmp_path / "missing.csv")


def test_a_preview_finds_what_adding_would_and_writes_nothing(engine, tmp_path):
    load_book(engine)
    before = snapshot(engine)
    f = write(tmp_path / "referrals.csv", GOOD + BAD)
    preview = intake.preview_referrals(engine, f)
    assert snapshot(engine) == before
    assert not (tmp_path / "referrals.rejects.csv").exists()
    assert preview.batch_id is None
    added = add_referrals(engine, f)
    assert (preview.added, preview.skipped, preview.rejects) == (
        added.added, added.skipped, added.rejects)
