"""Training: the ``fit`` loop, per-epoch ``History``, and ``predict`` / ``predict_proba``.

The loop validates the data once (shapes, finiteness, labels against the output), then runs
unchecked ``forward``/``backward`` calls per batch — the checks are not repeated per step.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ._validation import as_array, check_in_range, check_positive_int, describe
from .backend import as_generator
from .callbacks import Callback, FitState, as_callback
from .errors import DataError, DivergenceError, DTypeError, ShapeError
from .layers.activations import Sigmoid, Softmax, sigmoid, softmax
from .layers.container import Sequential
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, Loss
from .module import Module
from .optim import OPTIMIZERS, Optimizer


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

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History(epochs={len(self.epoch)}, {last})"


def _is_classifier_loss(loss: Loss) -> bool:
    return isinstance(loss, (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss))


def _accuracy(pred: np.ndarray, target: np.ndarray, loss: Loss) -> float:
    """Fraction of correct predictions for the output ``pred`` of a classifier trained with ``loss``."""
    if isinstance(loss, CrossEntropyLoss):
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return float(np.mean(pred.argmax(axis=1) == labels))
    threshold = 0.0 if isinstance(loss, BCEWithLogitsLoss) else 0.5
    return float(np.mean((pred > threshold) == (target > 0.5)))


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
    except ShapeError as exc:  # the probe saw 2 rows: name the whole array in the message
        raise ShapeError(f"{name} of shape {X_arr.shape} does not fit the model: {exc}") from exc
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
        Show a progress bar (not yet implemented: reserved).
    verbose : int
        Print the loss every ``verbose`` epochs (0: silent).

    The recorded epoch loss is the loss *before* that epoch's update(s), averaged over batches.
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
    is_pair = isinstance(validation_data, (tuple, list)) and len(validation_data) == 2
    if validation_data is not None and not is_pair:
        raise DTypeError(
            f"validation_data must be a pair (X_val, y_val). Received: {type(validation_data).__name__}"
        )
    val = prepare_data(model, *validation_data, loss, name="X_val") if validation_data is not None else None
    rng = as_generator(seed)
    classify = _is_classifier_loss(loss)
    cbs: list[Callback] = [as_callback(cb) for cb in callbacks]
    state = FitState(model=model, optimizer=opt, loss=loss, history=History(), rng=rng, epochs=epochs)
    model.train()
    for cb in cbs:
        cb.on_train_begin(state)
    for epoch in range(state.epoch + 1, epochs + 1):
        state.epoch = epoch
        record = _train_one_epoch(state, X_arr, y_arr, batch_size, shuffle, classify)
        if val is not None:
            record.update(evaluate(model, val[0], val[1], loss, prefix="val_"))
        state.history.append(epoch, **record)
        if verbose and (epoch % verbose == 0 or epoch == 1 or epoch == epochs):
            print(f"epoch {epoch:>5}  " + "  ".join(f"{k} {v:.6g}" for k, v in record.items()))
        for cb in cbs:
            cb.on_epoch_end(state, record)
        if state.stop_training:
            break
    for cb in cbs:
        cb.on_train_end(state)
    history = state.history
    model.eval()
    return history


def _train_one_epoch(
    state: FitState,
    X_arr: np.ndarray,
    y_arr: np.ndarray,
    batch_size: int | None,
    shuffle: bool,
    classify: bool,
) -> dict[str, float]:
    """One pass over the data; returns the epoch's record (mean loss before each step)."""
    model, loss, opt = state.model, state.loss, state.optimizer
    n = len(X_arr)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if batch_size is None or batch_size >= n:
            batches: Iterable[np.ndarray | slice] = [slice(None)]
        else:
            order = state.rng.permutation(n) if shuffle else np.arange(n)
            batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        total_loss = 0.0
        correct = 0.0
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
            if classify:
                correct += _accuracy(pred, yb, loss) * len(xb)
            opt.zero_grad()
            model.backward(loss.backward(), input_grad=False)
            opt.step()
    record = {"loss": total_loss}
    if classify:
        record["accuracy"] = correct / n
    return record


def evaluate(model: Module, X: np.ndarray, y: np.ndarray, loss: Loss, prefix: str = "") -> dict[str, float]:
    """Loss (and accuracy for classifiers) of ``model`` on prepared data, in eval mode."""
    was_training = model.training
    model.eval()
    try:
        pred = model.forward(X)
        result = {prefix + "loss": loss.forward(pred, y)}
        if _is_classifier_loss(loss):
            result[prefix + "accuracy"] = _accuracy(pred, y, loss)
    finally:
        model.train(was_training)
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
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    proba = predict_proba(model, X)
    if proba.ndim == 1:
        return (proba > threshold).astype(np.int64)
    return proba.argmax(axis=-1)


__all__ = ["History", "evaluate", "fit", "predict", "predict_proba", "prepare_data"]
