"""Fixtures of the web app's tests: a Devon book with one user per role, an app on it, and a
client per role (logged in) - on SQLite, and on PostgreSQL when a server is given."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from store.databases import BACKENDS, fresh_url, migrated_engine

from allocator.instance.io import load_instance
from allocator.store.book import import_instance
from allocator.store.engine import transaction
from allocator.store.users import add_user
from allocator.web.app import create_app
from allocator.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
DEVON = ROOT / "instances" / "devon_personal_care.json"
PASSWORD = "correct horse battery staple"
ROLES = ("broker", "commissioner", "admin")
ARTEFACTS = Path(__file__).resolve().parent / "artefacts"


def make_book(engine: Engine) -> None:
    """The Devon market, and users ``broker``, ``commissioner`` and ``admin``."""
    with transaction(engine) as session:
        import_instance(session, load_instance(DEVON))
        for role in ROLES:
            add_user(session, role, role, PASSWORD)


def settings_for(url: str, tmp_path: Path, **overrides) -> WebSettings:
    return WebSettings(db_url=url, secret_key="test-secret-" + "x" * 40,
                       data_dir=tmp_path / "data", nightly_time_limit=30, **overrides)


@pytest.fixture(scope="session")
def template_book(tmp_path_factory) -> Path:
    """A Devon book on SQLite, made once; tests get a copy (making it takes seconds)."""
    path = tmp_path_factory.mktemp("template") / "book.db"
    for engine in migrated_engine(f"sqlite:///{path}"):
        make_book(engine)
    return path


@pytest.fixture
def book_url(template_book, tmp_path) -> Iterator[str]:
    """A Devon book on SQLite (most HTTP tests: the routes do not depend on the backend)."""
    path = tmp_path / "book.db"
    shutil.copyfile(template_book, path)
    yield f"sqlite:///{path}"


@pytest.fixture(params=BACKENDS)
def any_book_url(request, tmp_path) -> Iterator[str]:
    """A Devon book on each backend (PostgreSQL skips without a server)."""
    for url in fresh_url(request.param, tmp_path):
        for engine in migrated_engine(url):
            make_book(engine)
        yield url


@pytest.fixture
def app(book_url, tmp_path):
    return create_app(settings_for(book_url, tmp_path))


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def jobs_of(url: str, kind: str) -> list:
    """The book's jobs of one kind."""
    from sqlalchemy import select

    from allocator.store import models as m
    from allocator.store.engine import make_engine

    with transaction(make_engine(url)) as session:
        return list(session.execute(select(m.Job).where(m.Job.kind == kind)).scalars())


def audit_of(url: str, action: str) -> list:
    """The audit entries of one action."""
    from sqlalchemy import select

    from allocator.store import models as m
    from allocator.store.engine import make_engine

    with transaction(make_engine(url)) as session:
        return list(session.execute(select(m.AuditEntry)
                                    .where(m.AuditEntry.action == action)).scalars())


def wait_for_job(client: TestClient, url: str, timeout: float = 120.0) -> str:
    """Poll a job's status fragment until it is done or failed; returns its HTML."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        html = client.get(url).text
        if 'class="status done"' in html or 'class="status failed"' in html:
            return html
        time.sleep(0.2)
    raise AssertionError(f"job at {url} did not finish in {timeout} s")


REFERRAL_HEADER = "id,kind,zone,service,complexity,care_group,quantity,priority\n"
# two good referrals (one with an id a spreadsheet would run as a formula), and three bad rows
REFERRALS = (REFERRAL_HEADER
             + "W001,package,Z1,personal_care,complex,OP,6,urgent\n"
             + "=1+2,package,Z2,personal_care,less_complex,OP,4,standard\n"
             + "W003,package,Z99,personal_care,complex,OP,5,standard\n"
             + "W004,package,Z1,personal_care,complex,OP,-3,standard\n"
             + "W005,package,Z1,personal_care,complex,OP,5,someday\n")


def design_files(folder: Path) -> tuple[Path, list[Path]]:
    """The tiny market and its three lot designs (tests/design/markets.py) as files."""
    from design.markets import designs, tiny_market

    from allocator.instance.io import save_instance

    folder.mkdir(parents=True, exist_ok=True)
    market = folder / "market.json"
    save_instance(tiny_market(), market)
    paths = []
    for name, design in designs().items():
        path = folder / f"{name}.json"
        path.write_text(design.model_dump_json(exclude_defaults=True), encoding="utf-8")
        paths.append(path)
    return market, paths


EVIL = '=HYPERLINK("http://evil.example","A")'  # bidder A of the hand-worked market


def market_file(folder: Path, *, evil: bool = True, bids: bool = True,
                extra_lot: bool = False, name: str = "framework.json") -> Path:
    """The hand-worked market of a mini-competition (tests/design/test_minicompetition.py:
    score winner A, whole-market winner B, 500 a week apart) as a file; A renamed
    :data:`EVIL` (unless ``evil`` is false), without its block bids, or with a lot ``M``
    that has none."""
    from design.test_minicompetition import hand_market

    from allocator.instance.io import save_instance
    from allocator.instance.schema import Instance

    doc = hand_market().model_dump(mode="json", exclude_defaults=True)
    bidder = EVIL if evil else "A"
    for row in doc["providers"]:
        row["id"] = bidder if row["id"] == "A" else row["id"]
    for table in ("offers", "block_bids"):
        for row in doc.get(table, []):
            row["provider"] = bidder if row["provider"] == "A" else row["provider"]
    if not bids:
        doc["block_bids"] = []
    if extra_lot:
        doc["lots"].append({"id": "M", "unit": "hours", "zones": ["z1"],
                            "services": ["personal_care"], "complexities": ["complex"]})
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    save_instance(Instance.model_validate(doc), path)
    return path
