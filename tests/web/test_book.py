"""The book at a glance, and referrals in: every bad row shown before anything is stored."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from allocator.store import models as m
from allocator.store.engine import make_engine, transaction

from .conftest import REFERRALS, login


def _needs(url: str) -> int:
    with transaction(make_engine(url)) as session:
        return int(session.execute(select(func.count()).select_from(m.Need)).scalar_one())


def test_the_book_at_a_glance(client):
    login(client, "broker")
    page = client.get("/book").text
    assert "47</span> people in care" in page
    assert "105</span> referrals waiting" in page
    for text in ("Capacity left by zone", "Capacity left by provider", "Home care 01",
                 "Referrals waiting, by zone and priority", "hospital_discharge"):
        assert text in page


def test_the_book_downloads(client):
    import csv
    import io

    from openpyxl import load_workbook

    login(client, "commissioner")
    book = load_workbook(io.BytesIO(client.get("/book.xlsx").content))
    assert book.sheetnames == ["waiting", "zones", "providers"]
    text = client.get("/book.csv?table=providers").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["provider", "name"] and len(rows) == 1 + 11
    assert client.get("/book.csv?table=nothing").status_code == 404


def test_upload_shows_every_bad_row_then_adds_the_good_ones_on_confirmation(client, book_url):
    token = login(client, "broker")
    before = _needs(book_url)
    response = client.post("/referrals/upload", data={"csrf_token": token},
                           files={"file": ("tonight.csv", REFERRALS, "text/csv")})
    assert response.status_code == 200
    page = response.text
    assert "2</span> referrals ready to add" in page
    assert "3</span> rows with problems" in page
    for row, field in (("4", "zone"), ("5", "quantity"), ("6", "priority")):
        assert f'<td class="num">{row}</td>' in page and f"<code>{field}</code>" in page
    assert "unknown zone &#39;Z99&#39;" in page
    assert _needs(book_url) == before  # nothing stored before the confirmation

    rejects = client.get("/referrals/pending/rejects.csv")
    assert rejects.headers["content-type"].startswith("text/csv")
    assert "Z99" in rejects.text

    done = client.post("/referrals/confirm", data={"csrf_token": token})
    assert done.status_code == 200 and "2 referral(s) added" in done.text
    uploads = Path(client.app.state.settings.data_dir) / "uploads"
    assert not any(uploads.rglob("*.csv"))  # the upload is not kept once in the book
    assert _needs(book_url) == before + 2
    again = client.post("/referrals/confirm", data={"csrf_token": token})
    assert "Nothing to add" in again.text  # a second confirmation adds nothing
    assert _needs(book_url) == before + 2


def test_an_unreadable_file_is_refused_whole(client, book_url):
    token = login(client, "broker")
    for name, body, expected in (("x.txt", "id\n", "must be .csv or .xlsx"),
                                 ("x.csv", "nonsense,columns\n1,2\n", "unknown column"),
                                 ("x.xlsx", "not a workbook", "not a readable XLSX")):
        response = client.post("/referrals/upload", data={"csrf_token": token},
                               files={"file": (name, body, "application/octet-stream")})
        assert response.status_code == 400, name
        assert expected in response.text, name
        assert "/data/" not in response.text  # no server paths in messages
    assert not any((client.app.state.settings.data_dir / "uploads").rglob("upload.*"))
    assert client.post("/referrals/confirm", data={"csrf_token": token}).status_code == 200
    assert _needs(book_url) == 152


def test_uploads_are_size_limited(app, tmp_path):
    from fastapi.testclient import TestClient

    from allocator.web.app import create_app

    from .conftest import settings_for

    small = create_app(settings_for(app.state.settings.db_url, tmp_path / "s",
                                    max_upload_bytes=2048))
    with TestClient(small) as client:
        token = login(client, "broker")
        row = "W9,package,Z1,personal_care,complex,OP,5,standard\n"
        # a file over the limit: refused as it is saved, nothing kept
        big = REFERRALS + row * 200
        response = client.post("/referrals/upload", data={"csrf_token": token},
                               files={"file": ("big.csv", big, "text/csv")})
        assert response.status_code == 400
        assert "larger than the limit" in response.text
        assert not list((tmp_path / "s" / "data" / "uploads").rglob("*.csv"))
        # a request body far over it: refused (413) before it is read
        huge = REFERRALS + row * 2000
        response = client.post("/referrals/upload", data={"csrf_token": token},
                               files={"file": ("huge.csv", huge, "text/csv")})
        assert response.status_code == 413
        assert "too large" in response.text
