"""Where the independent pieces of a design study run: in-process, local processes, or dask.

Designs x scenarios is embarrassingly parallel: every recourse (one scenario's allocation under
fixed awards) and every scenario group of the decomposition is an independent task. A
:class:`Runner` maps a function over task argument tuples and returns the results in task
order, so the numbers never depend on where or in which order tasks ran:

* :class:`SerialRunner`: in this process, one task after the other;
* :class:`LocalRunner`: ``--workers N`` spawned local processes (spawned, not forked: a solver
  library's threads do not survive a fork); a pool that breaks because a worker died is rebuilt
  and the unfinished tasks are resubmitted, up to ``retries`` times;
* :class:`DaskRunner`: ``--dask tcp://HOST:PORT``, an existing ``dask.distributed`` scheduler.
  Dask rather than Ray: the tasks are plain Python functions of picklable arguments with no
  shared state, which is exactly dask's ``Client.map``; the scheduler itself re-runs the tasks
  of a worker that is lost (``distributed.scheduler.allowed-failures``) and ``retries`` re-runs
  a task that raised; a ``LocalCluster`` starts in-process for tests in a few seconds; and the
  dependency is pure Python, where Ray brings its own object store, dashboard and daemons.

Tasks run HiGHS only (highspy and OR-Tools cannot share a process). The instance, the largest
argument, is sent to each dask worker once (``Client.scatter``), not with every task.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from allocator.core.processes import watch_parent

R = TypeVar("R")


class Runner(Protocol):
    """Maps a function over task argument tuples; results in task order."""

    @property
    def workers(self) -> int: ...

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple]) -> list[R]: ...

    def close(self) -> None: ...


class SerialRunner:
    """Every task in this process, in order."""

    workers = 1

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple]) -> list[R]:
        return [fn(*args) for args in tasks]

    def close(self) -> None:
        pass

    def __enter__(self) -> SerialRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalRunner:
    """A pool of ``workers`` spawned processes, rebuilt if a worker dies mid-run.

    Parameters
    ----------
    workers
        Number of processes (>= 1).
    retries
        How many times a broken pool is rebuilt before the error is raised.
    """

    def __init__(self, workers: int, retries: int = 2):
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self._workers = int(workers)
        self.retries = int(retries)
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # each worker forks a watchdog that ends it with this process (a sweep's LP or
            # MIP would otherwise run on to its own time limit after a kill -9 here)
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
            )
        return self._pool

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple]) -> list[R]:
        results: list[Any] = [None] * len(tasks)
        pending = set(range(len(tasks)))
        failures = 0
        while pending:
            pool = self._executor()
            futures = {pool.submit(fn, *tasks[i]): i for i in sorted(pending)}
            wait(futures, return_when=FIRST_EXCEPTION)
            broken = False
            for future in futures:
                if not future.done():
                    continue
                error = future.exception()
                if error is None:
                    i = futures[future]
                    results[i] = future.result()
                    pending.discard(i)
                elif isinstance(error, BrokenProcessPool):
                    broken = True
                else:
                    raise error
            if broken:
                failures += 1
                self._reset()
                if failures > self.retries:
                    raise BrokenProcessPool(
                        f"a worker process died {failures} times; {len(pending)} task(s) left"
                    )
        return results

    def _reset(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LocalRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _apply(fn: Callable[..., R], args: tuple) -> R:
    return fn(*args)


class DaskRunner:
    """Tasks on a ``dask.distributed`` cluster.

    Parameters
    ----------
    address
        The scheduler, e.g. ``tcp://10.0.0.5:8786``; ignored when ``client`` is given.
    client
        An existing ``distributed.Client`` (tests pass one on a ``LocalCluster``).
    retries
        How many times a task that raised is re-run. A task whose worker is lost is re-run by
        the scheduler itself.
    """

    def __init__(self, address: str | None = None, *, client: Any = None, retries: int = 2):
        from distributed import Client

        if client is None and address is None:
            raise ValueError("give a scheduler address (tcp://HOST:PORT) or a client")
        self._own = client is None
        self.client = client if client is not None else Client(address)
        self.retries = int(retries)
        self._scattered: dict[int, tuple[Any, Any]] = {}

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def _remote(self, value: Any) -> Any:
        # Large, shared arguments (instances) are sent to the cluster once and referred to.
        from allocator.instance.schema import Instance

        if not isinstance(value, Instance):
            return value
        key = id(value)
        if key not in self._scattered:
            future = self.client.scatter(value, broadcast=True, hash=False)
            self._scattered[key] = (value, future)  # keep value alive: its id stays unique
        return self._scattered[key][1]

    def map(self, fn: Callable[..., R], tasks: Sequence[tuple]) -> list[R]:
        """The tasks' results in order. A task the scheduler cancels (seen once in CI: a
        worker killed mid-task, its future then "already forgotten"; dask's own tests of
        failed workers are flaky the same way; or "lost dependencies" when every worker
        holding a scattered instance died) is submitted again, up to ``retries`` times, with
        the instances scattered again; the tasks that finished are kept."""
        from concurrent.futures import CancelledError

        if not tasks:
            return []
        results: list[Any] = [None] * len(tasks)
        pending = list(range(len(tasks)))
        cancelled = 0
        while pending:
            futures = [self.client.submit(_apply, fn, tuple(self._remote(a) for a in tasks[i]),
                                          pure=False, retries=self.retries) for i in pending]
            try:
                got = self.client.gather(futures)
            except CancelledError:
                cancelled += 1
                if cancelled > self.retries:
                    raise
                # "lost dependencies": every worker holding a scattered instance died (two
                # workers killed at once, seen under load); scatter it again for the retry
                self._scattered.clear()
                left = []
                for i, future in zip(pending, futures, strict=True):
                    if future.status == "finished":
                        results[i] = future.result()
                    else:
                        left.append(i)
                pending = left
                continue
            for i, r in zip(pending, got, strict=True):
                results[i] = r
            pending = []
        return results

    def close(self) -> None:
        self._scattered.clear()
        if self._own:
            self.client.close()

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_runner(workers: int | None = None, dask: str | None = None) -> Runner:
    """The runner the CLI options ask for.

    ``dask`` (a scheduler address) wins; else ``workers`` local processes (1: in-process);
    ``workers=None`` uses every core.
    """
    if dask:
        return DaskRunner(dask)
    n = (os.cpu_count() or 1) if workers is None else workers
    return SerialRunner() if n <= 1 else LocalRunner(n)


def chunks(items: Sequence[Any], parts: int) -> list[list[Any]]:
    """``items`` split into at most ``parts`` contiguous, nearly equal, non-empty chunks."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for k in range(parts):
        end = start + size + (1 if k < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return [c for c in out if c]
