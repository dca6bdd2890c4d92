"""Figures for experiments: learning curves, decision boundaries, confusion matrices, sweeps,
activation functions with their derivatives, and network diagrams.

Every function returns a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas — no
``pyplot`` state, no ``plt.show()``, so it works headless, in threads and in reports; in Jupyter
the returned figure displays itself. ``save_figure(fig, "curve.png")`` writes it to disk.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from nnscratch.base.errors import DataError, DTypeError, HyperparameterError, ShapeError
from nnscratch.base.files import atomic_open
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.module import Module
from nnscratch.training.loop import predict_proba


class _Figure(Figure):
    """A Figure that shows itself as a PNG in Jupyter even when pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.0, 4.0)) -> tuple[Figure, Any]:
    fig = _Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)  # attach a headless canvas: savefig never touches a GUI backend
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (PNG unless the suffix says otherwise), creating parent folders.

    The file is replaced atomically (:func:`nnscratch.base.files.atomic_open`): a failed or
    interrupted save leaves the previous figure, never half an image.
    """
    if not isinstance(fig, Figure):
        raise DTypeError(f"save_figure needs a matplotlib Figure. Received: {fig!r}")
    out = Path(path)
    if not out.suffix:
        out = out.with_suffix(".png")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out, "wb") as fh:  # a file handle: matplotlib needs the format spelled out
        fig.savefig(fh, format=out.suffix[1:].lower(), dpi=dpi)
    return out


# -- learning curves ----------------------------------------------------------------------------
def plot_history(
    history: Any, metrics: Sequence[str] | str = ("loss",), *, title: str | None = None, logy: bool = False
) -> Figure:
    """One panel per metric: the training curve and, when recorded, the validation curve.

    ``history`` is a :class:`~nnscratch.engine.history.History` or its ``to_dict()``.
    """
    data = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    available = [k for k in data if k != "epoch" and not k.startswith("val_")]
    for m in names:
        if m not in data and f"val_{m}" not in data:
            raise HyperparameterError(
                f"the history has no {m!r}. Recorded: {', '.join(k for k in data if k != 'epoch')}. "
                f"Received: metrics={names!r}"
            )
    if not names:
        names = tuple(available[:1])
    fig, axes = _figure(1, len(names), (4.8 * len(names), 3.6))
    epochs = data.get("epoch") or list(range(1, len(next(iter(data.values()), [])) + 1))
    for ax, m in zip(axes[0], names, strict=True):
        if m in data:
            ax.plot(epochs, data[m], label=f"train {m}", color="C0")
        if f"val_{m}" in data:
            ax.plot(epochs, data[f"val_{m}"], label=f"validation {m}", color="C1", linestyle="--")
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        if logy and m.endswith("loss"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "Learning curves")
    return fig


# -- decision boundaries ------------------------------------------------------------------------
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
) -> Figure:
    """The model's decision regions over 2-D inputs, with the data points on top.

    Binary models (one output) are shaded by P(y=1) with the ``threshold`` contour drawn;
    multi-class models are coloured by their arg-max class.
    """
    X_arr = as_array(X, "X", np.dtype(np.float64))
    y_arr = as_array(y, "y").reshape(-1)
    if X_arr.ndim != 2 or X_arr.shape[1] != 2:
        raise ShapeError(
            f"plot_decision_boundary needs 2-D inputs X of shape (n, 2). Received: {describe(X_arr)}"
        )
    if len(y_arr) != len(X_arr) or len(X_arr) == 0:
        raise ShapeError(
            f"X and y must have the same, non-zero length. Received: X {describe(X_arr)}, y {describe(y_arr)}"
        )
    lo, hi = X_arr.min(axis=0), X_arr.max(axis=0)
    pad = padding * np.where(hi > lo, hi - lo, 1.0)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    with np.errstate(over="ignore", under="ignore"):
        proba = predict_proba(model, np.column_stack([xx.ravel(), yy.ravel()]))
    fig, axes = _figure(size=(5.5, 4.6))
    ax = axes[0, 0]
    classes = np.unique(y_arr)
    if proba.ndim == 1:
        zz = proba.reshape(xx.shape)
        filled = ax.contourf(
            xx, yy, zz, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55, vmin=0, vmax=1
        )
        if zz.min() < threshold < zz.max():
            ax.contour(xx, yy, zz, levels=[threshold], colors="k", linewidths=1.2)
        fig.colorbar(filled, ax=ax, label="P(y = 1)")
        colours = {c: ("C3" if c >= 1 else "C0") for c in classes}
    else:
        n_classes = proba.shape[1]
        zz = proba.argmax(axis=1).reshape(xx.shape)
        ax.contourf(
            xx, yy, zz, levels=np.arange(n_classes + 1) - 0.5, cmap="tab10", vmin=-0.5, vmax=9.5, alpha=0.3
        )
        colours = {c: f"C{int(c) % 10}" for c in classes}
    for c in classes:
        mask = y_arr == c
        name = (
            target_names[int(c)] if target_names is not None and 0 <= int(c) < len(target_names) else f"{c:g}"
        )
        ax.scatter(
            X_arr[mask, 0], X_arr[mask, 1], s=22, c=colours[c], edgecolors="k", linewidths=0.5, label=name
        )
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.legend(title="class", loc="best", fontsize="small")
    ax.set_title(title or "Decision boundary")
    return fig


# -- confusion matrix ----------------------------------------------------------------------------
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


# -- sweeps ---------------------------------------------------------------------------------------
def _key(value: Any) -> Any:
    """A hashable stand-in for a sweep value (lists such as hidden sizes become tuples)."""
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def plot_sweep(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    hue: str | None = None,
    *,
    title: str | None = None,
    logx: bool | str = "auto",
) -> Figure:
    """A metric ``y`` against a hyperparameter ``x``, one line per value of ``hue``.

    ``rows`` are flat dicts (one per run, e.g. ``{"lr": 0.1, "epochs": 100, "accuracy": 0.93}``).
    Rows sharing ``(hue, x)`` — say the folds of a cross-validated sweep — are averaged and their
    spread drawn as error bars. Non-numeric ``x`` values (architectures, optimizer names) are
    placed in order of first appearance. ``logx="auto"`` uses a log axis for positive numbers
    spanning two decades or more.
    """
    if not rows:
        raise DataError("plot_sweep needs at least one row.")
    for i, row in enumerate(rows):
        for key in (x, y) + ((hue,) if hue else ()):
            if key not in row:
                raise DataError(f"plot_sweep: row {i} has no {key!r}. Its keys: {', '.join(map(str, row))}.")
    groups: dict[Any, dict[Any, list[float]]] = {}
    x_values: dict[Any, Any] = {}
    for row in rows:
        g = _key(row[hue]) if hue else None
        xv = _key(row[x])
        x_values.setdefault(xv, row[x])
        groups.setdefault(g, {}).setdefault(xv, []).append(float(row[y]))
    numeric = all(_is_number(v) for v in x_values)
    order = sorted(x_values) if numeric else list(x_values)
    position = {v: (float(v) if numeric else i) for i, v in enumerate(order)}
    fig, axes = _figure(size=(6.4, 4.2))
    ax = axes[0, 0]
    for i, (g, points) in enumerate(groups.items()):
        xs = [v for v in order if v in points]
        means = np.array([np.mean(points[v]) for v in xs])
        spread = np.array([np.std(points[v]) for v in xs])
        label = None if hue is None else f"{hue}={g if not isinstance(g, tuple) else list(g)}"
        ax.errorbar(
            [position[v] for v in xs],
            means,
            yerr=spread if spread.any() else None,
            marker="o",
            capsize=3,
            color=f"C{i % 10}",
            label=label,
        )
    if not numeric:
        ax.set_xticks(
            range(len(order)), [str(x_values[v]) for v in order], rotation=30 if len(order) > 4 else 0
        )
    use_log = logx
    if logx == "auto":
        use_log = numeric and min(order) > 0 and max(order) / min(order) >= 100
    if use_log and numeric:
        ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(alpha=0.3)
    if hue is not None:
        ax.legend(fontsize="small")
    ax.set_title(title or f"{y} vs {x}")
    return fig


# -- activations ----------------------------------------------------------------------------------
def _activation_name(module: Module) -> str:
    return str(getattr(module, "name", None) or type(module).__name__)


def plot_activation(
    module: Module | Sequence[Module], x_range: tuple[float, float] = (-5.0, 5.0), *, n: int = 401
) -> Figure:
    """An activation ``f`` and its derivative ``f'`` — ``f'`` read from the module's own backward
    pass on an upstream gradient of ones, so the figure shows what training uses.

    Pass a list of modules to draw them side by side.
    """
    modules = list(module) if isinstance(module, (list, tuple)) else [module]
    if not modules or not all(isinstance(m, Module) for m in modules):
        raise DTypeError(f"plot_activation needs activation Modules such as ns.Tanh(). Received: {module!r}")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise HyperparameterError(
            f"x_range must be (low, high) with low < high. Received: x_range={x_range!r}"
        )
    z = np.linspace(lo, hi, n).reshape(-1, 1)
    fig, axes = _figure(1, len(modules), (4.4 * len(modules), 3.4))
    for ax, m in zip(axes[0], modules, strict=True):
        a = m.forward(z.astype(m.dtype or np.float64))
        da = m.backward(np.ones_like(a))
        ax.plot(z[:, 0], a[:, 0], label="f(z)", color="C0")
        ax.plot(z[:, 0], da[:, 0], label="f'(z)  (backward of ones)", color="C1", linestyle="--")
        ax.axhline(0, color="0.6", linewidth=0.8)
        ax.axvline(0, color="0.6", linewidth=0.8)
        ax.set_xlabel("z")
        ax.set_title(_activation_name(m))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    return fig


# -- network diagram ------------------------------------------------------------------------------
def _flatten(model: Module) -> list[Module]:
    if isinstance(model, Sequential):
        return [leaf for layer in model for leaf in _flatten(layer)]
    return [model]


def network_layers(model: Module) -> list[tuple[int, str]]:
    """``[(width, caption), ...]`` for the input and each Linear layer's output, the caption naming
    the activation that follows it (e.g. ``[(2, "input"), (3, "tanh"), (1, "sigmoid")]``)."""
    layers: list[tuple[int, str]] = []
    for m in _flatten(model):
        if isinstance(m, Linear):
            if not layers:
                layers.append((m.in_features, "input"))
            elif layers[-1][0] != m.in_features:
                raise ShapeError(
                    f"{m!r} takes {m.in_features} inputs but the layer before has {layers[-1][0]}."
                )
            layers.append((m.out_features, "linear"))
        elif not m.parameters() and layers:
            name = _activation_name(m).lower()
            width, caption = layers[-1]
            layers[-1] = (width, name if caption == "linear" else f"{caption}+{name}")
        else:
            raise DTypeError(
                "plot_network draws a Sequential of Linear layers and activations. "
                f"Received a {type(m).__name__} in {type(model).__name__}."
            )
    if not layers:
        raise DTypeError(f"plot_network needs at least one Linear layer. Received: {model!r}")
    return layers


def plot_network(model: Module, *, max_nodes: int = 10, title: str | None = None) -> Figure:
    """A diagram of a fully connected network: one column of nodes per layer, every connection
    drawn (blue positive, red negative weights, width by magnitude), activations captioned.

    Layers wider than ``max_nodes`` show their first and last nodes with a "⋮" between.
    """
    layers = network_layers(model)
    linears = [m for m in _flatten(model) if isinstance(m, Linear)]
    fig, axes = _figure(size=(max(4.0, 1.9 * len(layers)), 4.2))
    ax = axes[0, 0]
    shown: list[list[tuple[int, float]]] = []  # per layer: (node index, y position)
    gaps: list[float] = []  # per layer: where the ellipsis of a truncated layer goes
    half = (max(max_nodes, 3) - 1) // 2
    for width, _ in layers:
        if width <= max_nodes:
            idx = list(range(width))
        else:
            idx = list(range(half)) + list(range(width - (max_nodes - 1 - half), width))
        ys = np.linspace(1, 0, len(idx) + (width > max_nodes)) if len(idx) > 1 else np.array([0.5])
        gap = 0.5
        if width > max_nodes:  # leave a slot between the first and last nodes for the ellipsis
            gap = float(ys[half])
            ys = np.delete(ys, half)
        shown.append(list(zip(idx, ys, strict=True)))
        gaps.append(gap)
    wmax = max(float(np.abs(lin.weight.data).max()) for lin in linears) or 1.0
    for li, lin in enumerate(linears):
        segments, colours, widths = [], [], []
        for j, yj in shown[li + 1]:
            for i, yi in shown[li]:
                w = float(lin.weight.data[j, i])
                segments.append([(li, yi), (li + 1, yj)])
                colours.append("C0" if w >= 0 else "C3")
                widths.append(0.3 + 2.2 * abs(w) / wmax)
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=widths, alpha=0.55, zorder=1))
    for li, ((width, caption), nodes) in enumerate(zip(layers, shown, strict=True)):
        ax.scatter([li] * len(nodes), [y for _, y in nodes], s=260, c="white", edgecolors="k", zorder=2)
        if width > max_nodes:
            ax.text(li, gaps[li], "⋮", ha="center", va="center", fontsize=16, zorder=3)
        role = "input" if li == 0 else ("output" if li == len(layers) - 1 else f"hidden {li}")
        label = f"{role} ({width})" + ("" if caption in ("input", "linear") else f"\n{caption}")
        ax.text(li, -0.16, label, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, len(layers) - 0.5)
    ax.set_ylim(-0.42, 1.12)
    ax.axis("off")
    arch = "-".join(str(w) for w, _ in layers)
    ax.set_title(title or f"Network {arch} ({model.num_parameters()} parameters)")
    return fig


__all__ = [
    "network_layers",
    "plot_activation",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_history",
    "plot_network",
    "plot_sweep",
    "save_figure",
]
