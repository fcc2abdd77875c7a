"""Search children that fail: every search job handed to a child gets options it cannot use,
so the child raises (the other sources of an answer are untouched)."""

from __future__ import annotations

from typing import Any


def fail_search_children(monkeypatch: Any) -> None:
    import allocator.heuristic.worker as worker

    real = worker.Worker

    class Poisoned(real):  # type: ignore[misc, valid-type]
        def __init__(self, job: dict, *args: Any, **kwargs: Any) -> None:
            if "data" in job and job.get("kind") is None:  # a search job: its child fails
                job = {**job, "options": "not search options"}
            super().__init__(job, *args, **kwargs)

    monkeypatch.setattr(worker, "Worker", Poisoned)
