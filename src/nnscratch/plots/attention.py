"""Attention weights as heat maps, one panel per head, and the weights of every attention layer of
a model on one sample."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PatchCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.layers.attention import MultiheadAttention
from nnscratch.engine.module import Module

from ._canvas import _figure, legend_below

#: Colour of a masked cell (weight exactly 0: softmax gives exp(−∞) = 0 only where a mask put −∞),
#: hatched, so it never reads as the colour map's smallest weight.
MASKED = "0.85"


def _as_heads(weights: Any) -> np.ndarray:
    """(T_q, T_k), (H, T_q, T_k) or (N, H, T_q, T_k) -> (H, T_q, T_k), the first sample of a batch."""
    w = as_array(weights, "weights", np.dtype(np.float64))
    if w.ndim == 4 and w.shape[0] > 0:
        w = w[0]
    elif w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or 0 in w.shape:
        raise ShapeError(
            "weights must be attention weights of shape (T_q, T_k), (H, T_q, T_k) or "
            f"(N, H, T_q, T_k), none of them empty. Received: {describe(w)}"
        )
    return w


def _labels(labels: Sequence[Any] | None, n: int, name: str, axis: str) -> list[str] | None:
    if labels is None:
        return None
    names = [str(v) for v in labels]
    if len(names) != n:
        raise ShapeError(f"{name} must name each of the {n} {axis} positions. Received: {len(names)} labels")
    return names


def _head_list(heads: int | Sequence[int] | None, n_heads: int) -> list[int]:
    if heads is None:
        chosen: list[Any] = list(range(n_heads))
    else:
        chosen = list(heads) if isinstance(heads, (list, tuple, range, np.ndarray)) else [heads]
    whole = [isinstance(h, (int, np.integer)) and not isinstance(h, bool) for h in chosen]
    bad = [h for h, ok in zip(chosen, whole, strict=True) if not ok or not 0 <= h < n_heads]
    if not chosen or bad:
        raise HyperparameterError(
            f"heads must be head indices in 0..{n_heads - 1} (the weights hold {n_heads} heads). "
            f"Received: heads={heads!r}"
        )
    return [int(h) for h in chosen]


def _axes_for(ax: Axes | Sequence[Axes] | None, n: int, t_q: int, t_k: int) -> tuple[Figure, list[Axes]]:
    """The panels to draw on: ``ax`` (one per head shown), or a new figure's grid of them."""
    if ax is not None:
        panels = [ax] if isinstance(ax, Axes) else list(ax)
        if len(panels) != n or not all(isinstance(a, Axes) for a in panels):
            raise HyperparameterError(
                f"ax must be one matplotlib Axes per head shown ({n}). Received: {len(panels)} "
                f"of {sorted({type(a).__name__ for a in panels})}"
            )
        return panels[0].figure, panels
    ncols = min(n, 4)
    nrows = math.ceil(n / ncols)
    cell = min(0.32, 3.6 / max(t_q, t_k))  # inches per token: big panels for short sequences
    side_w, side_h = max(2.6, cell * t_k + 1.2), max(2.4, cell * t_q + 1.0)
    fig, grid = _figure(nrows, ncols, (ncols * side_w + 1.0, nrows * side_h + 0.4))
    panels = list(grid.ravel())
    for spare in panels[n:]:  # a grid wider than the heads left over
        spare.set_axis_off()
    return fig, panels[:n]


def plot_attention(
    weights: Any,
    *,
    query_labels: Sequence[Any] | None = None,
    key_labels: Sequence[Any] | None = None,
    heads: int | Sequence[int] | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    title: str | None = None,
) -> Figure:
    """Heat maps of attention weights: row t is what query position t attends to, one panel per head.

    Parameters
    ----------
    weights : array, shape (T_q, T_k), (H, T_q, T_k) or (N, H, T_q, T_k)
        Attention weights, e.g. :class:`~nnscratch.MultiheadAttention`'s ``attn_weights`` after a
        forward pass; of a batch only the first sample is drawn.
    query_labels, key_labels : sequence, optional
        The tokens at the query positions (rows, y axis) and key positions (columns, x axis);
        positions are numbered 0, 1, ... without them.
    heads : int or sequence of int, optional
        The heads to draw (0-based); all of them by default.
    ax : Axes or sequence of Axes, optional
        Draw on these panels, one per head drawn, instead of a new figure.
    title : str, optional
        Put before each panel's "head h" (e.g. the layer's name).

    Returns
    -------
    Figure
        One panel per head sharing one colour scale (0 to the largest weight shown) and one colour
        bar; a weight of exactly 0 (a masked position) is a hatched grey cell, named in a legend
        under the panels of a new figure.
    """
    w = _as_heads(weights)
    n_heads, t_q, t_k = w.shape
    chosen = _head_list(heads, n_heads)
    rows = _labels(query_labels, t_q, "query_labels", "query")
    cols = _labels(key_labels, t_k, "key_labels", "key")
    fig, panels = _axes_for(ax, len(chosen), t_q, t_k)
    top = float(w[chosen].max()) or 1.0
    image = None
    for panel, h in zip(panels, chosen, strict=True):
        shown = np.ma.masked_equal(w[h], 0.0)
        image = panel.imshow(shown, cmap="viridis", vmin=0.0, vmax=top, interpolation="nearest")
        _hatch_masked(panel, np.argwhere(np.ma.getmaskarray(shown)))
        _ticks(panel, rows, cols)
        panel.set_xlabel("key position (attended to)")
        panel.set_ylabel("query position")
        panel.set_title(f"{title}, head {h + 1}" if title else f"head {h + 1}", fontsize="medium")
    fig.colorbar(image, ax=panels, shrink=0.9).set_label("attention weight")
    if np.any(w[chosen] == 0) and ax is None:  # say what the hatching means, under the panels
        key = Patch(facecolor=MASKED, edgecolor="0.6", hatch="//", label="weight 0 (a masked position)")
        legend_below(fig, [key], [key.get_label()], fontsize="small")
    return fig


def plot_attention_maps(maps: Mapping[str, Any], *, title: str | None = None) -> Figure:
    """Every attention layer of a model at once: one row of panels per layer, one panel per head.

    ``maps`` holds each layer's weights by name, as :func:`attention_maps` returns them; each row
    has its own colour bar, and the panels are titled with the layer's name and head.
    """
    if not maps:
        raise HyperparameterError("maps must hold the weights of at least one attention layer. Received: {}")
    weights = {name: _as_heads(w) for name, w in maps.items()}
    width = max(w.shape[0] for w in weights.values())
    longest = max(max(w.shape[1:]) for w in weights.values())
    cell = min(0.32, 3.6 / longest)
    side = max(2.6, cell * longest + 1.2)
    fig, grid = _figure(len(weights), width, (width * side + 1.0, len(weights) * side + 0.6))
    for row, (name, w) in zip(grid, weights.items(), strict=True):
        plot_attention(w, ax=list(row[: w.shape[0]]), title=name or "attention")  # "": the model is the layer
        for spare in row[w.shape[0] :]:
            spare.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def _hatch_masked(ax: Axes, cells: np.ndarray) -> None:
    if len(cells):
        boxes = [Rectangle((j - 0.5, i - 0.5), 1.0, 1.0) for i, j in cells]
        ax.add_collection(PatchCollection(boxes, facecolor=MASKED, edgecolor="0.6", hatch="//", linewidth=0))


def _ticks(ax: Axes, rows: list[str] | None, cols: list[str] | None) -> None:
    for labels, axis in ((cols, ax.xaxis), (rows, ax.yaxis)):
        if labels is None:
            axis.set_major_locator(MaxNLocator(integer=True))
        else:
            axis.set_ticks(range(len(labels)), labels)
    if cols is not None and max(map(len, cols), default=0) > 2:
        ax.tick_params(axis="x", labelrotation=90)


def _attention_layers(module: Module, prefix: str = "") -> Iterator[tuple[str, MultiheadAttention]]:
    """Every MultiheadAttention inside ``module`` by its dotted name, depth first (state_dict order)."""
    if isinstance(module, MultiheadAttention):
        yield prefix.rstrip("."), module
        return
    for name, child in module.named_children():
        yield from _attention_layers(child, f"{prefix}{name}.")


def attention_maps(model: Module, x: Any) -> dict[str, np.ndarray]:
    """The attention weights of each :class:`~nnscratch.MultiheadAttention` in ``model`` on one sample.

    Runs ``model`` in eval mode (no dropout) on the first sample ``x[:1]`` of a batch ``x`` shaped
    as the model takes it, then restores each module's mode. Returns the weights, shape
    (1, H, T, T), by the layer's dotted name as in ``state_dict`` (e.g. ``"1.self_attn"`` for
    the attention of a TransformerEncoderLayer at place 1 of a Sequential), in the order the layers
    sit in the model; an attention layer the forward pass does not reach is left out, and a model
    without attention gives ``{}``.
    """
    layers = list(_attention_layers(model))
    if not layers:
        return {}
    batch = np.asarray(x)
    if batch.ndim == 0 or len(batch) == 0:
        raise ShapeError(f"x must be a batch holding at least one sample. Received: {describe(batch)}")
    modes = [(m, m.training) for m in model.modules()]
    for _, layer in layers:
        layer.attn_weights = None  # so a layer this pass does not reach shows nothing stale
    model.eval()
    try:
        model(batch[:1])
    finally:
        for m, mode in modes:
            m.training = mode
    return {name: layer.attn_weights.copy() for name, layer in layers if layer.attn_weights is not None}


__all__ = ["attention_maps", "plot_attention", "plot_attention_maps"]
