"""Training: the ``fit`` loop and ``evaluate``.

The loop validates the data once (shapes, finiteness, labels against the output), then runs
unchecked ``forward``/``backward`` calls per batch — the checks are not repeated per step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.backend import as_generator
from nnscratch.base.errors import DataError, DivergenceError, DTypeError
from nnscratch.base.validation import check_positive, check_positive_int
from nnscratch.engine.history import History
from nnscratch.engine.inference import predict, predict_proba, prepare_data
from nnscratch.engine.losses import Loss
from nnscratch.engine.module import Module
from nnscratch.engine.names import OPTIMIZER_NAMES, make_optimizer
from nnscratch.engine.optim.clipping import clip_grad_norm_
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.engine.optim.schedulers import LRScheduler

from .callbacks import Callback, FitState, LRSchedulerCallback, ProgressBar, as_callback
from .checkpoint import attach_checkpointing
from .health import HealthCheck, smaller_lr
from .labels import Labeler, check_metrics, epoch_metrics, labeler_for, n_outputs


def _resolve_optimizer(model: Module, optimizer: Optimizer | str | None, lr: float | None) -> Optimizer:
    if isinstance(optimizer, Optimizer):
        return optimizer
    if optimizer is not None and not isinstance(optimizer, str):
        raise DTypeError(
            f"optimizer must be an Optimizer or the name of one ({OPTIMIZER_NAMES.listing()}). "
            f"Received: {optimizer!r}"
        )
    kwargs: dict[str, Any] = {} if lr is None else {"lr": lr}
    return make_optimizer("sgd" if optimizer is None else optimizer, model.parameters(), **kwargs)


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
    held_out: Mapping[str, tuple[Any, Any]] | None = None,
    callbacks: Iterable[Any] = (),
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
    verbose: int = 0,
    metrics: Sequence[str] | str | None = ("accuracy",),
    average: str = "auto",
    threshold: float = 0.5,
    scheduler: LRScheduler | Callable[[Optimizer], LRScheduler] | None = None,
    resume: str | Path | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 1,
    clip_grad_norm: float | None = None,
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
        ``"adam"``, ``"adamw"``, ``"rmsprop"``; see ``nnscratch.engine.names``) used with ``lr``.
    epochs : int
        Passes over the data.
    batch_size : int, optional
        Mini-batch size; ``None`` trains full-batch (one step per epoch, as in the course notes).
    shuffle : bool
        Reshuffle the samples every epoch (mini-batch only), with ``seed``.
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch into ``val_loss`` (and ``val_accuracy`` for classifiers).
    held_out : {name: (X, y)}, optional
        More data evaluated after every epoch, recorded as ``<name>_loss``, ``<name>_accuracy``...
        (e.g. ``{"test": (X_test, y_test)}`` for train-and-test learning curves). Only recorded:
        nothing in training depends on it.
    seed : int or Generator, optional
        Seeds the shuffling; the same seed gives the same numbers.
    callbacks : sequence of Callback or fn(state, logs)
        Hooks run at the start, after every epoch and at the end (see :mod:`nnscratch.training.callbacks`);
        a callback stops training with ``state.stop_training = True``.
    progress : bool
        Show a ``tqdm`` progress bar (a widget in Jupyter) with the latest record; silent if False.
    verbose : int
        Print the loss every ``verbose`` epochs (0: silent).
    metrics : sequence of {"accuracy", "precision", "recall", "f1", "exact_match"}
        Recorded every epoch for classifiers (train, and ``val_``-prefixed on validation data):
        accuracy as the fraction of correct labels, precision/recall/F1 with scikit-learn (binary
        average for one output, macro over all classes otherwise). Labels come from a threshold
        (0.5 on probabilities, 0 on logits) or the arg-max. Squared-error losses on 0/1 targets
        count as classifiers too. Precision/recall/F1 add scikit-learn's per-call cost every epoch.
    average, threshold : str, float
        As in :func:`evaluate`: how precision/recall/F1 average over classes, and the probability
        above which a one-output classifier says 1.
    scheduler : LRScheduler or fn(optimizer) -> LRScheduler, optional
        Stepped after every epoch (see :class:`~nnscratch.training.callbacks.LRSchedulerCallback`); the
        learning rate of each epoch is then recorded as ``"lr"``.
    resume : path, optional
        Continue the run saved in this checkpoint (weights, optimizer, scheduler, generator,
        history, epoch): the result is bit-identical to an uninterrupted run.
    checkpoint, checkpoint_every : path, int
        Save a checkpoint there every ``checkpoint_every`` epochs (see ``ModelCheckpoint``).
    clip_grad_norm : float, optional
        Before every step, scale all gradients together so that their 2-norm is at most this
        (:func:`~nnscratch.engine.optim.clipping.clip_grad_norm_`, PyTorch's definition).

    Notes
    -----
    The recorded epoch loss (and train metrics) are those *before* each of that epoch's updates,
    averaged over batches; validation values are computed after the epoch. ``verbose`` also
    prints epoch 0: the loss of the initial weights, before any update.

    Failures show (see :mod:`nnscratch.training.health`): a NaN or infinite loss, a loss that
    grows past 1000× its first value, or weights past 10⁴× their initial size raise
    :class:`DivergenceError` naming the epoch; outputs saturated for every sample while some are
    misclassified, or a last loss no lower than the first, give a :class:`TrainingWarning`.
    Class targets of a single class raise :class:`DataError`.
    """
    if not isinstance(model, Module):
        raise DTypeError(f"model must be an nnscratch Module. Received: {model!r}")
    if not isinstance(loss, Loss):
        raise DTypeError(f"loss must be an nnscratch Loss such as ns.BCELoss(). Received: {loss!r}")
    epochs = check_positive_int(epochs, "epochs", allow_zero=True)
    if clip_grad_norm is not None:
        clip_grad_norm = check_positive(clip_grad_norm, "clip_grad_norm")
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
    # every held-out set, validated once: (prefix of its history keys, X, y)
    monitored = [("val_", *prepare_data(model, *validation_data, loss, name="X_val"))] if is_pair else []
    for name, pair in _check_held_out(held_out).items():
        monitored.append((f"{name}_", *prepare_data(model, *pair, loss, name=f"X_{name}")))
    rng = as_generator(seed)
    metric_names = check_metrics(metrics)
    labeler = labeler_for(loss, y_arr, n_outputs(model, X_arr), threshold) if metric_names else None
    cbs: list[Callback] = [as_callback(cb) for cb in callbacks]
    if scheduler is not None:
        if not isinstance(scheduler, LRScheduler) and callable(scheduler):
            scheduler = scheduler(opt)
        cbs.append(LRSchedulerCallback(scheduler))
    if progress:
        cbs.append(ProgressBar())
    y_true = labeler.true_labels(y_arr) if labeler is not None else None  # decoded once per run
    _check_classes(labeler, y_true)
    track_lr = any(isinstance(cb, LRSchedulerCallback) for cb in cbs)
    state = FitState(model=model, optimizer=opt, loss=loss, history=History(), rng=rng, epochs=epochs)
    # after every other callback is in cbs: the checkpoint records their state too
    attach_checkpointing(state, cbs, resume=resume, checkpoint=checkpoint, every=checkpoint_every)
    health = HealthCheck(model, loss, n)
    if verbose and state.epoch == 0:  # as the course notes print it: the loss before training
        before = evaluate_prepared(model, X_arr, y_arr, loss, metrics=metric_names, threshold=threshold)
        print(f"epoch {0:>5}  " + "  ".join(f"{k} {v:.6g}" for k, v in before.items()))
    model.train()
    try:
        for cb in cbs:
            cb.on_train_begin(state)
        for epoch in range(state.epoch + 1, epochs + 1):
            state.epoch = epoch
            lr_used = opt.lr
            record = _train_one_epoch(
                state,
                X_arr,
                y_arr,
                batch_size,
                shuffle,
                labeler,
                metric_names,
                y_true,
                average,
                clip_grad_norm,
            )
            for prefix, X_held, y_held in monitored:
                record.update(
                    evaluate_prepared(
                        model,
                        X_held,
                        y_held,
                        loss,
                        prefix,
                        metrics=metric_names,
                        average=average,
                        threshold=threshold,
                    )
                )
            if "val_loss" in record:
                if not math.isfinite(record["val_loss"]):
                    raise DivergenceError(
                        f"training diverged at epoch {epoch}: the validation loss became "
                        f"{record['val_loss']}. {smaller_lr(opt.lr)}"
                    )
            if track_lr:
                record["lr"] = lr_used
            state.history.append(epoch, **record)
            health.after_epoch(epoch, record["loss"], lr_used)
            if verbose and (epoch % verbose == 0 or epoch == epochs):  # epoch 0 was printed
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
    if len(history):
        health.at_end(X_arr, y_true, labeler, history["loss"])
    return history


def _check_held_out(held_out: Mapping[str, tuple[Any, Any]] | None) -> dict[str, tuple[Any, Any]]:
    if held_out is None:
        return {}
    if not isinstance(held_out, Mapping):
        raise DTypeError(f"held_out must be a dict {{name: (X, y)}}. Received: {type(held_out).__name__}")
    for name, pair in held_out.items():
        if not (isinstance(name, str) and name.isidentifier()) or name == "val":
            raise DTypeError(
                f"held_out names must be identifiers other than 'val' (the validation data), such "
                f"as 'test'. Received: {name!r}"
            )
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise DTypeError(f"held_out[{name!r}] must be a pair (X, y). Received: {type(pair).__name__}")
    return dict(held_out)


def _check_classes(labeler: Labeler | None, y_true: np.ndarray | None) -> None:
    """A classifier needs at least two classes to tell apart: one is a data error, not 100%."""
    if labeler is None or y_true is None or labeler.kind == "multilabel" or len(y_true) < 2:
        return
    classes = np.unique(y_true)
    if len(classes) < 2:
        raise DataError(
            f"the targets hold a single class ({int(classes[0])}) in all {len(y_true)} samples: "
            "a classifier needs at least two classes to learn anything. Check the labels or the split."
        )


def _train_one_epoch(
    state: FitState,
    X_arr: np.ndarray,
    y_arr: np.ndarray,
    batch_size: int | None,
    shuffle: bool,
    labeler: Labeler | None = None,
    metric_names: Sequence[str] = ("accuracy",),
    y_true: np.ndarray | None = None,
    average: str = "auto",
    clip: float | None = None,
) -> dict[str, float]:
    """One pass over the data; returns the epoch's record (mean loss and metrics before each step)."""
    model, loss, opt = state.model, state.loss, state.optimizer
    params = model.parameters() if clip is not None else []
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
            if clip is not None:
                clip_grad_norm_(params, clip)
            opt.step()
    record = {"loss": total_loss}
    if labeler is not None and pred_labels is not None:
        if y_true is None:
            y_true = labeler.true_labels(y_arr)
        record.update(epoch_metrics(labeler, y_true, pred_labels, metric_names, average=average))
    return record


def evaluate(
    model: Module,
    X: Any,
    y: Any,
    loss: Loss,
    prefix: str = "",
    *,
    metrics: Sequence[str] | str | None = ("accuracy",),
    average: str = "auto",
    threshold: float = 0.5,
) -> dict[str, float]:
    """Loss (and the ``metrics`` for classifiers) of ``model`` on ``X``, ``y``, in eval mode.

    The data are validated as ``fit`` validates them (:func:`prepare_data`): lists are accepted,
    and any target shape the loss accepts (``(N,)`` for a one-column output is read as ``(N, 1)``)
    gives the number ``loss(model(X), y)`` gives. Every value is a Python float. This is the one
    evaluation path: ``fit``'s validation, cross-validation, sweeps and the CLI all go through it.

    ``average`` is how precision/recall/F1 average over classes ("auto": binary for two classes,
    macro for more); ``threshold`` is the probability above which a one-output model says 1.
    """
    X_arr, y_arr = prepare_data(model, X, y, loss)
    return evaluate_prepared(
        model, X_arr, y_arr, loss, prefix, metrics=metrics, average=average, threshold=threshold
    )


def evaluate_prepared(
    model: Module,
    X: np.ndarray,
    y: np.ndarray,
    loss: Loss,
    prefix: str = "",
    *,
    metrics: Sequence[str] | str | None = ("accuracy",),
    average: str = "auto",
    threshold: float = 0.5,
) -> dict[str, float]:
    """:func:`evaluate` on data already returned by :func:`prepare_data` (``fit`` checks once)."""
    names = check_metrics(metrics)
    pred = _eval_forward(model, X)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = {prefix + "loss": float(loss.forward(pred, y))}
    labeler = labeler_for(loss, y, pred.shape[-1] if pred.ndim >= 2 else 1, threshold) if names else None
    if labeler is not None:
        result.update(
            epoch_metrics(labeler, labeler.true_labels(y), labeler.pred_labels(pred), names, prefix, average)
        )
    return result


def _eval_forward(model: Module, X: np.ndarray) -> np.ndarray:
    """The model's output in eval mode (dropout off, batch-norm running statistics)."""
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return model.forward(X)
    finally:
        model.train(was_training)


__all__ = ["History", "evaluate", "fit", "predict", "predict_proba", "prepare_data"]
