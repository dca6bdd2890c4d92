"""The unit of work of every run: :func:`run_point` trains and evaluates ONE model.

``train`` is one point, ``cv`` is one point times K folds, ``sweep`` is every grid point (times
K folds when ``evaluation.cv`` is set), each times ``experiment.repeats`` seeds. Each task is
``run_point(config, fold, seed)``: a pure, picklable function of plain data, so a process pool or
a Dask cluster can run the same tasks and get the same numbers.

The seed rule (scikit-learn's ``random_state``): the seed of a task depends on the experiment's
seed and the repeat only, never on the sweep point or the fold. Every point that keeps the
architecture, and every fold, starts from the same initial weights and shuffles its mini-batches
the same way, so a comparison measures what the sweep varies, not initialisation luck.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.backend import blas_threads
from nnscratch.base.errors import DivergenceError, TrainingWarning
from nnscratch.data import stratifiable, train_test_split
from nnscratch.evaluation import confusion_matrix
from nnscratch.training.callbacks import Callback
from nnscratch.training.loop import evaluate, fit
from nnscratch.training.loop import predict as ns_predict
from nnscratch.training.loop import predict_proba as ns_predict_proba

from . import builder, sequence_report
from .config import ExperimentConfig, grid_points, point_config, validate


def repeat_seeds(experiment_seed: int, repeats: int) -> list[int]:
    """The seed of each repeat, spawned from the experiment's seed (the same for every point)."""
    children = np.random.SeedSequence(experiment_seed).spawn(repeats)
    return [int(c.generate_state(1, np.uint32)[0]) for c in children]


@dataclass(frozen=True)
class Task:
    """One call of :func:`run_point`: grid point ``point`` (its ``params``), fold ``fold``,
    repeat ``repeat`` (whose seed is ``seed``)."""

    point: int
    params: dict[str, Any]
    fold: int | None
    seed: int
    config: dict[str, Any] = field(repr=False)
    repeat: int = 0


def where(task: Task) -> str:
    """``"repeat 2, fold 3: "`` (1-based), or "" for the only repeat of a plain split."""
    parts = []
    if task.repeat or task.config["experiment"].get("repeats", 1) > 1:
        parts.append(f"repeat {task.repeat + 1}")
    if task.fold is not None:
        parts.append(f"fold {task.fold + 1}")
    return ", ".join(parts) + ": " if parts else ""


def plan(cfg: ExperimentConfig, *, cv: bool, sweep: bool) -> list[Task]:
    """The tasks of a run: grid points (``sweep``) × repeats × folds (``cv``)."""
    points = grid_points(cfg.sweep) if sweep and cfg.sweep else [{}]
    seeds = repeat_seeds(cfg.experiment.seed, cfg.experiment.repeats)
    folds: list[int | None] = list(range(cfg.evaluation.cv or 5)) if cv else [None]
    tasks = []
    for i, params in enumerate(points):
        config = point_config(cfg, params)
        if not cv:
            config["evaluation"]["cv"] = None
        for r, seed in enumerate(seeds):
            tasks += [Task(i, params, fold, seed, config, r) for fold in folds]
    return tasks


def execute(
    tasks: Iterable[Task], on_done: Callable[[Task, dict[str, Any]], None] | None = None
) -> list[dict]:
    """Run the tasks one after the other in this process (the default backend)."""
    results = []
    for task in tasks:
        result = run_point(task.config, task.fold, task.seed)
        if on_done is not None:
            on_done(task, result)
        results.append(result)
    return results


# -- the unit of work --------------------------------------------------------------------------
def run_point(config: dict[str, Any], fold: int | None, seed: int) -> dict[str, Any]:
    """Train and evaluate one model; return plain data (lists, floats, arrays in ``state_dict``).

    Parameters
    ----------
    config : dict
        A resolved experiment config (:meth:`ExperimentConfig.to_dict`), without a grid to sweep.
    fold : int or None
        The cross-validation fold to hold out (0-based), or None for a plain train/test run.
    seed : int
        Seeds the initial weights and the mini-batch order (the data split uses experiment.seed);
        every fold of the same seed starts from the same weights.

    Returns
    -------
    dict with ``history``, ``train`` and ``test`` metrics, ``confusion_matrix`` (on the test part,
    or the training data when there is none), ``predictions`` and the trained ``state_dict``.
    The same ``(config, fold, seed)`` always gives the same result (``seconds`` aside).
    """
    start = time.perf_counter()
    cfg = validate(config)
    data, test = builder.load_data(cfg)
    split = builder.make_split(cfg, data, test, fold)
    loss_key = builder.loss_name(cfg, data.task)
    outputs = builder.n_outputs(cfg, loss_key, data)
    ss = np.random.SeedSequence(seed)  # not the fold: every fold starts from the same weights
    model_rng, fit_rng = (np.random.default_rng(s) for s in ss.spawn(2))
    model = builder.build_model(cfg, data.n_features, outputs, loss_key, model_rng)
    loss = builder.build_loss(cfg, loss_key)
    result: dict[str, Any] = {
        "fold": fold,
        "seed": seed,
        "task": data.task,
        "labels": list(data.target_names),
        "n_features": data.n_features,
        "n_outputs": outputs,
        "loss": repr(loss),
        "model": repr(model),
        "n_parameters": int(model.num_parameters()),
        "diverged": None,
        "warnings": [],
        "train": None,
        "test": None,
        "evaluated_on": "test" if split.X_test is not None else "train",
    }
    with blas_threads(cfg.training.threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrainingWarning)
        try:
            history = _train(cfg, model, loss, loss_key, outputs, split, data.task, fit_rng)
        except _Diverged as stop:  # recorded, so one bad sweep point does not end the sweep
            result.update(
                history=stop.history, epochs_run=len(stop.history["epoch"]), diverged=str(stop.error)
            )
            result["seconds"] = time.perf_counter() - start
            return result
        result.update(history=history, epochs_run=len(history["epoch"]))
        result.update(_evaluate(cfg, model, loss, loss_key, outputs, split, data))
        if data.task == "sequence":  # rows side by side with their targets, and sampled text
            X_shown, y_shown = (
                (split.X_train, split.y_train) if split.X_test is None else (split.X_test, split.y_test)
            )
            result["samples"] = sequence_report.sample_rows(model, X_shown, y_shown, data)
            result["generated"] = sequence_report.generated_text(cfg, model, data, X_shown[0], seed)
    # a run that did not learn is reported as such (report banner, CLI line), not only warned
    result["warnings"] = [str(w.message) for w in caught if issubclass(w.category, TrainingWarning)]
    result["scaler"] = split.scaler.to_dict() if split.scaler is not None else None
    result["state_dict"] = {k: np.array(v, copy=True) for k, v in model.state_dict().items()}
    result["seconds"] = time.perf_counter() - start
    return result


class _Diverged(Exception):
    def __init__(self, error: DivergenceError, history: dict[str, list[float]]) -> None:
        super().__init__(str(error))
        self.error, self.history = error, history


class _Recorder(Callback):
    """Keeps a handle on the fit state, so the history survives a divergence."""

    state: Any = None

    def on_train_begin(self, state: Any) -> None:
        self.state = state


def _train(
    cfg: ExperimentConfig,
    model: Any,
    loss: Any,
    loss_key: str,
    outputs: int,
    split: builder.Split,
    task: str,
    rng: np.random.Generator,
) -> dict[str, list[float]]:
    """Fit ``model`` on the training part (less a validation split); return the history dict."""
    optimizer = builder.build_optimizer(cfg, model)
    X_fit, y_fit, validation = split.X_train, split.y_train, None
    if cfg.training.validation_split and cfg.data.split == "ordered":  # the last training rows
        fit_rows, val_rows = builder.ordered_split(
            np.arange(len(X_fit)), cfg.training.validation_split, "training.validation_split"
        )
        X_fit, X_val, y_fit, y_val = X_fit[fit_rows], X_fit[val_rows], y_fit[fit_rows], y_fit[val_rows]
        validation = (X_val, builder.targets(y_val, loss_key, outputs))
    elif cfg.training.validation_split:
        X_fit, X_val, y_fit, y_val = train_test_split(
            X_fit,
            y_fit,
            test_size=cfg.training.validation_split,
            seed=cfg.experiment.seed,
            stratify=stratifiable(task),
        )
        validation = (X_val, builder.targets(y_val, loss_key, outputs))
    held_out = None
    if split.X_test is not None:  # the test curve beside the training curve, never used to decide
        held_out = {"test": (split.X_test, builder.targets(split.y_test, loss_key, outputs))}
    recorder = _Recorder()
    try:
        history = fit(
            model,
            X_fit,
            builder.targets(y_fit, loss_key, outputs),
            loss=loss,
            optimizer=optimizer,
            epochs=cfg.training.epochs,
            batch_size=cfg.training.batch_size,
            shuffle=cfg.training.shuffle,
            validation_data=validation,
            held_out=held_out,
            metrics=_epoch_metrics(cfg, task),
            average=cfg.evaluation.average,
            threshold=cfg.evaluation.threshold,
            callbacks=[*builder.build_callbacks(cfg), recorder],
            scheduler=builder.build_scheduler(cfg, optimizer),
            clip_grad_norm=cfg.training.clip_grad_norm,
            seed=rng,
            progress=cfg.training.progress,
        )
    except DivergenceError as exc:
        raise _Diverged(exc, recorder.state.history.to_dict()) from None
    return history.to_dict()


def _epoch_metrics(cfg: ExperimentConfig, task: str) -> tuple[str, ...] | None:
    """The metrics ``fit`` records per epoch: accuracy and exact match (a comparison each) when
    asked for; precision/recall/F1 (scikit-learn, ~1 ms a call, 4x the run time of a small
    network) are measured on the final model only."""
    if task == "regression":
        return None
    return tuple(m for m in cfg.evaluation.metrics if m in ("accuracy", "exact_match")) or None


def _evaluate(
    cfg: ExperimentConfig,
    model: Any,
    loss: Any,
    loss_key: str,
    outputs: int,
    split: builder.Split,
    data: Any,
) -> dict[str, Any]:
    """Metrics on the training part and the test part; predictions and confusion matrix on the
    test part (on the training data when there is no test part)."""
    out: dict[str, Any] = {}
    parts = [("train", split.X_train, split.y_train)]
    if split.X_test is not None:
        parts.append(("test", split.X_test, split.y_test))
    for name, X, y in parts:
        y_pred, score = predictions(model, X, cfg, loss_key, data.task)
        out[name] = {
            "n": len(y),
            **measure(cfg, model, loss, X, builder.targets(y, loss_key, outputs), data.task),
        }
        if data.task == "regression":
            out[name] = {"n": len(y), **regression_scores(y, y_pred), "loss": out[name]["loss"]}
        if loss.reduction == "sum":  # parts of different sizes compare per sample
            out[name]["loss_per_sample"] = out[name]["loss"] / len(y)
    index = split.train_index if split.X_test is None else split.test_index
    if index is None:  # a separate test file: rows are numbered in that file
        index = np.arange(len(y))
    out["predictions"] = {
        "index": [int(i) for i in index],
        "y_true": y.tolist(),
        "y_pred": y_pred.tolist(),
        "score": None if score is None else np.round(score, 12).tolist(),
    }
    if data.task != "regression":  # for sequences: over every position
        labels = list(range(len(data.target_names)))
        out["confusion_matrix"] = confusion_matrix(y.reshape(-1), y_pred.reshape(-1), labels=labels).tolist()
    return out


def predictions(
    model: Any, X: np.ndarray, cfg: ExperimentConfig, loss: str, task: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted labels (or values) and, for binary tasks, the score compared with the threshold.

    A network trained with mse/l2 on 0/1 targets outputs the score itself (no sigmoid is applied);
    one trained with a classification loss gives probabilities through ``predict_proba``.
    """
    threshold = cfg.evaluation.threshold
    if task == "regression":
        out = model(X)
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out, None
    if loss in ("mse", "l2"):
        out = model(X)
        if out.shape[1] == 1:
            return (out[:, 0] > threshold).astype(np.int64), out[:, 0]
        return out.argmax(axis=1), None
    if task == "binary" and model(X[:1]).shape[1] == 1:
        proba = ns_predict_proba(model, X)
        return (proba > threshold).astype(np.int64), proba
    return ns_predict(model, X), None


def measure(
    cfg: ExperimentConfig, model: Any, loss: Any, X: np.ndarray, target: np.ndarray, task: str
) -> dict[str, float]:
    """The ``[evaluation] metrics`` and the loss, through ``ns.evaluate`` (the one evaluation
    path: the same numbers as ``fit``'s validation, ``ns.evaluate`` and ``loss(model(X), y)``)."""
    metrics = cfg.evaluation.metrics if task != "regression" else None
    values = evaluate(
        model,
        X,
        target,
        loss,
        metrics=metrics,
        average=cfg.evaluation.average,
        threshold=cfg.evaluation.threshold,
    )
    return {**{k: values[k] for k in cfg.evaluation.metrics if k in values}, "loss": values["loss"]}


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """mse, mae and r2 of a regression (scikit-learn's)."""
    from sklearn import metrics as skm

    return {
        "mse": float(skm.mean_squared_error(y_true, y_pred)),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-fold metrics, their mean and standard deviation, and the summed confusion matrix."""
    part = "test" if results[0]["test"] is not None else "train"
    rows = [{"fold": r["fold"], **r[part]} for r in results]
    keys = [k for k in rows[0] if k not in ("fold", "n")]
    values = {k: np.array([row[k] for row in rows], dtype=np.float64) for k in keys}
    summary: dict[str, Any] = {
        "evaluated_on": part,
        "folds": rows,
        "mean": {k: float(v.mean()) for k, v in values.items()},
        "std": {k: float(v.std()) for k, v in values.items()},
    }
    if "confusion_matrix" in results[0]:
        summary["confusion_matrix"] = np.sum([r["confusion_matrix"] for r in results], axis=0).tolist()
    return summary


__all__ = [
    "Task",
    "execute",
    "measure",
    "plan",
    "predictions",
    "regression_scores",
    "repeat_seeds",
    "run_point",
    "summarize",
    "where",
]
