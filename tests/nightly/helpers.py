"""A small book for the nightly tests, and a nightly run in a child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from store.databases import consistent_book

from allocator.store import book
from allocator.store import models as m
from allocator.store.engine import transaction

SEED = 7  # a market with assignments, unmet referrals (capacity and eligibility) and a block


def load_book(engine: Engine, seed: int = SEED, n_needs: int = 14) -> None:
    inst, offers = consistent_book(seed, n_needs=n_needs)
    with transaction(engine) as session:
        book.import_instance(session, inst, offers=offers)


def load_displaced_book(engine: Engine) -> None:
    """A book with one referral (room for it) and one person in care whose provider can no
    longer serve them (no eligible offer) and who finds no place."""
    from allocator.instance.schema import Instance

    inst = Instance.model_validate({
        "zones": [{"id": "z"}],
        "providers": [{"id": "home", "quality": 80}, {"id": "scheme", "quality": 80}],
        "offers": [
            {"provider": "home", "zone": "z", "service": "personal_care", "unit": "hours",
             "price": 20, "capacity": 10, "max_complexity": "highly_complex"},
            {"provider": "scheme", "zone": "z", "service": "supported_living", "unit": "beds",
             "price": 900, "capacity": 2, "max_complexity": "highly_complex"},
        ],
        "needs": [
            {"id": "c1", "kind": "package", "zone": "z", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 5,
             "current_provider": "scheme"},
            {"id": "new", "kind": "package", "zone": "z", "service": "personal_care",
             "complexity": "complex", "care_group": "OP", "quantity": 8, "priority": "urgent"},
        ],
        "policy": {"unmet_penalty": {"urgent": 500, "standard": 100}},
    })
    with transaction(engine) as session:
        book.import_instance(session, inst)


def snapshot(engine: Engine) -> dict[str, object]:
    """Everything a run or an intake may write, to compare before and after."""
    with transaction(engine) as session:
        count = {t.__tablename__: session.execute(select(func.count()).select_from(t))
                 .scalar_one() for t in (m.Run, m.Suggestion, m.Need, m.Assignment,
                                         m.Decision, m.IntakeBatch, m.IntakeReject)}
        return {"counts": count, "version": book.book_version(session),
                "pins": book.pins(session),
                "statuses": dict(session.execute(select(m.Need.id, m.Need.status)).all())}


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from allocator.store.engine import make_engine
    from allocator.nightly.run import run_nightly, NightlyOptions
    url, marker, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    def hook():
        marker.write_text("solved")
        deadline = time.time() + 120
        while not go.exists() and time.time() < deadline:
            time.sleep(0.05)
    outcome = run_nightly(make_engine(url), NightlyOptions(time_limit=10), before_write=hook)
    print("RUN", outcome.run_id)
""")


def start_child(url: str, folder: Path) -> tuple[subprocess.Popen, Path, Path]:
    """A nightly run in a child process that stops between its solve and its write until
    ``go`` exists; returns (process, marker, go) once it has reached that point."""
    marker, go = folder / "solved", folder / "go"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, url, str(marker), str(go)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not marker.exists():
        if proc.poll() is not None or time.time() > deadline:
            out, err = proc.communicate(timeout=5)
            raise AssertionError(f"the child run did not reach its hook:\n{out}\n{err}")
        time.sleep(0.05)
    return proc, marker, go
