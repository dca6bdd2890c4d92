"""Run a sweep's tasks serially, on a local process pool, or on a Dask cluster — same results.

The unit of work is one pure function ``fn(config, fold, seed) -> dict`` (one sweep point × one
fold; its seed was derived up front with ``numpy.random.SeedSequence.spawn``). :func:`run_tasks`
sends every unfinished task to one of three backends and collects the results as they finish:

- ``jobs=1``: in this process, one task after the other;
- ``jobs=N`` (default: every core): a local pool of N worker processes (joblib's ``loky`` backend);
- ``jobs="auto"`` (the default of ``nnscratch cv`` and ``sweep``): this process when the work is
  too small to pay for starting a pool, else a pool of one process per core (see :mod:`.jobs`);
- ``cluster="tcp://HOST:PORT"``: the workers of a running Dask cluster (``distributed``, an
  optional extra: ``pip install nnscratch[dask]``).

Why the results are identical, bit for bit, whichever backend runs them:

- a task's seed belongs to the task, not to the process or the order it ran in;
- every task runs with its BLAS/OpenMP pools pinned to one thread, so no sum is split differently
  because a host has more cores (and N tasks on N cores do not oversubscribe them);
- results are returned in the tasks' order, never in completion order, and go through the same
  JSON round trip (:func:`~nnscratch.experiments.store.normalize_result`) on every path.

With a ``run_dir``, each result is written to the run folder the moment it arrives (see
:mod:`~nnscratch.experiments.store`), and a rerun skips the tasks that already have a file.
"""

from __future__ import annotations

import copy
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nnscratch.base.errors import ClusterError, ConfigError

from . import sweep
from .cluster import ClusterSpec, stream_dask
from .jobs import TaskSeconds, choose_jobs
from .pool_worker import end_with_parent
from .store import ResultStore, TaskSpec
from .tasks import OneThread, TaskFn, execute_task

#: Called in this process after each result is stored: ``on_result(index, task, result)``, with
#: the task object as given to :func:`run_tasks`.
ResultCallback = Callable[[int, Any, dict[str, Any]], None]


@dataclass
class TaskRun:
    """What :func:`run_tasks` returns.

    Attributes
    ----------
    results : list of dict
        One result per task, in the order of the tasks given (never in completion order).
    computed : int
        Tasks that ran in this call.
    reused : int
        Tasks whose result was already in the run folder (or repeated an identical task).
    backend : str
        ``"serial"``, ``"local[N]"`` (N worker processes) or ``"dask[ADDRESS]"``.
    """

    results: list[dict[str, Any]]
    computed: int
    reused: int
    backend: str


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return max(1, os.cpu_count() or 1)


#: ``jobs="auto"``: let :func:`~nnscratch.experiments.jobs.choose_jobs` pick from the work.
AUTO = "auto"
Jobs = int | str | None


def resolve_jobs(jobs: int | None) -> int:
    """The number of worker processes ``jobs`` asks for.

    ``None`` or ``-1`` means every core; ``-2`` every core but one (joblib's convention); a
    positive ``N`` means N processes. ``0`` and other values raise :class:`ConfigError`
    (``"auto"`` is decided by :func:`run_tasks`, which knows the tasks).
    """
    cores = available_cores()
    if jobs is None:
        return cores
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs == 0:
        raise ConfigError(
            f"jobs must be a positive number of processes, or -1 for every core. Received: jobs={jobs!r}"
        )
    return jobs if jobs > 0 else max(1, cores + 1 + jobs)


def _indexed(fn: TaskFn, index: int, task: TaskSpec) -> tuple[int, dict[str, Any]]:
    return index, execute_task(fn, task.config, task.fold, task.seed)


def _stream_serial(
    fn: TaskFn, pending: Sequence[tuple[int, TaskSpec]]
) -> Iterator[tuple[int, dict[str, Any]]]:
    threads = OneThread()  # in the caller's process: its thread limits come back afterwards
    try:
        for index, task in pending:
            yield index, execute_task(fn, task.config, task.fold, task.seed, threads)
    finally:
        threads.restore()


def _stream_local(
    fn: TaskFn, pending: Sequence[tuple[int, TaskSpec]], n_jobs: int
) -> Iterator[tuple[int, dict[str, Any]]]:
    from joblib import Parallel, delayed

    # batch_size=1: each result comes back (and is saved) as soon as its task ends; the workers
    # end with this process, even when it is killed (see .pool_worker)
    main = threading.current_thread() is threading.main_thread()
    parallel = Parallel(
        n_jobs=n_jobs, backend="loky", return_as="generator_unordered", batch_size=1,
        initializer=end_with_parent, initargs=(os.getpid(), main),
    )  # fmt: skip
    results = parallel(delayed(_indexed)(fn, index, task) for index, task in pending)
    try:
        for item in results:  # noqa: UP028 (`yield from` would close `results` outside the filter)
            yield item
    finally:
        # stopped early (error, Ctrl-C): joblib cancels the rest and warns that some results went
        # unused; they are recomputed on the next run, so the warning is noise here
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", r".*(successfully executed|still being processed)", UserWarning)
            results.close()


def _progress_bar(total: int, initial: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="task", disable=not enabled, leave=enabled)


def run_tasks(
    fn: TaskFn,
    tasks: Iterable[Any],
    *,
    jobs: Jobs = None,
    cluster: Any = None,
    run_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    desc: str = "sweep",
    on_result: ResultCallback | None = None,
    report_reused: bool = False,
    log: Callable[[str], None] | None = None,
    task_seconds: TaskSeconds | None = None,
) -> TaskRun:
    """Run ``fn(task.config, task.fold, task.seed)`` for every task and return the results in order.

    Parameters
    ----------
    fn : callable
        A pure, module-level function (worker processes import it by name) returning a dict of
        JSON values (NumPy scalars and arrays are converted).
    tasks : iterable
        The sweep's tasks: objects with ``config`` (a dict of JSON values), ``fold`` (int or None)
        and ``seed`` (int) attributes, such as :class:`TaskSpec` or the sweep planner's tasks.
        Identical tasks (same config, fold and seed) run once.
    jobs : int or "auto", optional
        Local worker processes: ``1`` runs in this process, ``N`` starts a pool of N, ``None``
        or ``-1`` uses every core, ``"auto"`` runs here when the tasks still to run are too
        little work to pay for a pool and otherwise on every core
        (:func:`~nnscratch.experiments.jobs.choose_jobs`). Ignored when ``cluster`` is given.
    cluster : str, dict, ClusterSpec or distributed.Client, optional
        A Dask scheduler address (``"tcp://HOST:PORT"``), the experiment file's ``[cluster]``
        table, or a connected client. Needs ``pip install nnscratch[dask]``.
    run_dir : path, optional
        The run folder: each result is written there as it arrives and a rerun skips the tasks
        already written. Without it nothing is stored.
    progress : bool
        Show a progress bar (tqdm, on stderr) that advances as each task finishes.
    desc : str
        The progress bar's label.
    on_result : callable, optional
        ``on_result(index, task, result)``, called in this process for each task as its result
        arrives (after it is stored), repeated tasks included; while it runs the progress bar is
        lifted, so it may print.
    report_reused : bool
        Also call ``on_result`` for the tasks found in ``run_dir``, in task order, before the
        others start.
    log : callable, optional
        Receives one line before the tasks start: how many run, where (with ``"auto"``, why
        there), and how many were done.
    task_seconds : callable, optional
        ``task_seconds(config) -> seconds`` of one task, for ``jobs="auto"``; default: a
        :class:`~nnscratch.experiments.jobs.TaskTimer`, which times a short trial of a
        :func:`~nnscratch.experiments.sweep.run_point` config.

    Returns
    -------
    TaskRun
        ``results`` in task order, and how many tasks were ``computed`` and ``reused``.
    """
    originals = list(tasks)
    tasks = [TaskSpec.of(task, f"tasks[{i}]") for i, task in enumerate(originals)]
    store = ResultStore(run_dir) if run_dir is not None else None

    # one slot per distinct task; duplicates of a task share its result
    indices: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        indices.setdefault(task.key, []).append(i)
    results: dict[str, dict[str, Any]] = {}
    pending: list[tuple[int, TaskSpec]] = []
    for key, where in indices.items():
        stored = store.load(tasks[where[0]]) if store is not None else None
        if stored is not None:
            results[key] = stored
        else:
            pending.append((where[0], tasks[where[0]]))

    choice = None
    if jobs == AUTO and cluster is None and pending:
        configs = [task.config for _, task in pending]
        choice = choose_jobs(configs, available_cores(), task_seconds=task_seconds)
    stream, backend = _open_stream(fn, pending, choice.n_jobs if choice is not None else jobs, cluster)
    try:
        if log is not None:
            done = f"{len(results)} already done in {store.dir}" if store is not None and results else ""
            why = f" (--jobs auto: {choice.reason})" if choice is not None else ""
            if pending:
                log(f"{len(pending)} task(s) to run on {backend}{why}" + (f"; {done}" if done else ""))
            else:
                log(f"nothing to run: {done or 'no tasks'}")
        with _progress_bar(len(indices), len(results), desc, progress) as bar:

            def announce(key: str) -> None:
                if on_result is not None:
                    with bar.external_write_mode():
                        for i in indices[key]:
                            on_result(i, originals[i], results[key])

            if report_reused:
                for key in [k for k in indices if k in results]:
                    announce(key)
            try:
                for index, raw in stream:
                    task = tasks[index]
                    results[task.key] = store.save(task, raw) if store is not None else raw
                    bar.update(1)
                    announce(task.key)
            except ClusterError as exc:  # what finished is stored: say so, and how to go on
                if store is None or not results:
                    raise
                raise ClusterError(
                    f"{exc} The {len(results)} finished task(s) are kept in {store.dir}: rerun the same "
                    "command to resume from them."
                ) from exc
    finally:
        stream.close()  # stops the pool or cancels the cluster's futures if we stopped early

    ordered, seen = [], set()
    for task in tasks:  # a repeated task gets its own copy, so editing one result edits only it
        ordered.append(copy.deepcopy(results[task.key]) if task.key in seen else results[task.key])
        seen.add(task.key)
    return TaskRun(results=ordered, computed=len(pending), reused=len(tasks) - len(pending), backend=backend)


def _open_stream(
    fn: TaskFn, pending: Sequence[tuple[int, TaskSpec]], jobs: Jobs, cluster: Any
) -> tuple[Iterator[tuple[int, dict[str, Any]]], str]:
    """Pick the backend; returns a generator of ``(task index, result)`` and the backend's name."""
    if cluster is not None:
        spec = ClusterSpec.parse(cluster)
        return stream_dask(fn, pending, spec), f"dask[{spec.describe()}]"
    # "auto" with nothing pending: nothing runs, and a stream of nothing needs no pool
    n_jobs = 1 if jobs == AUTO else min(resolve_jobs(jobs), max(1, len(pending)))
    if n_jobs == 1:  # a pool of one only adds start-up time
        return _stream_serial(fn, pending), "serial"
    return _stream_local(fn, pending, n_jobs), f"local[{n_jobs}]"


# -- the runner's executor ---------------------------------------------------------------------
def portable_config(config: dict[str, Any]) -> dict[str, Any]:
    """A task's config without what only says *how* it runs, so keys and results do not depend on it.

    Drops the ``[cluster]`` table (a sweep run locally and on Dask has the same tasks, and resumes
    from each other) and turns per-fit progress bars off (workers would interleave them; the sweep
    has its own bar).
    """
    out = {key: copy.deepcopy(value) for key, value in config.items() if key != "cluster"}
    training = out.get("training")
    if isinstance(training, dict) and training.get("progress"):
        training["progress"] = False
    return out


def sweep_executor(
    *,
    jobs: Jobs = AUTO,
    cluster: Any = None,
    run_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    fn: TaskFn | None = None,
    log: Callable[[str], None] | None = None,
    desc: str = "sweep",
) -> Callable[[list[Any]], list[dict[str, Any]]]:
    """An ``executor`` for :func:`nnscratch.experiments.runner.run`: the planner's tasks through
    :func:`run_tasks` (``fn`` defaults to :func:`~nnscratch.experiments.sweep.run_point`).

    The executor is called as ``executor(tasks, on_done)`` and calls ``on_done(task, result)``
    for each task as it finishes (and first for those already in ``run_dir``).

    ``jobs`` is :func:`run_tasks`'s, ``"auto"`` by default: the tasks run in this process unless
    they are enough work to pay for a process pool. ``log``, if given, receives one line before
    the tasks start (see :func:`run_tasks`); ``desc`` labels the progress bar.
    """
    if fn is None:
        fn = sweep.run_point  # read at call time, so a patched run_point is the one that runs

    def execute(
        tasks: list[Any], on_done: Callable[[Any, dict[str, Any]], None] | None = None
    ) -> list[dict[str, Any]]:
        specs = [TaskSpec(portable_config(t.config), t.fold, t.seed) for t in tasks]

        def done(index: int, _spec: Any, result: dict[str, Any]) -> None:
            if on_done is not None:
                on_done(tasks[index], result)

        run = run_tasks(
            fn, specs, jobs=jobs, cluster=cluster, run_dir=run_dir, progress=progress,
            on_result=done, report_reused=True, log=log, desc=desc,
        )  # fmt: skip
        return run.results

    return execute
