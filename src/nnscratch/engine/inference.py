"""Inference: validate data against a model once, and ``predict`` / ``predict_proba``."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import DataError, ShapeError
from nnscratch.base.validation import as_array, check_in_range, describe

from .functional import sigmoid, softmax
from .losses import BCELoss, CrossEntropyLoss, Loss
from .module import Module


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
    is_proba = model.output_module().outputs_probabilities
    if out.ndim == 2 and out.shape[1] == 1:
        return out[:, 0] if is_proba else sigmoid(out[:, 0])
    if is_proba:
        return out
    return softmax(out, axis=-1)


def predict(model: Module, X: Any, threshold: float = 0.5) -> np.ndarray:
    """Predicted labels: ``P(y=1) > threshold`` for one output, the arg-max class otherwise."""
    threshold = check_in_range(threshold, "threshold", 0.0, 1.0)
    proba = predict_proba(model, X)
    if proba.ndim == 1:
        return (proba > threshold).astype(np.int64)
    return proba.argmax(axis=-1)
