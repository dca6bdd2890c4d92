"""Training: the ``fit`` loop, per-epoch ``History``, and ``predict`` / ``predict_proba``.

The loop validates the data once (shapes, finiteness, labels against the output), then runs
unchecked ``forward``/``backward`` calls per batch — the checks are not repeated per step.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._labels import Labeler, check_metrics, epoch_metrics, labeler_for, n_outputs
from ._validation import as_array, check_positive_int, describe
from .backend import as_generator
from .callbacks import Callback, FitState, LRSchedulerCallback, ProgressBar, as_callback
from .errors import DataError, DivergenceError, DTypeError, ShapeError
from .layers.activations import Sigmoid, Softmax, sigmoid, softmax
from .layers.container import Sequential
from .losses import BCELoss, CrossEntropyLoss, Loss
from .module import Module
from .optim import OPTIMIZERS, LRScheduler, Optimizer


class History:
    """Per-epoch records of a training run: ``history["loss"]``, ``history["val_accuracy"]``...

    ``epoch`` lists the epoch numbers (1-based); every other key maps to a list of the same length.
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, **values: float) -> None:
        self.epoch.append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def last(self, key: str) -> float:
        return self.history[key][-1]

    def to_dict(self) -> dict[str, list[float]]:
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, list[float]]) -> History:
        h = cls()
        h.epoch = [int(e) for e in data.get("epoch", [])]
        h.history = {k: [float(x) for x in v] for k, v in data.items() if k != "epoch"}
        return h

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_csv(self, path: str | Path) -> None:
        keys = list(self.history)
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["epoch", *keys])
            for i, epoch in enumerate(self.epoch):
                writer.writerow([epoch, *(repr(self.history[k][i]) for k in keys)])

    @classmethod
    def from_json(cls, source: str | Path) -> History:
        """Read what :meth:`to_json` wrote: a path to a JSON file, or the JSON text itself."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text()
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_csv(cls, path: str | Path) -> History:
        """Read what :meth:`to_csv` wrote."""
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows or rows[0][:1] != ["epoch"]:
            raise DataError(f"{path}: not a History CSV (its first column must be 'epoch').")
        keys = rows[0]
        columns: dict[str, list[float]] = {k: [] for k in keys}
        for row in rows[1:]:
            for k, v in zip(keys, row, strict=True):
                columns[k].append(float(v))
        return cls.from_dict(columns)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}, {last})"


def _resolve_optimizer(model: Module, optimizer: Optimizer | str | None, lr: float | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    name = "sgd" if optimizer is None else str(optimizer).lower()
    if name not in OPTIMIZERS:
        raise DTypeError(
            f"optimizer must be an Optimizer or one of {sorted(OPTIMIZERS)}. Received: {optimizer!r}"
        )
    kwargs: dict[str, Any] = {} if lr is None else {"lr": lr}
    if name == "momentum":
        kwargs["momentum"] = 0.9
    return OPTIMIZERS[name](model.parameters(), **kwargs)


def prepare_data(model: Module, X: Any, y: Any, loss: Loss, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``X`` and ``y`` once for training or evaluation with ``loss``."""
    X_arr = model._prepare_input(X)
    if X_arr.ndim == 0 or X_arr.shape[0] == 0:
        raise DataError(f"{name} is empty: training needs at least one sample. Received: {describe(X_arr)}")
    y_arr = as_array(y, "y")
    if y_arr.ndim == 0 or y_arr.shape[0] != X_arr.shape[0]:
        raise ShapeError(
            f"{name} and y must have the same number of samples. Received: {name} {describe(X_arr)}, "
            f"y {describe(y_arr)}"
        )
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            probe = model.forward(X_arr[: min(len(X_arr), 2)])
    finally:
        model.train(was_training)
    # The target is checked against an output of the right shape; values are checked per batch.
    fake_pred = np.zeros((len(X_arr), *probe.shape[1:]), dtype=probe.dtype)
    if isinstance(loss, BCELoss) or (isinstance(loss, CrossEntropyLoss) and not loss.from_logits):
        fake_pred += 0.5
    _, y_arr = loss.prepare(fake_pred, y_arr)
    return X_arr, y_arr


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: Loss,
    optimizer: Optimizer | str | None = None,
    lr: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Iterable[Any] = (),
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
    verbose: int = 0,
    metrics: Sequence[str] | str | None = ("accuracy",),
    scheduler: LRScheduler | Callable[[Optimizer], LRScheduler] | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch :class:`History`.

    Parameters
    ----------
    model : Module
        The network (e.g. a :class:`Sequential`).
    X : array_like, shape (n_samples, n_features)
    y : array_like
        Targets: ``(n_samples,)`` labels or ``(n_samples, n_outputs)``.
    loss : Loss
        E.g. ``BCELoss()``, ``CrossEntropyLoss()``, ``MSELoss()``.
    optimizer : Optimizer or str
        An optimizer built on ``model.parameters()``, or a name (``"sgd"``, ``"momentum"``,
        ``"adam"``, ``"rmsprop"``) used with ``lr``.
    epochs : int
        Passes over the data.
    batch_size : int, optional
        Mini-batch size; ``None`` trains full-batch (one step per epoch, as in the course notes).
    shuffle : bool
        Reshuffle the samples every epoch (mini-batch only), with ``seed``.
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch into ``val_loss`` (and ``val_accuracy`` for classifiers).
    seed : int or Generator, optional
        Seeds the shuffling; the same seed gives the same numbers.
    callbacks : sequence of Callback or fn(state, logs)
        Hooks run at the start, after every epoch and at the end (see :mod:`nnscratch.callbacks`);
        a callback stops training with ``state.stop_training = True``.
    progress : bool
        Show a ``tqdm`` progress bar (a widget in Jupyter) with the latest record; silent if False.
    verbose : int
        Print the loss every ``verbose`` epochs (0: silent).
    metrics : sequence of {"accuracy", "precision", "recall", "f1"}
        Recorded every epoch for classifiers (train, and ``val_``-prefixed on validation data):
        accuracy as the fraction of correct labels, precision/recall/F1 with scikit-learn (binary
        average for one output, macro over all classes otherwise). Labels come from a threshold
        (0.5 on probabilities, 0 on logits) or the arg-max. Squared-error losses on 0/1 targets
        count as classifiers too. Precision/recall/F1 cost ~1 ms per epoch.
    scheduler : LRScheduler or fn(optimizer) -> LRScheduler, optional
        Stepped after every epoch (see :class:`~nnscratch.callbacks.LRSchedulerCallback`); the
        learning rate of each epoch is then recorded as ``"lr"``.

    The recorded epoch loss (and train metrics) are those *before* each of that epoch's updates,
    averaged over batches; validation values are computed after the epoch.
    A NaN or infinite loss raises :class:`DivergenceError` naming the epoch.
    """
    if not isinstance(model, Module):
        raise DTypeError(f"model must be an nnscratch Module. Received: {model!r}")
    if not isinstance(loss, Loss):
        raise DTypeError(f"loss must be an nnscratch Loss such as ns.BCELoss(). Received: {loss!r}")
    epochs = check_positive_int(epochs, "epochs", allow_zero=True)
    opt = _resolve_optimizer(model, optimizer, lr)
    X_arr, y_arr = prepare_data(model, X, y, loss)
    n = len(X_arr)
    if batch_size is not None:
        batch_size = min(check_positive_int(batch_size, "batch_size"), n)
    val = prepare_data(model, *validation_data, loss, name="X_val") if validation_data else None
    rng = as_generator(seed)
    metric_names = check_metrics(metrics)
    labeler = labeler_for(loss, y_arr, n_outputs(model, X_arr)) if metric_names else None
    cbs: list[Callback] = [as_callback(cb) for cb in callbacks]
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler) and callable(scheduler):
            scheduler = scheduler(opt)
        cbs.append(LRSchedulerCallback(scheduler))
    if progress:
        cbs.append(ProgressBar())
    y_true = labeler.true_labels(y_arr) if labeler is not None else None  # decoded once per run
    track_lr = any(isinstance(cb, LRSchedulerCallback) for cb in cbs)
    state = FitState(model=model, optimizer=opt, loss=loss, history=History(), rng=rng, epochs=epochs)
    model.train()
    try:
        for cb in cbs:
            cb.on_train_begin(state)
        for epoch in range(state.epoch + 1, epochs + 1):
            state.epoch = epoch
            lr_used = opt.lr
            record = _train_one_epoch(state, X_arr, y_arr, batch_size, shuffle, labeler, metric_names, y_true)
            if val is not None:
                record.update(evaluate(model, val[0], val[1], loss, prefix="val_", metrics=metric_names))
                if not math.isfinite(record["val_loss"]):
                    raise DivergenceError(
                        f"training diverged at epoch {epoch}: the validation loss became "
                        f"{record['val_loss']}. Try a smaller learning rate (lr={opt.lr:g})."
                    )
            if track_lr:
                record["lr"] = lr_used
            state.history.append(epoch, **record)
            if verbose and (epoch % verbose == 0 or epoch == 1 or epoch == epochs):
                print(f"epoch {epoch:>5}  " + "  ".join(f"{k} {v:.6g}" for k, v in record.items()))
            for cb in cbs:
                cb.on_epoch_end(state, record)
            if state.stop_training:
                break
        for cb in cbs:
            cb.on_train_end(state)
    finally:
        for cb in cbs:  # an error mid-training must not leave a half-drawn bar behind
            if isinstance(cb, ProgressBar):
                cb.close()
    history = state.history
    model.eval()
    return history


def _train_one_epoch(
    state: FitState,
    X_arr: np.ndarray,
    y_arr: np.ndarray,
    batch_size: int | None,
    shuffle: bool,
    labeler: Labeler | None = None,
    metric_names: Sequence[str] = ("accuracy",),
    y_true: np.ndarray | None = None,
) -> dict[str, float]:
    """One pass over the data; returns the epoch's record (mean loss and metrics before each step)."""
    model, loss, opt = state.model, state.loss, state.optimizer
    n = len(X_arr)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if batch_size is None or batch_size >= n:
            batches: Iterable[np.ndarray | slice] = [slice(None)]
        else:
            order = state.rng.permutation(n) if shuffle else np.arange(n)
            batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        total_loss = 0.0
        pred_labels = None
        for idx in batches:
            xb, yb = X_arr[idx], y_arr[idx]
            pred = model.forward(xb)
            batch_loss = loss.forward(pred, yb)
            if not math.isfinite(batch_loss):
                raise DivergenceError(
                    f"training diverged at epoch {state.epoch}: the loss became {batch_loss}. "
                    f"The learning rate (lr={opt.lr:g}) is probably too large: try a smaller one "
                    f"(e.g. lr={opt.lr / 10:g}), standardise the inputs, or use a loss on logits."
                )
            weight = len(xb) / n if loss.reduction == "mean" else 1.0
            total_loss += batch_loss * weight
            if labeler is not None:
                batch_labels = labeler.pred_labels(pred)
                if pred_labels is None:
                    pred_labels = np.empty((n, *batch_labels.shape[1:]), dtype=np.int64)
                pred_labels[idx] = batch_labels
            opt.zero_grad()
            model.backward(loss.backward(), input_grad=False)
            opt.step()
    record = {"loss": total_loss}
    if labeler is not None and pred_labels is not None:
        if y_true is None:
            y_true = labeler.true_labels(y_arr)
        record.update(epoch_metrics(labeler, y_true, pred_labels, metric_names))
    return record


def evaluate(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Loss,
    prefix: str = "",
    *,
    metrics: Sequence[str] | str | None = ("accuracy",),
) -> dict[str, float]:
    """Loss (and the ``metrics`` for classifiers) of ``model`` on prepared data, in eval mode.

    ``X`` and ``y`` are as returned by :func:`prepare_data`.
    """
    names = check_metrics(metrics)
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            pred = model.forward(X)
            result = {prefix + "loss": loss.forward(pred, y)}
    finally:
        model.train(was_training)
    labeler = labeler_for(loss, y, pred.shape[1] if pred.ndim == 2 else 1) if names else None
    if labeler is not None:
        result.update(
            epoch_metrics(labeler, labeler.true_labels(y), labeler.pred_labels(pred), names, prefix)
        )
    return result


def _last_module(model: Module) -> Module:
    while isinstance(model, Sequential) and len(model):
        model = model[-1]
    return model


def predict_proba(model: Module, X: Any) -> np.ndarray:
    """Class probabilities: ``(n_samples,)`` P(y=1) for one output, ``(n_samples, C)`` otherwise.

    A model ending in Sigmoid/Softmax returns its output; a model ending in raw scores (trained
    with ``BCEWithLogitsLoss`` / ``CrossEntropyLoss``) gets sigmoid / softmax applied here.
    """
    was_training = model.training
    model.eval()
    try:
        out = model(X)
    finally:
        model.train(was_training)
    last = _last_module(model)
    if out.ndim == 2 and out.shape[1] == 1:
        return out[:, 0] if isinstance(last, Sigmoid) else sigmoid(out[:, 0])
    if isinstance(last, (Softmax, Sigmoid)):
        return out
    return softmax(out, axis=-1)


def predict(model: Module, X: Any, threshold: float = 0.5) -> np.ndarray:
    """Predicted labels: ``P(y=1) > threshold`` for one output, the arg-max class otherwise."""
    proba = predict_proba(model, X)
    if proba.ndim == 1:
        return (proba > threshold).astype(np.int64)
    return proba.argmax(axis=-1)


__all__ = ["History", "evaluate", "fit", "predict", "predict_proba", "prepare_data"]
