"""Learning curves: each metric per epoch on the training data and on the held-out data, in one
panel, so a student sees over- and under-fitting at a glance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from nnscratch.base.errors import HyperparameterError

from ._canvas import MARKERS, _figure, integer_epochs, legend_below, markevery

#: The parts a history records a metric on: (key prefix, name in the legend, colour, line, marker).
SPLITS = (
    ("", "train", "C0", "-", "o"),
    ("val_", "validation", "C1", "--", "s"),
    ("test_", "test", "C2", ":", "^"),
)
_PREFIXES = tuple(prefix for prefix, *_ in SPLITS if prefix)


def _base_metric(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def _divisors(per_sample: Mapping[str, int] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, n in (per_sample or {}).items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise HyperparameterError(
                f"per_sample maps a history key to its number of samples, a positive int. "
                f"Received: per_sample[{key!r}]={n!r}"
            )
        out[str(key)] = n
    return out


def plot_history(
    history: Any,
    metrics: Sequence[str] | str = ("loss",),
    *,
    title: str | None = None,
    logy: bool = False,
    per_sample: Mapping[str, int] | None = None,
) -> Figure:
    """One panel per metric, each holding the training curve and every held-out curve recorded:
    validation (``val_<metric>``) and test (``test_<metric>``).

    ``history`` is a :class:`~nnscratch.engine.history.History` or its ``to_dict()``.

    Parameters
    ----------
    metrics : str or sequence of str
        Metric names without a prefix (``"loss"``, ``"accuracy"``).
    per_sample : mapping of str to int, optional
        For losses with ``reduction="sum"``, which grow with the number of samples: the number of
        samples each series was summed over, e.g. ``{"loss": 160, "val_loss": 40}``. Those
        series are divided by it, so train and held-out curves share a scale; the axis says
        "per sample". Every series of a panel must be listed, or none.
    """
    data = history.to_dict() if hasattr(history, "to_dict") else dict(history)
    names = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    recorded = [k for k in data if k != "epoch"]
    for m in names:
        if not any(prefix + m in data for prefix, *_ in SPLITS):
            raise HyperparameterError(
                f"the history has no {m!r}. Recorded: {', '.join(recorded)}. Received: metrics={names!r}"
            )
    if not names:
        names = tuple(dict.fromkeys(_base_metric(k) for k in recorded))[:1]
    divisors = _divisors(per_sample)
    fig, axes = _figure(1, len(names), (4.8 * len(names), 3.9))
    epochs = data.get("epoch") or list(range(1, len(next(iter(data.values()), [])) + 1))
    legend: dict[str, Any] = {}  # split name -> a line drawn in its style
    for ax, m in zip(axes[0], names, strict=True):
        keys = [(prefix + m, name, colour, style, marker) for prefix, name, colour, style, marker in SPLITS]
        keys = [k for k in keys if k[0] in data]
        scaled = [k for k, *_ in keys if k in divisors]
        if scaled and len(scaled) != len(keys):
            missing = [k for k, *_ in keys if k not in divisors]
            raise HyperparameterError(
                f"per_sample must give the number of samples of every {m!r} series, so they share "
                f"a scale. Missing: {', '.join(missing)}. Received: per_sample={dict(divisors)!r}"
            )
        for key, split, colour, style, marker in keys:
            values = [float(v) / divisors.get(key, 1) for v in data[key]]
            (line,) = ax.plot(
                epochs[: len(values)],
                values,
                label=f"{split} {m}",
                color=colour,
                linestyle=style,
                marker=marker,
                markersize=5,
                markerfacecolor="none",
                markevery=markevery(len(values)),
            )
            legend.setdefault(split, line)
        integer_epochs(ax)
        ax.set_ylabel(f"{m} per sample" if scaled else m)
        if logy and m.endswith("loss"):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        if len(names) > 1:
            ax.set_title(m)
    order = [name for _, name, *_ in SPLITS if name in legend]
    legend_below(fig, [legend[s] for s in order], order)
    fig.suptitle(title or "Learning curves")
    return fig


def plot_runs(
    histories: Sequence[tuple[str, Mapping[str, Sequence[float]]]],
    metric: str = "loss",
    *,
    title: str | None = None,
    per_sample: Sequence[Mapping[str, int] | None] | None = None,
) -> Figure:
    """The learning curves of several runs (folds, sweep settings) in one panel: one colour and
    marker per run, its held-out curves in the same colour, dashed (validation) or dotted (test).

    Parameters
    ----------
    histories : sequence of (label, history dict)
    metric : str
        The metric drawn, without a prefix.
    per_sample : sequence of mappings, optional
        One per run, as in :func:`plot_history`: the runs given one are drawn per sample.
    """
    if not histories:
        raise HyperparameterError("plot_runs needs at least one (label, history) pair.")
    divisors = [_divisors(c) for c in per_sample] if per_sample is not None else [{}] * len(histories)
    if len(divisors) != len(histories):
        raise HyperparameterError(
            f"per_sample needs one mapping per run ({len(histories)}). Received: {len(divisors)}"
        )
    fig, axes = _figure(size=(7.4, 4.2))
    ax = axes[0, 0]
    handles, labels, styles, values = [], [], {}, []
    for i, ((label, h), counts) in enumerate(zip(histories, divisors, strict=True)):
        first = None
        for prefix, split, _, style, _ in SPLITS:
            if prefix + metric not in h:
                continue
            ys = [float(v) / counts.get(prefix + metric, 1) for v in h[prefix + metric]]
            epochs = list(h.get("epoch") or range(1, len(ys) + 1))
            (line,) = ax.plot(
                epochs[: len(ys)],
                ys,
                color=f"C{i % 10}",
                linestyle=style,
                marker=MARKERS[i % len(MARKERS)],
                markersize=5,
                markerfacecolor="none",
                markevery=markevery(len(ys), 8),
            )
            first = first or line
            styles.setdefault(split, style)
            values += ys
        if first is None:
            raise HyperparameterError(f"the history of {label!r} has no {metric!r}. Recorded: {', '.join(h)}")
        handles.append(first)
        labels.append(label)
    finite = np.asarray(values)[np.isfinite(values)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    integer_epochs(ax)
    ax.set_ylabel(f"{metric} per sample" if any(divisors) else metric)
    ax.grid(alpha=0.3)
    if len(styles) > 1:  # which line style is which part of the data
        handles += [Line2D([], [], color="0.3", linestyle=style) for style in styles.values()]
        labels += list(styles)
    fig.legend(handles, labels, loc="outside right upper", fontsize="small")
    fig.suptitle(title or f"{metric} per epoch")
    return fig


__all__ = ["SPLITS", "plot_history", "plot_runs"]
