"""Evaluation on scikit-learn: metrics, confusion matrices, train/test and K-fold cross-validation.

Metrics and splits are scikit-learn's (``precision_recall_fscore_support``, ``confusion_matrix``,
``KFold`` / ``StratifiedKFold``); this module only wires them to nnscratch models, with seeds:

- the folds come from ``StratifiedKFold(shuffle=True, random_state=r)`` (or ``KFold``) with ``r``
  drawn from ``SeedSequence(seed)``;
- every fold builds its model with ``build_model(numpy.random.default_rng(SeedSequence(seed)))``
  and shuffles its mini-batches with a generator spawned from that sequence: all folds start
  from the same initial weights (scikit-learn's ``random_state`` semantics), so the spread over
  the folds is the data's, not initialisation luck; the same ``seed`` gives the same numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.errors import DataError, DTypeError, HyperparameterError, LabelError, ShapeError
from nnscratch.base.validation import as_array, check_positive_int, describe
from nnscratch.engine import names
from nnscratch.engine.losses import Loss
from nnscratch.engine.metrics import (
    AVERAGES,
    _plain,
    classification_metrics,
    confusion_matrix,
    precision_recall_f1,
)
from nnscratch.engine.module import Module
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.training.callbacks import tqdm_class
from nnscratch.training.labels import labeler_for, n_outputs
from nnscratch.training.loop import History, evaluate_prepared, fit, prepare_data

_METRIC_KEYS = ("accuracy", "precision", "recall", "f1")

Builder = Callable[[np.random.Generator], Module]


# -- training one split -------------------------------------------------------------------------
def _seed_pair(seed: Any) -> tuple[np.random.Generator, np.random.Generator]:
    """(model generator, shuffling generator) from an int seed, a SeedSequence or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed, seed.spawn(1)[0]
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed = np.random.SeedSequence(int(seed))
    if not isinstance(seed, np.random.SeedSequence):
        raise DTypeError(f"seed must be an int, a SeedSequence or a Generator. Received: seed={seed!r}")
    model_rng = np.random.default_rng(seed)
    return model_rng, np.random.default_rng(seed.spawn(1)[0])


def _build_model(model_or_builder: Module | Builder, rng: np.random.Generator) -> Module:
    if isinstance(model_or_builder, Module):
        return model_or_builder
    if not callable(model_or_builder):
        raise DTypeError(
            f"model must be a Module or a function build_model(rng) -> Module. Received: {model_or_builder!r}"
        )
    model = model_or_builder(rng)
    if not isinstance(model, Module):
        raise DTypeError(f"build_model(rng) must return an nnscratch Module. Received: {model!r}")
    return model


def make_optimizer(
    model: Module,
    optimizer: str | Callable[[list[Any]], Optimizer] = "sgd",
    lr: float = 0.1,
    optimizer_kwargs: dict[str, Any] | None = None,
) -> Optimizer:
    """A fresh optimizer for ``model``: a name (``"sgd"``, ``"momentum"`` — SGD with momentum 0.9
    unless given —, ``"adam"``...: :func:`nnscratch.engine.names.make_optimizer`) or a factory
    ``fn(params)``."""
    if isinstance(optimizer, Optimizer):
        raise DTypeError(
            "pass the optimizer by name (optimizer='sgd', lr=..., optimizer_kwargs={...}) or as a "
            "factory fn(params): each fold needs a fresh one. Received an Optimizer instance."
        )
    if not isinstance(optimizer, str):
        if not callable(optimizer):
            raise DTypeError(f"optimizer must be a name or a factory fn(params). Received: {optimizer!r}")
        return optimizer(model.parameters())
    return names.make_optimizer(optimizer, model.parameters(), lr=lr, **dict(optimizer_kwargs or {}))


_RESERVED_FIT_KEYS = ("loss", "optimizer", "lr", "epochs", "batch_size", "seed", "progress")


def evaluate_split(
    model_or_builder: Module | Builder,
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    loss: Loss,
    optimizer: str | Callable[[list[Any]], Optimizer] = "sgd",
    lr: float = 0.1,
    optimizer_kwargs: dict[str, Any] | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int | np.random.SeedSequence | np.random.Generator = 0,
    average: str = "auto",
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train on ``(X_train, y_train)``, predict ``X_test``, and score the predictions.

    ``model_or_builder`` is a Module (trained in place) or ``build_model(rng) -> Module`` (called
    with a generator derived from ``seed``). Returns a dict with

    - ``accuracy``, ``precision``, ``recall``, ``f1`` on the test set and ``train_accuracy``...
      on the training set, computed by :func:`nnscratch.evaluate` (the one evaluation path);
    - ``test_loss`` and ``train_loss``: the loss of the final model on each part;
      ``last_epoch_loss``: the training loss averaged over the last epoch, before its updates
      (what ``history["loss"][-1]`` holds); ``n_train``, ``n_test``;
    - ``labels`` (the class list), ``confusion_matrix`` (ndarray, rows = true class),
      ``y_pred`` (test predictions), ``history`` (:class:`History`) and ``model``.
    """
    if not isinstance(loss, Loss):
        raise DTypeError(f"loss must be an nnscratch Loss such as ns.BCELoss(). Received: {loss!r}")
    extra = dict(fit_kwargs or {})
    clash = sorted(set(extra) & set(_RESERVED_FIT_KEYS))
    if clash:
        raise HyperparameterError(f"fit_kwargs must not repeat the arguments {clash}: pass them directly.")
    model_rng, fit_rng = _seed_pair(seed)
    model = _build_model(model_or_builder, model_rng)
    loss = copy.deepcopy(loss)  # losses cache their last batch: one per run keeps runs independent
    opt = make_optimizer(model, optimizer, lr, optimizer_kwargs)
    history = fit(
        model,
        X_train,
        y_train,
        loss=loss,
        optimizer=opt,
        epochs=epochs,
        batch_size=batch_size,
        seed=fit_rng,
        progress=progress,
        **extra,
    )
    Xtr, ytr = prepare_data(model, X_train, y_train, loss)
    Xte, yte = prepare_data(model, X_test, y_test, loss, name="X_test")
    labeler = labeler_for(loss, ytr, n_outputs(model, Xtr))
    if labeler is None:
        raise LabelError(
            "classification metrics need class targets: use BCELoss/BCEWithLogitsLoss/CrossEntropyLoss, "
            f"or 0/1 targets with a squared-error loss. Received loss {loss!r} with non-class targets."
        )
    # the numbers come from the one evaluation path (ns.evaluate); the labels only for the matrix
    result: dict[str, Any] = evaluate_prepared(model, Xte, yte, loss, metrics=_METRIC_KEYS, average=average)
    result["test_loss"] = result.pop("loss")
    result.update(evaluate_prepared(model, Xtr, ytr, loss, "train_", metrics=_METRIC_KEYS, average=average))
    model.eval()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        y_pred = labeler.pred_labels(model.forward(Xte)).reshape(-1)
    y_true = labeler.true_labels(yte).reshape(-1)
    labels = labeler.labels
    result.update(
        last_epoch_loss=history.last("loss") if len(history) else float("nan"),
        n_train=len(Xtr),
        n_test=len(Xte),
        labels=list(labels),
        confusion_matrix=confusion_matrix(y_true, y_pred, labels=labels),
        y_pred=y_pred,
        history=history,
        model=model,
    )
    return result


# -- cross-validation --------------------------------------------------------------------------
def fold_seeds(seed: int, folds: int) -> list[np.random.SeedSequence]:
    """One fresh ``SeedSequence(seed)`` per fold: every fold builds and trains its model from the
    same seed, so all folds start from the same weights (fresh: spawning changes a sequence)."""
    return [np.random.SeedSequence(seed) for _ in range(check_positive_int(folds, "folds"))]


def cv_splits(
    y: Any, *, folds: int = 5, stratified: bool = True, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(train_index, test_index)`` pairs of a shuffled, seeded (Stratified)KFold."""
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = check_positive_int(folds, "folds")
    if folds < 2:
        raise HyperparameterError(f"folds must be >= 2. Received: folds={folds}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise HyperparameterError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    labels = np.asarray(y)
    if labels.ndim == 2:  # one-hot rows: stratify on the class index
        labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0]
    n = len(labels)
    if folds > n:
        raise DataError(f"folds={folds} is more than the number of samples ({n}).")
    random_state = int(np.random.SeedSequence(seed).generate_state(1)[0])
    if stratified:
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < folds:
            rare = _plain(classes[counts.argmin()])
            raise DataError(
                f"stratified {folds}-fold CV needs at least {folds} samples of every class; class "
                f"{rare!r} has {counts.min()}. Use fewer folds or stratified=False."
            )
        splitter: Any = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros(n), labels))
    splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(n)))


@dataclass
class CVResult:
    """What :func:`cross_validate` found.

    Attributes
    ----------
    confusion_matrix : ndarray (n_classes, n_classes)
        Summed over the folds (rows = true class); it sums to the number of samples.
    labels : list
        The classes, in the matrix's order.
    folds : list of dict
        Per fold: ``fold``, ``n_train``, ``n_test``, test ``accuracy``/``precision``/``recall``/``f1``,
        the same on the training part as ``train_*``, ``train_loss`` / ``test_loss`` (final model)
        and ``last_epoch_loss`` (averaged over the last epoch, before its updates).
    mean, std : dict
        Mean and (population) standard deviation of each per-fold number over the folds.
    histories : list of History
    y_pred : ndarray (n_samples,)
        Out-of-fold predictions: each sample predicted by the model that did not train on it.
    """

    confusion_matrix: np.ndarray
    labels: list[Any]
    folds: list[dict[str, float]]
    mean: dict[str, float]
    std: dict[str, float]
    histories: list[History] = field(default_factory=list)
    y_pred: np.ndarray | None = None
    seed: int = 0
    stratified: bool = True

    @property
    def n_folds(self) -> int:
        return len(self.folds)

    def to_dict(self, *, histories: bool = False) -> dict[str, Any]:
        """JSON-safe plain types (optionally with every fold's history)."""
        out: dict[str, Any] = {
            "n_folds": self.n_folds,
            "seed": int(self.seed),
            "stratified": bool(self.stratified),
            "labels": [_plain(v) for v in self.labels],
            "confusion_matrix": np.asarray(self.confusion_matrix).astype(int).tolist(),
            "folds": [{k: _plain(v) for k, v in f.items()} for f in self.folds],
            "mean": {k: float(v) for k, v in self.mean.items()},
            "std": {k: float(v) for k, v in self.std.items()},
        }
        if self.y_pred is not None:
            out["y_pred"] = np.asarray(self.y_pred).tolist()
        if histories:
            out["histories"] = [h.to_dict() for h in self.histories]
        return out

    def summary(self) -> str:
        """A plain-text table of the per-fold and mean ± std metrics."""
        keys = [k for k in _METRIC_KEYS if k in self.mean]
        lines = ["fold  " + "  ".join(f"{k:>9}" for k in keys)]
        for f in self.folds:
            lines.append(f"{int(f['fold']):>4}  " + "  ".join(f"{f[k]:>9.4f}" for k in keys))
        lines.append("mean  " + "  ".join(f"{self.mean[k]:>9.4f}" for k in keys))
        lines.append(" std  " + "  ".join(f"{self.std[k]:>9.4f}" for k in keys))
        return "\n".join(lines)


def cross_validate(
    build_model: Builder,
    X: Any,
    y: Any,
    *,
    loss: Loss,
    optimizer: str | Callable[[list[Any]], Optimizer] = "sgd",
    lr: float = 0.1,
    optimizer_kwargs: dict[str, Any] | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    folds: int = 5,
    stratified: bool = True,
    seed: int = 0,
    average: str = "auto",
    fit_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
) -> CVResult:
    """K-fold (by default stratified) cross-validation of a freshly built model per fold.

    Parameters
    ----------
    build_model : fn(rng: numpy.random.Generator) -> Module
        Called once per fold with that fold's generator (see the module docstring).
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,)
        Class labels (or one-hot rows for a squared-error loss).
    loss, optimizer, lr, optimizer_kwargs, epochs, batch_size, fit_kwargs
        How each fold trains (see :func:`evaluate_split` and :func:`nnscratch.fit`).
    folds, stratified, seed
        The split: ``folds`` shuffled folds, stratified by class, from ``seed``.
    average : str
        Averaging of precision/recall/F1 (see :func:`classification_metrics`).
    progress : bool
        A progress bar over the folds.
    """
    if isinstance(build_model, Module) or not callable(build_model):
        raise DTypeError(
            "build_model must be a function build_model(rng) -> Module (a fresh model per fold). "
            f"Received: {build_model!r}"
        )
    X_arr = as_array(X, "X")
    y_arr = as_array(y, "y")
    if X_arr.ndim != 2 or len(X_arr) != len(y_arr):
        raise ShapeError(
            f"X must be 2-D (n_samples, n_features) with one target per row. "
            f"Received: X {describe(X_arr)}, y {describe(y_arr)}"
        )
    splits = cv_splits(y_arr, folds=folds, stratified=stratified, seed=seed)
    seeds = fold_seeds(seed, folds)
    runs = range(len(splits))
    if progress:
        runs = tqdm_class()(runs, desc="cross-validation", unit="fold")
    fold_rows: list[dict[str, float]] = []
    histories: list[History] = []
    total: np.ndarray | None = None
    labels: list[Any] = []
    y_pred = np.zeros(len(X_arr), dtype=np.int64)
    for i in runs:
        train_idx, test_idx = splits[i]
        res = evaluate_split(
            build_model,
            X_arr[train_idx],
            y_arr[train_idx],
            X_arr[test_idx],
            y_arr[test_idx],
            loss=loss,
            optimizer=optimizer,
            lr=lr,
            optimizer_kwargs=optimizer_kwargs,
            epochs=epochs,
            batch_size=batch_size,
            seed=seeds[i],
            average=average,
            fit_kwargs=fit_kwargs,
        )
        labels = res["labels"]
        total = res["confusion_matrix"] if total is None else total + res["confusion_matrix"]
        if len(res["y_pred"]) == len(test_idx):
            y_pred[test_idx] = res["y_pred"]
        histories.append(res["history"])
        row = {"fold": i, "n_train": res["n_train"], "n_test": res["n_test"]}
        row.update({k: res[k] for k in _METRIC_KEYS})
        row.update({f"train_{k}": res[f"train_{k}"] for k in _METRIC_KEYS})
        row.update(
            train_loss=res["train_loss"], test_loss=res["test_loss"], last_epoch_loss=res["last_epoch_loss"]
        )
        fold_rows.append(row)
    numeric = [k for k in fold_rows[0] if k not in ("fold", "n_train", "n_test")]
    mean = {k: float(np.mean([r[k] for r in fold_rows])) for k in numeric}
    std = {k: float(np.std([r[k] for r in fold_rows])) for k in numeric}
    assert total is not None
    return CVResult(total, labels, fold_rows, mean, std, histories, y_pred, int(seed), bool(stratified))


__all__ = [
    "AVERAGES",
    "CVResult",
    "classification_metrics",
    "confusion_matrix",
    "cross_validate",
    "cv_splits",
    "evaluate_split",
    "fold_seeds",
    "make_optimizer",
    "precision_recall_f1",
]
