"""Two-feature data: a plain scatter of a dataset, and a model's decision regions beside the
ground truth with every misclassified point marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.data.dataset import Dataset
from nnscratch.engine.module import Module
from nnscratch.training.loop import predict_proba

from ._canvas import _figure, legend_below, legend_right


def _points(X: Any, y: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    X_arr = as_array(X, "X", np.dtype(np.float64))
    y_arr = as_array(y, "y").reshape(-1)
    if X_arr.ndim != 2 or X_arr.shape[1] != 2:
        raise ShapeError(f"{caller} needs 2-D inputs X of shape (n, 2). Received: {describe(X_arr)}")
    if len(y_arr) != len(X_arr) or len(X_arr) == 0:
        raise ShapeError(
            f"X and y must have the same, non-zero length. Received: X {describe(X_arr)}, y {describe(y_arr)}"
        )
    return X_arr, y_arr


def _class_name(c: Any, target_names: Sequence[str] | None) -> str:
    if target_names is not None and float(c).is_integer() and 0 <= int(c) < len(target_names):
        return str(target_names[int(c)])
    return f"{c:g}"


def _class_colours(classes: np.ndarray, binary_shading: bool) -> dict[Any, str]:
    if binary_shading:  # matches the blue (P≈0) to red (P≈1) shading of a one-output model
        return {c: ("C3" if c >= 1 else "C0") for c in classes}
    return {c: f"C{int(c) % 10}" for c in classes}


def _scatter_classes(
    ax: Axes, X: np.ndarray, labels: np.ndarray, colours: dict[Any, str], names: Sequence[str] | None
) -> None:
    for c in np.unique(labels):
        mask = labels == c
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=22,
            c=colours.get(c, "0.5"),
            edgecolors="k",
            linewidths=0.5,
            label=_class_name(c, names),
        )


# -- a dataset ------------------------------------------------------------------------------------
def plot_dataset(
    data: Dataset | Any,
    y: Any = None,
    *,
    title: str | None = None,
    target_names: Sequence[str] | None = None,
    feature_names: Sequence[str] | None = None,
) -> Figure:
    """A scatter of a two-feature dataset: one colour per class (a colour scale for regression
    targets), the axes named after the features.

    ``data`` is a :class:`~nnscratch.data.Dataset` (its names are used), or ``X`` with ``y``.
    """
    if isinstance(data, Dataset):
        X, y = data.X, data.y
        target_names = target_names if target_names is not None else data.target_names
        feature_names = feature_names if feature_names is not None else data.feature_names
        regression = data.task == "regression"
        title = title or f"{data.name}: {len(data)} samples"
    else:
        X = data
        if y is None:
            raise ShapeError("plot_dataset needs the targets y with the inputs X (or a Dataset).")
        regression = False
    X_arr, y_arr = _points(X, y, "plot_dataset")
    if not regression and y_arr.dtype.kind == "f":
        regression = not np.all(np.equal(np.mod(y_arr, 1), 0))
    fig, axes = _figure(size=(5.8, 4.6))
    ax = axes[0, 0]
    if regression:
        points = ax.scatter(
            X_arr[:, 0], X_arr[:, 1], s=22, c=y_arr, cmap="viridis", edgecolors="k", linewidths=0.4
        )
        fig.colorbar(points, ax=ax, label="target")
    else:
        classes = np.unique(y_arr)
        _scatter_classes(ax, X_arr, y_arr, _class_colours(classes, False), target_names)
        legend_right(ax, title="class", fontsize="small")
    names = list(feature_names) if feature_names is not None and len(feature_names) == 2 else ["x0", "x1"]
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{len(X_arr)} samples")
    return fig


# -- decision boundaries --------------------------------------------------------------------------
def plot_decision_boundary(
    model: Module,
    X: Any,
    y: Any,
    *,
    resolution: int = 200,
    padding: float = 0.1,
    threshold: float = 0.5,
    title: str | None = None,
    target_names: Sequence[str] | None = None,
    y_pred: Any = None,
) -> Figure:
    """The ground truth (left) beside the model's prediction (right) over 2-D inputs.

    Left: the points coloured by their true class. Right: the model's decision regions — a
    one-output model shaded by P(y=1) with the ``threshold`` contour drawn, a multi-class model
    coloured by its arg-max class — with the points coloured by the predicted class and every
    misclassified point crossed out.

    ``y_pred`` gives the predicted labels to compare with ``y`` (default: the thresholded P(y=1),
    or the arg-max class, the rule the regions are drawn with).
    """
    X_arr, y_arr = _points(X, y, "plot_decision_boundary")
    lo, hi = X_arr.min(axis=0), X_arr.max(axis=0)
    pad = padding * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    with np.errstate(over="ignore", under="ignore"):
        proba = predict_proba(model, np.column_stack([xx.ravel(), yy.ravel()]))
        at_points = predict_proba(model, X_arr)
    binary = proba.ndim == 1
    if y_pred is None:
        predicted = (at_points > threshold).astype(np.int64) if binary else at_points.argmax(axis=1)
    else:
        predicted = as_array(y_pred, "y_pred").reshape(-1)
        if len(predicted) != len(y_arr):
            raise ShapeError(
                f"y_pred needs one label per row of X ({len(y_arr)}). Received: {describe(predicted)}"
            )
    fig, axes = _figure(1, 2, (10.5, 4.8))
    truth_ax, pred_ax = axes[0]
    classes = np.unique(np.concatenate([y_arr, predicted]))
    colours = _class_colours(classes, binary)
    if binary:
        zz = proba.reshape(xx.shape)
        filled = pred_ax.contourf(
            xx, yy, zz, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55, vmin=0, vmax=1
        )
        if zz.min() < threshold < zz.max():
            pred_ax.contour(xx, yy, zz, levels=[threshold], colors="k", linewidths=1.2)
        fig.colorbar(filled, ax=pred_ax, label="P(y = 1)")
    else:
        zz = proba.argmax(axis=1).reshape(xx.shape)
        pred_ax.contourf(
            xx,
            yy,
            zz,
            levels=np.arange(proba.shape[1] + 1) - 0.5,
            cmap="tab10",
            vmin=-0.5,
            vmax=9.5,
            alpha=0.3,
        )
    _scatter_classes(truth_ax, X_arr, y_arr, colours, target_names)
    _scatter_classes(pred_ax, X_arr, predicted, colours, target_names)
    wrong = predicted != y_arr
    pred_ax.scatter(
        X_arr[wrong, 0],
        X_arr[wrong, 1],
        s=70,
        marker="x",
        c="k",
        linewidths=1.8,
        label="misclassified",
        zorder=3,
    )
    n_wrong = int(wrong.sum())
    truth_ax.set_title("ground truth: the true classes")
    pred_ax.set_title(f"prediction: {n_wrong} of {len(y_arr)} misclassified (×)")
    for ax in (truth_ax, pred_ax):
        ax.set_xlim(g0[0], g0[-1])
        ax.set_ylim(g1[0], g1[-1])
        ax.set_xlabel("x0")
        ax.set_ylabel("x1")
    handles = [
        Line2D([], [], marker="o", linestyle="none", markerfacecolor=colours[c], markeredgecolor="k")
        for c in classes
    ]
    labels = [f"class {_class_name(c, target_names)}" for c in classes]
    handles.append(Line2D([], [], marker="x", linestyle="none", color="k", markeredgewidth=1.8))
    labels.append("misclassified")
    legend_below(fig, handles, labels, ncols=min(len(handles), 6), fontsize="small")
    fig.suptitle(title or "Decision boundary")
    return fig


__all__ = ["plot_dataset", "plot_decision_boundary"]
