"""Sweep results: a metric against a hyperparameter, one series per value of a second key and,
optionally, one panel per value of a third (say one per dataset)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nnscratch.base.errors import DataError

from ._canvas import LINESTYLES, MARKERS, _figure


def _key(value: Any) -> Any:
    """A hashable stand-in for a sweep value (lists such as hidden sizes become tuples)."""
    if isinstance(value, list):
        return tuple(_key(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _key(v)) for k, v in value.items()))
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    return str(list(value) if isinstance(value, tuple) else value)


def plot_sweep(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    hue: str | None = None,
    *,
    facet: str | None = None,
    title: str | None = None,
    logx: bool | str = "auto",
) -> Figure:
    """A metric ``y`` against a hyperparameter ``x``: one series per value of ``hue``, one panel
    per value of ``facet``.

    ``rows`` are flat dicts (one per run, e.g. ``{"lr": 0.1, "epochs": 100, "accuracy": 0.93}``).
    Rows sharing ``(facet, hue, x)`` — the folds or repeat seeds of one setting — are averaged and
    their standard deviation drawn as error bars.

    Every series has its own colour, hollow marker and line style, so two series with equal
    numbers stay visible on top of each other. A numeric ``x`` is drawn as lines (a log axis
    when ``logx="auto"`` and the positive values span two decades or more); a non-numeric ``x``
    (architectures, optimizer or dataset names) as points without connecting lines, in order of
    first appearance, the series side by side at each value. Panels share their y axis.
    """
    if not rows:
        raise DataError("plot_sweep needs at least one row.")
    wanted = [k for k in (x, y, hue, facet) if k]
    for i, row in enumerate(rows):
        for key in wanted:
            if key not in row:
                raise DataError(f"plot_sweep: row {i} has no {key!r}. Its keys: {', '.join(map(str, row))}.")
    groups: dict[tuple[Any, Any], dict[Any, list[float]]] = {}
    x_values: dict[Any, Any] = {}
    facets: dict[Any, None] = {}
    hues: dict[Any, None] = {}
    for row in rows:
        f = _key(row[facet]) if facet else None
        g = _key(row[hue]) if hue else None
        xv = _key(row[x])
        x_values.setdefault(xv, row[x])
        facets.setdefault(f)
        hues.setdefault(g)
        groups.setdefault((f, g), {}).setdefault(xv, []).append(float(row[y]))
    numeric = all(_is_number(v) for v in x_values)
    order = sorted(x_values) if numeric else list(x_values)
    position = {v: (float(v) if numeric else float(i)) for i, v in enumerate(order)}
    use_log = logx
    if logx == "auto":
        use_log = numeric and min(order) > 0 and max(order) / min(order) >= 100
    n_series = len(hues)
    step = 0.0 if numeric else min(0.6 / n_series, 0.15)  # categorical: series side by side
    ncols = min(len(facets), 3)
    nrows = math.ceil(len(facets) / ncols)
    fig, axes = _figure(nrows, ncols, (4.6 * ncols + (1.6 if hue else 0.0), 3.8 * nrows), sharey=True)
    handles: dict[Any, Any] = {}
    for n, f in enumerate(facets):
        ax = axes.flat[n]
        for i, g in enumerate(hues):
            points = groups.get((f, g))
            if not points:
                continue
            xs = [v for v in order if v in points]
            means = np.array([np.mean(points[v]) for v in xs])
            spread = np.array([np.std(points[v]) for v in xs])
            shift = (i - (n_series - 1) / 2) * step
            drawn = ax.errorbar(
                [position[v] + shift for v in xs],
                means,
                yerr=spread if spread.any() else None,
                marker=MARKERS[i % len(MARKERS)],
                markersize=max(4.5, 9.0 - 1.5 * i),  # later series sit inside earlier ones
                markerfacecolor="none",
                markeredgewidth=1.5,
                linestyle=LINESTYLES[i % len(LINESTYLES)] if numeric else "none",
                capsize=3,
                color=f"C{i % 10}",
                label=None if hue is None else f"{hue}={_shown(g)}",
            )
            handles.setdefault(g, drawn)
        if not numeric:
            ax.set_xticks(
                range(len(order)), [_shown(x_values[v]) for v in order], rotation=30 if len(order) > 4 else 0
            )
            ax.set_xlim(-0.5, len(order) - 0.5)
        if use_log and numeric:
            ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.grid(alpha=0.3)
        if facet:
            ax.set_title(f"{facet} = {_shown(f)}")
    for ax in list(axes.flat[len(facets) :]):
        ax.remove()
    if hue is not None:
        fig.legend(
            list(handles.values()),
            [f"{hue}={_shown(g)}" for g in handles],
            loc="outside right upper",
            fontsize="small",
        )
    if facet:
        fig.suptitle(title or f"{y} vs {x}, one panel per {facet}")
    else:
        axes[0, 0].set_title(title or f"{y} vs {x}")
    return fig


__all__ = ["plot_sweep"]
