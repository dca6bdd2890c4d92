"""One task, run where it lands: a pure function of (config, fold, seed) with BLAS at one thread.

Every backend of :mod:`~nnscratch.experiments.parallel` (serial, local processes, Dask workers)
calls :func:`execute_task`, so a result cannot depend on where it was computed.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .store import normalize_result

TaskFn = Callable[[dict[str, Any], int | None, int], Mapping[str, Any]]


class OneThread:
    """Keeps BLAS and OpenMP thread pools at one thread (threadpoolctl), cheaply.

    Setting the limit walks every loaded native library (milliseconds), so it is redone only
    when Python modules were imported since the last time (a new module may have loaded a new
    library). :meth:`restore` gives back the limits found before the first :meth:`ensure`.
    """

    def __init__(self) -> None:
        self._seen = -1
        self._limiters: list[Any] = []

    def ensure(self) -> None:
        if len(sys.modules) == self._seen:
            return
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # threadpoolctl ships with scikit-learn; without it, env vars must do
            return
        self._limiters.append(threadpool_limits(limits=1))
        self._seen = len(sys.modules)

    def restore(self) -> None:
        for limiter in reversed(self._limiters):  # newest first: the oldest holds the originals
            limiter.restore_original_limits()
        self._limiters, self._seen = [], -1


#: A worker process exists to run tasks: its limit is set on its first task and kept.
_WORKER_THREADS = OneThread()


def execute_task(
    fn: TaskFn, config: dict[str, Any], fold: int | None, seed: int, threads: OneThread | None = None
) -> dict[str, Any]:
    """Run one task and return its result as plain JSON values. This is what a worker executes.

    ``fn`` receives its own copy of ``config``, so a function that edits it cannot change the
    task (or the next task in the same process). ``threads`` keeps BLAS at one thread (default:
    this worker process's own keeper, never restored).
    """
    threads = _WORKER_THREADS if threads is None else threads
    threads.ensure()
    try:
        return normalize_result(fn(copy.deepcopy(config), fold, seed))
    finally:
        threads.ensure()  # libraries the first task imported are limited for the next ones
