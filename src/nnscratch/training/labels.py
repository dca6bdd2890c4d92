"""From network outputs to class labels, for the metrics ``fit`` records each epoch.

Decided once per training run from the loss and the prepared targets, then applied per batch
with one vectorised operation (a threshold or an arg-max), never per sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.engine.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss, MSELoss
from nnscratch.engine.metrics import precision_recall_f1
from nnscratch.engine.module import Module

#: The metrics ``fit(metrics=...)`` can record (train, and with a ``val_`` prefix on validation).
METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "exact_match")


def check_metrics(metrics: Iterable[str] | str | None) -> tuple[str, ...]:
    """Validate ``fit(metrics=...)``: a subset of :data:`METRICS`, in the given order."""
    if metrics is None:
        return ()
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    bad = [m for m in names if m not in METRICS]
    if bad:
        raise HyperparameterError(f"metrics must be among {', '.join(METRICS)}. Received: metrics={names!r}")
    return tuple(dict.fromkeys(names))


class Labeler:
    """Turns outputs ``pred`` and prepared targets into class labels.

    kind "binary":     one output column, label = pred > threshold (0.5 on probabilities, 0 on logits)
    kind "multiclass": several output columns, label = arg-max of the row
    kind "multilabel": several independent sigmoid outputs, each thresholded (metrics over all cells)
    kind "sequence":   a row of class scores per position (N, T, C), label = arg-max per position
                       (metrics over all positions; ``exact_match`` over whole sequences)
    """

    def __init__(self, kind: str, threshold: float, n_classes: int) -> None:
        self.kind, self.threshold, self.n_classes = kind, threshold, n_classes

    @property
    def labels(self) -> list[int]:
        return list(range(self.n_classes))

    def pred_labels(self, pred: np.ndarray) -> np.ndarray:
        if self.kind in ("multiclass", "sequence"):
            return pred.argmax(axis=-1)
        if self.kind == "binary":
            return (pred[:, 0] > self.threshold).astype(np.int64)
        return (pred > self.threshold).astype(np.int64)

    def true_labels(self, target: np.ndarray) -> np.ndarray:
        if self.kind == "sequence":
            return target if target.ndim == 2 else target.argmax(axis=-1)
        if self.kind == "multiclass":
            return target if target.ndim == 1 else target.argmax(axis=1)
        if self.kind == "binary":
            return (target.reshape(len(target), -1)[:, 0] > 0.5).astype(np.int64)
        return (target > 0.5).astype(np.int64)


def labeler_for(
    loss: Loss, y: np.ndarray, n_outputs: int | None = None, threshold: float = 0.5
) -> Labeler | None:
    """The :class:`Labeler` for a run with ``loss`` on prepared targets ``y`` (and a network with
    ``n_outputs`` output columns), or ``None`` when the targets are not classes (regression).

    ``threshold`` is on probabilities; on logits (``BCEWithLogitsLoss``) it becomes
    ``log(t / (1 - t))``, the logit with that probability (0 for 0.5)."""
    if isinstance(loss, CrossEntropyLoss) and (y.ndim == 3 or (y.ndim == 2 and y.dtype.kind in "iu")):
        # prepared sequence targets: (N, T) indices (one-hot rows are floats) or (N, T, C)
        n_classes = y.shape[2] if y.ndim == 3 else (n_outputs or int(y.max(initial=0)) + 1)
        return Labeler("sequence", 0.0, max(n_classes, 2))
    if isinstance(loss, CrossEntropyLoss):
        n_classes = y.shape[1] if y.ndim == 2 else (n_outputs or int(y.max(initial=0)) + 1)
        return Labeler("multiclass", 0.0, max(n_classes, 2))
    cols = 1 if y.ndim == 1 else y.shape[1]
    if isinstance(loss, (BCELoss, BCEWithLogitsLoss)):
        if isinstance(loss, BCEWithLogitsLoss):
            with np.errstate(divide="ignore"):
                threshold = float(np.log(threshold) - np.log1p(-threshold))
        return Labeler("binary" if cols == 1 else "multilabel", threshold, 2)
    if isinstance(loss, (MSELoss, L2Loss)) and y.size and np.isin(y, (0.0, 1.0)).all():
        # Squared error on 0/1 targets, as in the course notes: a sigmoid output thresholded
        # at 0.5, or one-hot rows read by arg-max.
        if cols == 1:
            return Labeler("binary", threshold, 2)
        if np.all(y.sum(axis=1) == 1):
            return Labeler("multiclass", 0.0, cols)
    return None


def n_outputs(model: Module, X_arr: np.ndarray) -> int:
    """Width of the model's output (one probe sample, eval mode)."""
    was_training = model.training
    model.eval()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            out = model.forward(X_arr[:1])
    finally:
        model.train(was_training)
    return int(out.shape[-1]) if out.ndim >= 2 else 1  # (N, C), or (N, T, C) for sequences


def epoch_metrics(
    labeler: Labeler,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    names: Sequence[str],
    prefix: str = "",
    average: str = "auto",
) -> dict[str, float]:
    """The requested metrics of predicted labels, as Python floats (accuracy in NumPy: it is the
    mean of a comparison; precision/recall/F1 from scikit-learn, averaged as ``average`` says).
    For sequences, every metric is over all positions but ``exact_match``: the fraction of samples
    whose every position is right (for one label per sample it equals the accuracy)."""
    out: dict[str, float] = {}
    if "exact_match" in names:
        right = (y_true == y_pred).reshape(len(y_true), -1).all(axis=1)
        out[prefix + "exact_match"] = float(np.count_nonzero(right) / len(right))
    y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    if "accuracy" in names:
        out[prefix + "accuracy"] = float(np.count_nonzero(y_true == y_pred) / len(y_true))
    prf = [m for m in names if m not in ("accuracy", "exact_match")]
    if prf:
        values = precision_recall_f1(y_true, y_pred, labels=labeler.labels, average=average)
        out.update({prefix + m: values[m] for m in prf})
    return out


__all__ = ["METRICS", "Labeler", "check_metrics", "epoch_metrics", "labeler_for", "n_outputs"]
