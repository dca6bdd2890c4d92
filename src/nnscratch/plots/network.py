"""Activation functions beside their derivatives, and diagrams of fully connected networks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from nnscratch.base.errors import DTypeError, HyperparameterError, ShapeError
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.module import Module

from ._canvas import _figure


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


#: Node fills: inputs grey, no activation white, each activation its own light colour.
_NODE_FILLS = ("#a6cee3", "#fdbf6f", "#b2df8a", "#cab2d6", "#fb9a99", "#ffff99", "#8dd3c7", "#bebada")
_NODE_NAMES = {"input": "input features", "linear": "no activation (linear)"}


def _node_colours(captions: Sequence[str]) -> dict[str, str]:
    """Caption -> fill colour, in the order the layers use them."""
    fills: dict[str, str] = {}
    for caption in captions:
        if caption not in fills:
            palette = iter(c for c in _NODE_FILLS if c not in fills.values())
            fills[caption] = {"input": "0.82", "linear": "white"}.get(caption) or next(palette, "white")
    return fills


def plot_network(model: Module, *, max_nodes: int = 10, title: str | None = None) -> Figure:
    """A diagram of a fully connected network: one column of nodes per layer, every connection
    drawn (blue positive, red negative weights, width by magnitude), activations captioned.

    Nodes are coloured by what they compute — grey inputs, one colour per activation, white for
    a layer without one — and a legend beside the diagram says which colour is which.
    Layers wider than ``max_nodes`` show their first and last nodes with a "⋮" between.
    """
    layers = network_layers(model)
    linears = [m for m in _flatten(model) if isinstance(m, Linear)]
    fills = _node_colours([caption for _, caption in layers])
    fig, axes = _figure(size=(max(4.0, 1.9 * len(layers)) + 2.2, 4.2))
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
        ax.scatter(
            [li] * len(nodes), [y for _, y in nodes], s=260, c=fills[caption], edgecolors="k", zorder=2
        )
        if width > max_nodes:
            ax.text(li, gaps[li], "⋮", ha="center", va="center", fontsize=16, zorder=3)
        role = "input" if li == 0 else ("output" if li == len(layers) - 1 else f"hidden {li}")
        label = f"{role} ({width})" + ("" if caption in ("input", "linear") else f"\n{caption}")
        ax.text(li, -0.16, label, ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.5, len(layers) - 0.5)
    ax.set_ylim(-0.42, 1.12)
    ax.axis("off")
    handles = [
        Line2D(
            [], [], marker="o", markersize=10, linestyle="none", markerfacecolor=colour, markeredgecolor="k"
        )
        for colour in fills.values()
    ]
    labels = [_NODE_NAMES.get(caption, f"{caption} units") for caption in fills]
    handles += [Line2D([], [], color="C0", linewidth=2), Line2D([], [], color="C3", linewidth=2)]
    labels += ["positive weight", "negative weight\n(width: |weight|)"]
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize="small",
        title="colours",
        frameon=False,
    )
    arch = "-".join(str(w) for w, _ in layers)
    ax.set_title(title or f"Network {arch} ({model.num_parameters()} parameters)")
    return fig


__all__ = ["network_layers", "plot_activation", "plot_network"]
