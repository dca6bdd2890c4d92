"""A confusion matrix as a heat map, its counts written in the cells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import as_array, describe

from ._canvas import _figure


def plot_confusion_matrix(
    cm: Any, labels: Sequence[Any] | None = None, *, normalize: bool = False, title: str | None = None
) -> Figure:
    """A heat map of a confusion matrix (rows = true class, columns = predicted), counts annotated.

    ``normalize=True`` shows each row as fractions of that true class.
    """
    mat = as_array(cm, "cm", np.dtype(np.float64))
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] == 0:
        raise ShapeError(f"cm must be a square 2-D matrix. Received: {describe(mat)}")
    k = mat.shape[0]
    names = [str(v) for v in labels] if labels is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ShapeError(f"labels must name each of the {k} classes. Received: {len(names)} labels")
    shown = mat
    if normalize:
        rows = mat.sum(axis=1, keepdims=True)
        shown = np.divide(mat, rows, out=np.zeros_like(mat), where=rows > 0)
    side = max(3.8, 0.55 * k + 2.2)
    fig, axes = _figure(size=(side + 0.8, side))
    ax = axes[0, 0]
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    cut = shown.max() / 2 if shown.size else 0
    for i in range(k):  # k <= a few dozen classes: one label per cell
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(mat[i, j])}"
            colour = "white" if shown[i, j] > cut else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=9 if k < 8 else 7)
    ax.set_title(title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix"))
    return fig


__all__ = ["plot_confusion_matrix"]
