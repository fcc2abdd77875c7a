"""Jobs' state: created, started, progress, done with its whole result, or failed; orphans
of a dead server failed at the next start."""

from __future__ import annotations

from allocator.store import jobs
from allocator.store.engine import transaction


def _new(engine, kind="nightly"):
    with transaction(engine) as session:
        return jobs.create(session, kind, title="t", user_id=None, params={"a": 1},
                           server="s1").id


def test_a_job_runs_reports_progress_and_finishes_whole(engine):
    job_id = _new(engine)
    jobs.add_progress(engine, job_id, {"t": 0})  # not running yet: ignored
    jobs.start(engine, job_id)
    for t in range(jobs.MAX_POINTS + 10):
        if t % 50 == 0 or t > jobs.MAX_POINTS:
            jobs.add_progress(engine, job_id, {"t": t})
    jobs.finish(engine, job_id, {"run_id": 3}, "done", point={"t": 999})
    with transaction(engine) as session:
        job = jobs.get(session, job_id)
        assert (job.status, job.result, job.message) == ("done", {"run_id": 3}, "done")
        assert job.progress[0] == {"t": 0} and job.progress[-1] == {"t": 999}
        assert job.finished_at is not None


def test_orphans_are_failed_and_finished_jobs_kept(engine):
    running, queued, done = _new(engine), _new(engine, "compare"), _new(engine)
    jobs.start(engine, running)
    jobs.start(engine, done)
    jobs.finish(engine, done, {"x": 1})
    assert jobs.fail_orphans(engine) == 2
    with transaction(engine) as session:
        for job_id in (running, queued):
            job = jobs.get(session, job_id)
            assert job.status == "failed" and "server stopped" in job.message
            assert job.result == {}
        assert jobs.get(session, done).status == "done"
        assert jobs.active(session, "nightly") is None
