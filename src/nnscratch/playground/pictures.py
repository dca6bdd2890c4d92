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


def boundary_kind(n_outputs: int) -> str:
    """``"classes"`` (one output per class: the arg-max wins) or ``"probability"`` (one output)."""
    return "classes" if n_outputs > 1 else "probability"


def boundary(model: Module, output: str, box: tuple[float, float, float, float]) -> list[int]:
    """On the GRID x GRID plane: class index * 100 + confidence (0..99) when the network has one
    output per class, else P(class 1) in 0..100."""
    model.eval()
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.nan_to_num(model.forward(grid(box, GRID)), posinf=SHOWN, neginf=-SHOWN)
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


def neuron_maps(model: Module, box: tuple[float, float, float, float]) -> list[list[list[int]]]:
    """For every hidden layer, each neuron's activation over the plane, scaled to -100..100."""
    maps: list[list[list[int]]] = []
    h = grid(box, NEURON_GRID)
    model.eval()
    with np.errstate(over="ignore", invalid="ignore"):
        for layer in model.layers[:-1]:
            h = layer.forward(h)
            if not isinstance(layer, L.Linear):
                shown = np.nan_to_num(h, posinf=SHOWN, neginf=-SHOWN)
                scale = np.maximum(np.abs(shown).max(axis=0), 1e-12)
                maps.append(np.rint(shown / scale * 100).astype(int).T.tolist())
    return maps


def weights(model: Module) -> list[dict[str, Any]]:
    def shown(a: np.ndarray) -> list:
        return np.round(np.clip(np.nan_to_num(a), -SHOWN, SHOWN), 4).tolist()

    return [
        {"weight": shown(layer.weight.data), "bias": shown(layer.bias.data)}
        for layer in model.layers
        if isinstance(layer, L.Linear)
    ]


def points(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> dict:
    return {
        "train": np.round(X_train, 4).tolist(),
        "train_y": y_train.astype(int).tolist(),
        "test": np.round(X_test, 4).tolist(),
        "test_y": y_test.astype(int).tolist(),
    }


__all__ = ["GRID", "NEURON_GRID", "boundary", "boundary_kind", "bounds", "neuron_maps", "points", "weights"]
