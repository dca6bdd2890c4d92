"""A session's network as JSON-friendly pictures: the decision boundary, per-neuron maps, weights,
points and the plane's bounds. Every number sent is finite (JSON has no Infinity or NaN)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.engine import layers as L
from nnscratch.engine.module import Module

GRID = 60  # decision-boundary resolution (GRID x GRID points)
NEURON_GRID = 20  # resolution of the small per-neuron maps
SHOWN = 1e6  # weights beyond ±SHOWN (a diverging run) are drawn as ±SHOWN


def bounds(X_train: np.ndarray, X_test: np.ndarray) -> tuple[float, float, float, float]:
    """The plane the pictures cover: the data's box with a 10% margin."""
    X = np.vstack([X_train, X_test])
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-6)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def grid(box: tuple[float, float, float, float], size: int) -> np.ndarray:
    x0, x1, y0, y1 = box
    xs, ys = np.linspace(x0, x1, size), np.linspace(y1, y0, size)  # row 0 is the top
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def boundary_kind(n_outputs: int, task: str = "classification") -> str:
    """``"classes"`` (one output per class: the arg-max wins), ``"probability"`` (one output) or
    ``"regression"`` (the output itself, a continuous value)."""
    if task == "regression":
        return "regression"
    return "classes" if n_outputs > 1 else "probability"


def boundary(
    model: Module, output: str, box: tuple[float, float, float, float], task: str = "classification"
) -> list[int]:
    """On the GRID x GRID plane: class index * 100 + confidence (0..99) when the network has one
    output per class, P(class 1) in 0..100 for one output, and for a regression the output
    itself in hundredths (rounded, within ±SHOWN)."""
    model.eval()
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.nan_to_num(model.forward(grid(box, GRID)), posinf=SHOWN, neginf=-SHOWN)
    if task == "regression":
        return np.rint(np.clip(out[:, 0], -SHOWN, SHOWN) * 100).astype(int).tolist()
    if out.shape[1] > 1:
        if output == "softmax":
            p = np.exp(out - out.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            confidence = p.max(axis=1)
        else:  # identity outputs regressed on one-hot targets: the largest output is the class
            confidence = np.clip(out.max(axis=1), 0, 1)
        return (out.argmax(axis=1) * 100 + np.rint(confidence * 99)).astype(int).tolist()
    p = L.sigmoid(out[:, 0]) if output == "sigmoid" else np.clip(out[:, 0], 0, 1)
    return np.rint(p * 100).astype(int).tolist()


def _scaled(h: np.ndarray) -> list[list[int]]:
    """Each column of ``h`` scaled to -100..100 by its largest magnitude, one list per column."""
    shown = np.nan_to_num(h, posinf=SHOWN, neginf=-SHOWN)
    scale = np.maximum(np.abs(shown).max(axis=0), 1e-12)
    return np.rint(shown / scale * 100).astype(int).T.tolist()


def neuron_maps(model: Module, box: tuple[float, float, float, float]) -> list[list[list[int]]]:
    """For every hidden layer, each neuron's activation over the plane, scaled to -100..100 (the
    input features are :func:`input_maps`)."""
    maps: list[list[list[int]]] = []
    h = grid(box, NEURON_GRID)
    model.eval()
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in model.layers[:-1]:
            h = layer.forward(h)
            if not isinstance(layer, L.Linear | L.Features):
                maps.append(_scaled(h))
    return maps


def input_maps(features: list[str], box: tuple[float, float, float, float]) -> list[list[int]]:
    """Each input feature (x1, x1², sin x1, ...) over the plane, scaled to -100..100."""
    return _scaled(L.Features(features, in_features=2).forward(grid(box, NEURON_GRID)))


def weights(model: Module) -> list[dict[str, Any]]:
    def shown(a: np.ndarray) -> list:
        return np.round(np.clip(np.nan_to_num(a), -SHOWN, SHOWN), 4).tolist()

    return [
        {"weight": shown(layer.weight.data), "bias": shown(layer.bias.data)}
        for layer in model.layers
        if isinstance(layer, L.Linear)
    ]


def points(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, regression: bool = False
) -> dict:
    """The points and their labels (class indices, or the targets of a regression to 4 decimals)."""

    def labels(y: np.ndarray) -> list:
        return np.round(y, 4).tolist() if regression else y.astype(int).tolist()

    return {
        "train": np.round(X_train, 4).tolist(),
        "train_y": labels(y_train),
        "test": np.round(X_test, 4).tolist(),
        "test_y": labels(y_test),
    }


__all__ = [
    "GRID",
    "NEURON_GRID",
    "boundary",
    "boundary_kind",
    "bounds",
    "input_maps",
    "neuron_maps",
    "points",
    "weights",
]
