"""Run an experiment and write its self-contained folder.

``train`` (one model), ``cv`` (one model per fold) and ``sweep`` (every grid point, each a
``train`` or ``cv`` run of its own in ``points/``) all go through :func:`run`. A run folder holds::

    config.toml, config.json   the resolved config (every default filled in)
    run.json                   what ran: kind, dataset, model, timings (not compared between runs)
    metrics.json               the numbers (deterministic: same file + seed -> same bytes)
    history.csv                per-epoch loss and metrics (a ``fold`` column for cv)
    predictions.csv            index, [fold,] y_true, y_pred, score on the evaluated data
    model.npz                  the trained model (model_folds/fold_K.npz for cv)
    *.png                      learning curves, decision boundary, confusion matrix, network
    report.html, report.md     what was trained, on what, the numbers and the pictures

``run.json`` is written first as ``{"status": "incomplete"}`` and replaced by the record of the
run only after every other file is whole, so a folder is finished or visibly not (the report and
index refuse it; the same command run again replaces it, keeping the sweep's finished tasks).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nnscratch.base.errors import ConfigError, DivergenceError

from .config import ExperimentConfig
from .run_folder import mark_incomplete, write_single
from .store import TASKS_DIR
from .sweep import Task, execute, plan, where
from .sweep_folder import write_sweep

MODES = ("train", "cv", "sweep")
# executor(tasks, on_done) -> results in task order; calls on_done(task, result) as each finishes
Executor = Callable[[list[Task], Callable[[Task, dict[str, Any]], None]], list[dict[str, Any]]]


def default_out(cfg: ExperimentConfig, mode: str, root: str | Path = "runs") -> Path:
    """``runs/<name>`` for train, ``runs/<name>-cv`` and ``runs/<name>-sweep`` otherwise; always a
    folder directly inside ``root`` (the schema refuses names with separators or ``..``; this
    checks again for configs built without it)."""
    folder = cfg.experiment.name + ("" if mode == "train" else f"-{mode}")
    if Path(folder).name != folder or folder in (".", "..") or "\0" in folder or "\\" in folder:
        raise ConfigError(
            f"experiment.name: expected a folder name inside {root}/, without path separators or '..'. "
            f"Received: name = {cfg.experiment.name!r}"
        )
    return Path(root) / folder


def prepare_out(out: Path) -> Path:
    """Create ``out``; a previous run folder there (it has a run.json) is replaced, any other
    non-empty folder is refused so nothing of the user's is deleted. The previous run's
    ``tasks/`` (finished tasks, see :mod:`.store`) is kept, so the same command resumes."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()):
            if not (out / "run.json").is_file():
                raise ConfigError(
                    f"--out {out}: the folder is not empty and is not a previous run folder; choose another"
                )
            for child in out.iterdir():  # tasks/ holds finished tasks: a rerun resumes from them
                if child.is_dir() and child.name != TASKS_DIR:
                    shutil.rmtree(child)
                elif not child.is_dir():
                    child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    # Mark the folder as a run folder now, so a failed run can be replaced by the next one.
    mark_incomplete(out)
    return out


def run(
    cfg: ExperimentConfig,
    mode: str,
    out: str | Path | None = None,
    *,
    executor: Executor | None = None,
    log: Callable[[str], None] | None = None,
    figures: bool = True,
) -> Path:
    """Run ``cfg`` as ``mode`` ("train", "cv" or "sweep") into ``out``; return the folder.

    ``figures=False`` skips the PNGs (faster for big sweeps); the numbers and reports are the same.

    ``executor`` maps a list of tasks to their results (default: one after the other here); a
    parallel backend passes its own (``nnscratch.experiments.parallel.sweep_executor``). It is
    called as ``executor(tasks, on_done)`` and calls ``on_done(task, result)`` per finished task.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}. Received: {mode!r}")
    if mode == "sweep" and not cfg.sweep:
        raise ConfigError(
            f"{cfg.experiment.name}: nothing to sweep: add a [sweep] table, "
            'e.g. "optimizer.lr" = [0.01, 0.1, 1.0]'
        )
    say = log or (lambda _msg: None)
    folder = prepare_out(Path(out) if out is not None else default_out(cfg, mode))
    use_cv = mode == "cv" or (mode == "sweep" and cfg.evaluation.cv is not None)
    tasks = plan(cfg, cv=use_cv, sweep=mode == "sweep")
    start = time.perf_counter()
    done: list[int] = []

    def progress(task: Task, result: dict[str, Any]) -> None:
        done.append(1)
        params = ", ".join(f"{k}={v}" for k, v in task.params.items())
        label = " ".join(part for part in (params, where(task).rstrip(": ")) if part) or "trained"
        say(f"  [{len(done)}/{len(tasks)}] {label}: {_headline(result)}")

    results = executor(tasks, progress) if executor is not None else execute(tasks, progress)
    seconds = time.perf_counter() - start
    if mode != "sweep":
        for task, result in zip(tasks, results, strict=True):
            if result["diverged"]:
                raise DivergenceError(where(task) + result["diverged"])
    if mode == "sweep":
        write_sweep(folder, cfg, tasks, results, use_cv, seconds, draw=figures)
    else:
        kind = "cv" if use_cv else "train"
        first = [r for t, r in zip(tasks, results, strict=True) if t.repeat == 0]
        every = [(t.repeat, r) for t, r in zip(tasks, results, strict=True)]
        config = {**cfg.to_dict(), "sweep": {}}
        write_single(folder, cfg, config, first, kind, seconds, draw=figures, repeats=every)
    return folder


def _headline(result: dict[str, Any]) -> str:
    if result["diverged"]:
        return f"diverged after {result['epochs_run']} epochs"
    part = result["test"] or result["train"]
    key = "accuracy" if "accuracy" in part else next(k for k in part if k != "n")
    warned = f" (warning: {result['warnings'][0].split(':')[0]})" if result.get("warnings") else ""
    exact = (
        f"exact_match {part['exact_match']:.4f}, " if "exact_match" in part and key != "exact_match" else ""
    )
    return f"{result['evaluated_on']} {exact}{key} {part[key]:.4f}{warned}"


__all__ = ["MODES", "default_out", "prepare_out", "run"]
