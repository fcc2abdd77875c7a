"""Sweeps: the same table in-process, on local processes and on a dask cluster; a lost worker
does not lose the sweep; the same seeds give the same numbers."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from orphans import alive, kill_and_wait

from allocator.core.params import SolveParams
from allocator.design.compare import compare_designs
from allocator.design.recourse import recourse_batch
from allocator.design.scenarios import demands, generate_scenarios, with_scenarios
from allocator.design.solve import DesignParams
from allocator.design.sweep import DaskRunner, LocalRunner, SerialRunner, chunks, make_runner

from .markets import designs, tiny_market

PARAMS = DesignParams(method="benders", time_limit=120, final_candidates=2)


def comparison(runner):
    market = tiny_market()
    return compare_designs(market, list(designs().items()),
                           generate_scenarios(market, 4, seed=3), PARAMS, runner)


def assert_same_tables(a, b):
    for name, left in a.tables().items():
        right = b.tables()[name]
        drop = [c for c in ("runtime_s", "time_given_s") if c in left]  # wall-clock figures
        pd.testing.assert_frame_equal(left.drop(columns=drop), right.drop(columns=drop),
                                      check_exact=False, rtol=1e-9, atol=1e-9, obj=name)


@pytest.fixture(scope="module")
def serial():
    return comparison(SerialRunner())


@pytest.fixture(scope="module")
def dask_client():
    import distributed  # a dependency (dask[distributed]): never skipped
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_same_seeds_same_numbers(serial):
    assert serial.summary["status"].tolist()[0] == "optimal"
    assert_same_tables(serial, comparison(SerialRunner()))


def test_local_processes_equal_in_process(serial):
    with LocalRunner(2) as runner:
        assert_same_tables(serial, comparison(runner))


def test_dask_cluster_equals_local(serial, dask_client):
    runner = DaskRunner(client=dask_client)
    assert runner.workers == 2
    assert_same_tables(serial, comparison(runner))


def flaky_batch(marker, *args):
    """recourse_batch, but the first call anywhere kills its worker process mid-run."""
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        os._exit(1)
    return recourse_batch(*args)


def _tasks(marker):
    market = tiny_market()
    inst = with_scenarios(market, generate_scenarios(market, 4, seed=9))
    core = inst.model_copy(update={"scenarios": []})
    params = SolveParams(time_limit=30, threads=1)
    return [(marker, core, part, {}, params) for part in chunks(demands(inst), 4)]


def _objectives(results):
    return [o.objective for batch in results for o in batch]


def test_lost_worker_still_completes_dask(tmp_path, dask_client):
    import cloudpickle

    from . import test_sweep

    cloudpickle.register_pickle_by_value(test_sweep)  # workers need not import the tests
    tasks = _tasks(str(tmp_path / "died"))
    expected = _objectives(SerialRunner().map(recourse_batch, [t[1:] for t in tasks]))
    got = _objectives(DaskRunner(client=dask_client).map(flaky_batch, tasks))
    assert (tmp_path / "died").exists()
    assert got == expected


def test_an_instance_lost_with_every_worker_is_scattered_again(tmp_path, dask_client):
    """Every worker holding the scattered instance gone (two workers killed at once: seen in
    the test above under load, "cancelled for reason: lost dependencies"): the retry scatters
    the instance again instead of resubmitting against a future whose data is lost."""
    tasks = [t[1:] for t in _tasks(str(tmp_path / "unused"))]
    expected = _objectives(SerialRunner().map(recourse_batch, tasks))
    runner = DaskRunner(client=dask_client)
    assert _objectives(runner.map(recourse_batch, tasks)) == expected  # scattered here
    dask_client.restart()  # every worker replaced: the scattered instance is gone
    assert _objectives(runner.map(recourse_batch, tasks)) == expected


def test_dask_tasks_the_scheduler_cancels_are_submitted_again():
    """A gather that raises CancelledError (a killed worker's future "already forgotten")
    resubmits the tasks that did not finish, keeps those that did, and gives up after
    ``retries`` such rounds."""
    from concurrent.futures import CancelledError

    class Future:
        def __init__(self, value, ok):
            self.value, self.status = value, "finished" if ok else "cancelled"

        def result(self):
            return self.value

    class Client:
        def __init__(self, cancel_rounds):
            self.rounds, self.cancel_rounds, self.submitted = 0, cancel_rounds, []

        def submit(self, apply, fn, args, **kw):
            self.submitted.append(args[0])
            # in a cancelled round the odd tasks are lost
            lost = self.rounds < self.cancel_rounds and args[0] % 2 == 1
            return Future(fn(*args), not lost)

        def gather(self, futures):
            self.rounds += 1
            if self.rounds <= self.cancel_rounds:
                raise CancelledError("already forgotten")
            return [f.result() for f in futures]

    def square(x):
        return x * x

    client = Client(cancel_rounds=1)
    runner = DaskRunner(client=client, retries=2)
    assert runner.map(square, [(i,) for i in range(5)]) == [0, 1, 4, 9, 16]
    assert client.submitted == [0, 1, 2, 3, 4, 1, 3]  # only the lost ones again
    with pytest.raises(CancelledError):
        DaskRunner(client=Client(cancel_rounds=5), retries=2).map(square, [(1,)])


def test_lost_worker_still_completes_local(tmp_path):
    tasks = _tasks(str(tmp_path / "died"))
    expected = _objectives(SerialRunner().map(recourse_batch, [t[1:] for t in tasks]))
    with LocalRunner(2) as runner:
        assert _objectives(runner.map(flaky_batch, tasks)) == expected
    assert (tmp_path / "died").exists()


def test_runner_choice_and_chunks():
    assert isinstance(make_runner(1), SerialRunner)
    assert isinstance(make_runner(2), LocalRunner)
    with pytest.raises(ValueError):
        LocalRunner(0)
    assert chunks(list(range(5)), 2) == [[0, 1, 2], [3, 4]]
    assert chunks(list(range(2)), 8) == [[0], [1]]
    assert chunks([], 3) == []


_ORPHAN_SWEEP = """
import os, threading, time
from allocator.design.sweep import LocalRunner
runner = LocalRunner(2)
threading.Thread(target=runner.map, args=(time.sleep, [(600.0,), (600.0,)]), daemon=True).start()
me, workers, end = os.getpid(), [], time.monotonic() + 60.0
while len(workers) < 2 and time.monotonic() < end:
    time.sleep(0.2)
    workers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            cmd = open(f"/proc/{pid}/cmdline").read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and "spawn_main" in cmd:
            workers.append(pid)
print(" ".join(workers), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watchdog reads /proc")
def test_sweep_workers_end_with_their_parent():
    """A design run killed outright (SIGKILL: a web server stopped hard, the out-of-memory
    killer) leaves no sweep worker behind: each ends within seconds, in the middle of a task
    that would run for 600 s, instead of running its LP or MIP on to its own time limit."""
    parent = subprocess.Popen([sys.executable, "-c", _ORPHAN_SWEEP], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline().split()
        assert len(line) == 2, parent.stderr.read() if parent.stderr else line
        workers = [int(p) for p in line]
        time.sleep(1.0)  # both are inside their task
        assert all(alive(w) for w in workers), "a worker ended before its parent was killed"
        assert not kill_and_wait(parent, workers), "an orphaned sweep worker is still working"
    finally:
        parent.kill()
        parent.wait()

