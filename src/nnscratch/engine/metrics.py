"""Classification metrics, computed by scikit-learn (nothing re-implemented here).

``classification_metrics`` gives accuracy, precision, recall and F1 with one rule for averaging:
"binary" (positive class = the larger label) for two classes, "macro" for more, unless told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import as_array, describe

AVERAGES = ("auto", "binary", "macro", "weighted", "micro")


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value (for messages and JSON)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _as_labels(y: Any, name: str) -> np.ndarray:
    arr = as_array(y, name)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be a 1-D array of class labels. Received: {describe(arr)}")
    return arr


def _resolve_average(average: str, classes: np.ndarray) -> tuple[str, Any]:
    """scikit-learn's ``average`` and ``pos_label`` for the given class set."""
    if average not in AVERAGES:
        raise HyperparameterError(
            f"average must be one of {', '.join(AVERAGES)}. Received: average={average!r}"
        )
    if average == "auto":
        average = "binary" if len(classes) <= 2 else "macro"
    if average == "binary":
        if len(classes) > 2:
            raise HyperparameterError(
                f"average='binary' needs at most 2 classes; found {len(classes)}. Use 'macro' or 'weighted'."
            )
        return "binary", (classes.max() if len(classes) == 2 else 1)
    return average, 1


def precision_recall_f1(
    y_true: np.ndarray, y_pred: np.ndarray, *, labels: Sequence[Any] | None = None, average: str = "auto"
) -> dict[str, float]:
    """Precision, recall and F1 from scikit-learn (one call), ``zero_division=0``.

    ``labels`` fixes the class set (so a fold or an epoch missing a class is averaged over the
    same classes); ``average="auto"`` is "binary" for two classes (positive = the larger label)
    and "macro" for more.
    """
    from sklearn.metrics import precision_recall_fscore_support

    classes = np.asarray(labels) if labels is not None else np.unique(np.concatenate([y_true, y_pred]))
    avg, pos_label = _resolve_average(average, classes)
    p, r, f, _ = precision_recall_fscore_support(
        y_true,
        y_pred,
        labels=None if avg == "binary" else list(classes),
        average=avg,
        pos_label=pos_label,
        zero_division=0,
    )
    return {"precision": float(p), "recall": float(r), "f1": float(f)}


def classification_metrics(
    y_true: Any, y_pred: Any, average: str = "auto", *, labels: Sequence[Any] | None = None
) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of predicted labels, computed by scikit-learn.

    Parameters
    ----------
    y_true, y_pred : array_like, shape (n_samples,)
        True and predicted class labels.
    average : {"auto", "binary", "macro", "weighted", "micro"}
        "auto": binary (positive class = the larger label, i.e. 1) for two classes, macro for more.
    labels : sequence, optional
        The full class set (default: the labels present in ``y_true`` or ``y_pred``).

    Returns
    -------
    dict with keys ``accuracy``, ``precision``, ``recall``, ``f1`` (floats).
    """
    from sklearn.metrics import accuracy_score

    yt, yp = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    if len(yt) != len(yp) or len(yt) == 0:
        raise ShapeError(
            f"y_true and y_pred must be non-empty and of the same length. "
            f"Received: y_true {describe(yt)}, y_pred {describe(yp)}"
        )
    out = {"accuracy": float(accuracy_score(yt, yp))}
    out.update(precision_recall_f1(yt, yp, labels=labels, average=average))
    return out


def confusion_matrix(y_true: Any, y_pred: Any, labels: Sequence[Any] | None = None) -> np.ndarray:
    """scikit-learn's confusion matrix: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix as sk_confusion_matrix

    return sk_confusion_matrix(_as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred"), labels=labels)


__all__ = ["AVERAGES", "classification_metrics", "confusion_matrix", "precision_recall_f1"]
