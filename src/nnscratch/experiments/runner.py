"""Run an experiment and write its self-contained folder.

``train`` (one model), ``cv`` (one model per fold) and ``sweep`` (every grid point, each a
``train`` or ``cv`` run of its own in ``points/``) all go through :func:`run`. A run folder holds::

    config.toml, config.json   the resolved config (every default filled in)
    run.json                   what ran: kind, dataset, model, timings (not compared between runs)
    metrics.json               the numbers (deterministic: same file + seed -> same bytes)
    history.csv                per-epoch loss and metrics (a ``fold`` column for cv)
    predictions.csv            index, [fold,] y_true, y_pred, score on the evaluated data
    model.npz or weights.npz   the trained model (models/fold_K.npz for cv)
    *.png                      learning curves, decision boundary, confusion matrix, network
    report.html, report.md     what was trained, on what, the numbers and the pictures
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import ConfigError, DivergenceError
from . import _toml, figures
from .config import ExperimentConfig
from .store import TASKS_DIR
from .sweep import Task, execute, plan, summarize

MODES = ("train", "cv", "sweep")
# executor(tasks, on_done) -> results in task order; calls on_done(task, result) as each finishes
Executor = Callable[[list[Task], Callable[[Task, dict[str, Any]], None]], list[dict[str, Any]]]


def default_out(cfg: ExperimentConfig, mode: str, root: str | Path = "runs") -> Path:
    """``runs/<name>`` for train, ``runs/<name>-cv`` and ``runs/<name>-sweep`` otherwise."""
    return Path(root) / (cfg.experiment.name + ("" if mode == "train" else f"-{mode}"))


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
    dump_json(out / "run.json", {"status": "incomplete"})
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
        where = f" fold {task.fold + 1}" if task.fold is not None else ""
        params = ", ".join(f"{k}={v}" for k, v in task.params.items())
        label = (params + where).strip() or "trained"
        say(f"  [{len(done)}/{len(tasks)}] {label}: {_headline(result)}")

    results = executor(tasks, progress) if executor is not None else execute(tasks, progress)
    seconds = time.perf_counter() - start
    if mode != "sweep":
        for result in results:
            if result["diverged"]:
                where = f"fold {result['fold'] + 1}: " if result["fold"] is not None else ""
                raise DivergenceError(where + result["diverged"])
    if mode == "sweep":
        from .sweep_folder import write_sweep

        write_sweep(folder, cfg, tasks, results, use_cv, seconds, draw=figures)
    else:
        kind = "cv" if use_cv else "train"
        write_single(folder, cfg, {**cfg.to_dict(), "sweep": {}}, results, kind, seconds, draw=figures)
    from ..report import write_report

    write_report(folder)
    return folder


def _headline(result: dict[str, Any]) -> str:
    if result["diverged"]:
        return f"diverged after {result['epochs_run']} epochs"
    part = result["test"] or result["train"]
    key = "accuracy" if "accuracy" in part else next(k for k in part if k != "n")
    return f"{result['evaluated_on']} {key} {part[key]:.4f}"


# -- writing one train / cv run ----------------------------------------------------------------
def write_config(folder: Path, config: dict[str, Any]) -> None:
    (folder / "config.toml").write_text(_toml.dumps(config), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_single(
    folder: Path,
    cfg: ExperimentConfig,
    config: dict[str, Any],
    results: list[dict[str, Any]],
    kind: str,
    seconds: float,
    params: dict[str, Any] | None = None,
    *,
    draw: bool = True,
) -> dict[str, Any]:
    """Write a train (one result) or cv (one result per fold) run; return its metrics."""
    from .config import validate

    point_cfg = validate(config)
    write_config(folder, config)
    first = results[0]
    metrics: dict[str, Any] = {
        "kind": kind,
        "experiment": point_cfg.experiment.name,
        "params": params or {},
        "seed": first["seed"],
        "task": first["task"],
        "labels": first["labels"],
    }
    if kind == "train":
        metrics.update(
            train=first["train"],
            test=first["test"],
            evaluated_on=first["evaluated_on"],
            epochs_run=first["epochs_run"],
            final_loss=first["history"]["loss"][-1],
        )
        if "confusion_matrix" in first:
            metrics["confusion_matrix"] = first["confusion_matrix"]
    else:
        metrics.update(summarize(results))
        metrics["folds_count"] = len(results)
        metrics["n_samples"] = sum(len(r["predictions"]["y_true"]) for r in results)
    dump_json(folder / "metrics.json", metrics)
    write_history(folder / "history.csv", results, kind)
    _write_predictions(folder / "predictions.csv", results, kind)
    models = _save_models(folder, point_cfg, results, kind)
    if draw:
        figures.run_figures(folder, point_cfg, results, metrics, models, point=bool(params))
    data_info = dataset_info(point_cfg)
    dump_json(
        folder / "run.json",
        {
            "kind": kind,
            "name": point_cfg.experiment.name,
            "description": point_cfg.experiment.description,
            "params": params or {},
            "dataset": data_info,
            "model": first["model"],
            "n_parameters": first["n_parameters"],
            "loss": first["loss"],
            "optimizer": point_cfg.optimizer.model_dump(exclude_none=True),
            "training": point_cfg.training.model_dump(exclude_none=True),
            "seconds": round(seconds, 3),
            "nnscratch": __version__,
        },
    )
    return metrics


def dataset_info(cfg: ExperimentConfig) -> dict[str, Any]:
    from .builder import load_data

    data, test = load_data(cfg)
    info = data.summary()
    info.pop("feature_names", None) if info.get("n_features", 0) > 12 else None
    if test is not None:
        info["test_samples"] = len(test)
    info["test_size"] = cfg.data.test_size
    info["split"] = cfg.data.split
    info["standardize"] = cfg.data.standardize
    return info


def write_history(path: Path, results: list[dict[str, Any]], kind: str) -> None:
    keys: list[str] = []
    for r in results:
        keys += [k for k in r["history"] if k != "epoch" and k not in keys]
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow((["fold"] if kind == "cv" else []) + ["epoch", *keys])
        for r in results:
            h = r["history"]
            for i, epoch in enumerate(h["epoch"]):
                row = [repr(h[k][i]) if k in h else "" for k in keys]
                writer.writerow(([r["fold"] + 1] if kind == "cv" else []) + [epoch, *row])


def _write_predictions(path: Path, results: list[dict[str, Any]], kind: str) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow((["fold"] if kind == "cv" else []) + ["index", "y_true", "y_pred", "score"])
        for r in results:
            p = r["predictions"]
            scores = p["score"] or [""] * len(p["index"])
            for row in zip(p["index"], p["y_true"], p["y_pred"], scores, strict=True):
                writer.writerow(([r["fold"] + 1] if kind == "cv" else []) + [*row])


def rebuild_model(cfg: ExperimentConfig, result: dict[str, Any]) -> Any:
    """The trained network of a result: rebuilt from the config, then its weights loaded."""
    from .builder import build_model, loss_name

    model = build_model(
        cfg,
        result["n_features"],
        result["n_outputs"],
        loss_name(cfg, result["task"]),
        np.random.default_rng(0),
    )
    model.load_state_dict(result["state_dict"])
    return model


def _save_models(folder: Path, cfg: ExperimentConfig, results: list[dict[str, Any]], kind: str) -> list[Any]:
    """Save each trained model with ``nnscratch.io.save`` when available, else its weights."""
    try:
        from ..io import save as io_save
    except ImportError:
        io_save = None
    models = []
    for r in results:
        model = rebuild_model(cfg, r)
        models.append(model)
        name = "model" if io_save is not None else "weights"
        path = folder / (f"{name}.npz" if kind == "train" else f"{name}_folds/fold_{r['fold'] + 1}.npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        if io_save is not None:
            meta = {
                "experiment": cfg.experiment.name,
                "seed": r["seed"],
                "fold": r["fold"],
                "scaler": r["scaler"],
            }
            io_save(model, path, history=r["history"], meta=meta)
        else:
            np.savez(path, **r["state_dict"])
    return models


__all__ = ["MODES", "default_out", "prepare_out", "rebuild_model", "run"]
