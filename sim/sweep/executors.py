"""Where a sweep's units run: joblib's loky processes on this machine (default), or a Dask
distributed cluster (``--scheduler tcp://HOST:8786`` or ``DASK_SCHEDULER_ADDRESS``). No process
pool of our own: both are the tools' own, and both hand results back as units finish, so the
driver records each point as soon as it is done (a crash loses only the units in flight).

Units are independent and carry their inputs whole (:mod:`.points`), so what a point returns
does not depend on the executor, the worker or the order in which units finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: The environment variable naming the Dask scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class ExecutorError(RuntimeError):
    """The executor cannot start (e.g. no scheduler at the address); the message says which."""


def scheduler_address(option: str | None) -> str | None:
    """``--scheduler`` if given, else ``DASK_SCHEDULER_ADDRESS`` if set, else None (joblib)."""
    return option or os.environ.get(SCHEDULER_ENV) or None


def describe(jobs: int, scheduler: str | None) -> str:
    if scheduler:
        return f"dask distributed at {scheduler}"
    if jobs == 1:
        return "sequential (in process)"
    return f"joblib loky, {'every core' if jobs == -1 else f'{jobs} processes'}"


def _joblib(run: Callable, units: Sequence, jobs: int) -> Iterator[Any]:
    if jobs == 1:  # in process: no pickling, and the simplest thing to debug
        for unit in units:
            yield run(unit)
        return
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=jobs, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(run)(unit) for unit in units)


def _dask(run: Callable, units: Sequence, address: str) -> Iterator[Any]:
    from dask.distributed import Client, as_completed

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ExecutorError(f"no Dask scheduler answers at {address} ({exc}); start one with "
                            "`dask scheduler` and workers with `dask worker "
                            f"{address}`") from None
    with client:
        if not client.scheduler_info().get("workers"):
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise ExecutorError(f"the Dask scheduler at {address} has no worker after "
                                    f"60 s; start some with `dask worker {address}`") from None
        # pure=False: every unit is its own task even when two look alike to Dask
        futures = client.map(run, list(units), pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)


def execute(run: Callable, units: Sequence, *, jobs: int = 1,
            scheduler: str | None = None) -> Iterator[Any]:
    """``run(unit)`` of every unit, yielded as each finishes (in any order): on the Dask
    cluster at ``scheduler`` if given, else with joblib on ``jobs`` processes (-1: every
    core). An exception of a unit propagates when its result is reached."""
    if scheduler:
        return _dask(run, units, scheduler)
    if jobs == 0 or jobs < -1:
        raise ExecutorError(f"--jobs must be >= 1 or -1 (every core), got {jobs}")
    return _joblib(run, units, jobs)


__all__ = ["SCHEDULER_ENV", "ExecutorError", "describe", "execute", "scheduler_address"]
