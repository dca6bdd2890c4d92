"""``--jobs auto``: run the tasks in this process or on a process pool, whichever is quicker.

A process pool pays off only when the work it spreads outweighs what it costs to start: every
worker is a fresh Python that imports NumPy, nnscratch (0.3 s) and scikit-learn (0.9 s) before
its first task, and loky takes ~1 s to start them: 2-3.5 s before the first result on a 2-core
machine, the more the busier it is. The five folds of ``examples/cv_linear.toml`` train in
0.15 s all together, so there the pool is pure cost. :func:`choose_jobs` decides, for the tasks
still to run:

1. one task, or one core: this process;
2. otherwise, with ``t`` each task's estimated seconds (:class:`TaskTimer`) and
   ``n = min(cores, tasks)`` workers, it compares

       this process:    sum(t)
       a pool of n:     POOL_START_S + max(sum(t) / n, max(t))

   and starts the pool only when that is quicker: when ``sum(t) - max(sum(t) / n, max(t))``,
   the time the pool saves, exceeds ``POOL_START_S``.

The saving can only grow with each task added, so the estimates stop as soon as the pool is
known to win: a big sweep is not timed point by point. Which way the tasks run never changes a
result: each is a pure function of (config, fold, seed) with BLAS at one thread wherever it
runs (see :mod:`.parallel`).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnscratch.base.backend import blas_threads
from nnscratch.base.errors import DivergenceError, TrainingWarning
from nnscratch.training.loop import fit

from . import builder
from .config import ExperimentConfig, validate
from .store import to_json
from .tasks import OneThread

#: Seconds a local pool costs before its first result: starting the worker processes and
#: importing NumPy, scikit-learn and nnscratch in each (measured 2-3.5 s on a 2-core machine).
POOL_START_S = 3.0
#: Steps of the timed trial (after a warm-up step); 4x more while they take under TRIAL_S.
TRIAL_STEPS = 4
TRIAL_S = 0.005
#: Rows of the largest trial batch; a bigger full batch is timed on this many rows and scaled.
TRIAL_ROWS = 4096

TaskSeconds = Callable[[Mapping[str, Any]], float]


@dataclass(frozen=True)
class JobsChoice:
    """What :func:`choose_jobs` decided: ``n_jobs`` (1 = in this process) and why, in words."""

    n_jobs: int
    reason: str


def choose_jobs(
    configs: Sequence[Mapping[str, Any]],
    cores: int,
    *,
    task_seconds: TaskSeconds | None = None,
    start_s: float = POOL_START_S,
) -> JobsChoice:
    """How many processes should run these tasks: 1 (this process) or a pool of ``n`` (see above).

    Parameters
    ----------
    configs : sequence of dict
        The config of each task still to run (tasks of one sweep point share their config; it
        is estimated once).
    cores : int
        The cores available (:func:`~nnscratch.experiments.parallel.available_cores`).
    task_seconds : callable, optional
        ``task_seconds(config) -> seconds`` of one task; default: a :class:`TaskTimer`, which
        reads ``run_point`` configs.
    start_s : float
        What starting the pool costs, in seconds.

    Returns
    -------
    JobsChoice
        ``n_jobs`` is 1 or ``min(cores, len(configs))``.
    """
    if len(configs) <= 1:
        return JobsChoice(1, "one task")
    if cores <= 1:
        return JobsChoice(1, "one core")
    n = min(cores, len(configs))
    seconds = task_seconds if task_seconds is not None else TaskTimer()
    known: dict[str, float] = {}
    total = longest = 0.0
    for i, config in enumerate(configs):
        key = to_json(config, "a task's config", sort_keys=True)
        if key not in known:
            known[key] = max(0.0, float(seconds(config)))
        total += known[key]
        longest = max(longest, known[key])
        if total - max(total / n, longest) > start_s:
            amount = "about" if i == len(configs) - 1 else "at least"
            return JobsChoice(n, f"{amount} {_seconds(total)} of work for {n} processes")
    return JobsChoice(
        1,
        f"about {_seconds(total)} of work; worker processes would take ~{_seconds(start_s)} to start",
    )


def _seconds(s: float) -> str:
    if s < 1:
        return f"{s:.2f} s"
    if s < 10:
        return f"{s:.1f} s"
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min"


class TaskTimer:
    """Estimates how long ``run_point(config, fold, seed)`` takes, from a short trial here.

    A call loads the task's data (timed; kept for the next configs with the same ``[data]``),
    builds throw-away models from the config and times ``fit`` on one batch of the task's size
    for 1 and for ``1 + k`` epochs, after a warm-up (``k`` from ``TRIAL_STEPS`` up, until the
    ``k`` steps take ``TRIAL_S``): the difference over ``k`` is one step, free of ``fit``'s set-up.
    That step time is scaled to the task's training, ``epochs × batches per epoch`` on the rows a
    task trains on (less the test part, the held-out fold and the validation split). Early
    stopping makes it an upper bound; it is meant to be right within a factor of about two,
    which is all :func:`choose_jobs` needs.

    The trial model has its own generator and the trial runs with BLAS at one thread, as tasks
    do; nothing of a task's seeds or results is touched.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[Any, float]] = {}

    def __call__(self, config: Mapping[str, Any]) -> float:
        cfg = validate(dict(config))
        data, load_s = self._load(cfg)
        loss_key = builder.loss_name(cfg, data.task)
        outputs = builder.n_outputs(cfg, loss_key, data)
        rows = _training_rows(cfg, len(data))
        batch = rows if cfg.training.batch_size is None else min(cfg.training.batch_size, rows)
        trial_rows = min(batch, TRIAL_ROWS)
        X, y = data.X, builder.targets(data.y, loss_key, outputs)

        def fit_seconds(epochs: int) -> float:
            model = builder.build_model(cfg, data.n_features, outputs, loss_key, np.random.default_rng(0))
            loss, optimizer = builder.build_loss(cfg, loss_key), builder.build_optimizer(cfg, model)
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():  # a trial of a few steps need not learn
                    warnings.simplefilter("ignore", TrainingWarning)
                    fit(model, X[:trial_rows], y[:trial_rows], loss=loss, optimizer=optimizer,
                        epochs=epochs, batch_size=trial_rows, seed=0, metrics=None)  # fmt: skip
            except DivergenceError:  # the time until then is still a step's time
                pass
            return time.perf_counter() - start

        threads = OneThread()
        try:
            threads.ensure()
            with blas_threads(cfg.training.threads):
                step = fit_seconds(1)  # also pays for first calls: a bound when a step is slow anyway
                if step < 0.1:  # 1 epoch of one step against 1 + k: the difference is k steps
                    once, k = min(fit_seconds(1), fit_seconds(1)), TRIAL_STEPS
                    more = fit_seconds(1 + k)
                    while more - once < TRIAL_S and k < 256:  # tiny steps: more of them, above the noise
                        k *= 4
                        more = fit_seconds(1 + k)
                    step = max(0.0, more - once) / k
        finally:
            threads.restore()
        per_epoch = math.ceil(rows / batch) * step * (batch / trial_rows)
        return load_s + cfg.training.epochs * per_epoch

    def _load(self, cfg: ExperimentConfig) -> tuple[Any, float]:
        key = to_json(cfg.data.model_dump(mode="json"), "[data]", sort_keys=True)
        if key not in self._data:
            modules = len(sys.modules)
            start = time.perf_counter()
            data, _test = builder.load_data(cfg)
            if len(sys.modules) != modules:  # the time went into imports a task pays once: again,
                start = time.perf_counter()  # uncached (load_data keeps what it read)
                data, _test = builder.read_data(cfg)
            self._data[key] = (data, time.perf_counter() - start)
        return self._data[key]


def _training_rows(cfg: ExperimentConfig, n: int) -> int:
    """The rows one task fits on: the data less the test part, the held-out fold and the
    validation split."""
    share = 1.0 - (cfg.data.test_size or 0.0)
    if cfg.evaluation.cv:
        share *= 1.0 - 1.0 / cfg.evaluation.cv
    share *= 1.0 - (cfg.training.validation_split or 0.0)
    return max(1, round(n * share))


__all__ = ["POOL_START_S", "JobsChoice", "TaskTimer", "choose_jobs"]
