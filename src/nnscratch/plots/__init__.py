"""Figures for experiments: learning curves, datasets, decision boundaries, confusion matrices,
sweeps, activation functions with their derivatives, network diagrams and attention weights.

Every function returns a :class:`matplotlib.figure.Figure` drawn on its own Agg canvas — no
``pyplot`` state, no ``plt.show()``, so it works headless, in threads and in reports; in Jupyter
the returned figure displays itself. ``save_figure(fig, "curve.png")`` writes it to disk.

The figures share a few habits meant for students reading them: legends sit outside the data,
epoch axes have whole-number ticks, held-out curves share the training curve's panel, and every
series has its own colour, marker and line style so equal results stay visible.
"""

from __future__ import annotations

from ._canvas import _figure, save_figure
from .attention import attention_maps, plot_attention, plot_attention_maps
from .confusion import plot_confusion_matrix
from .curves import plot_history, plot_runs
from .network import network_layers, plot_activation, plot_network
from .regions import plot_dataset, plot_decision_boundary
from .sweep import plot_sweep

__all__ = [
    "_figure",
    "attention_maps",
    "network_layers",
    "plot_activation",
    "plot_attention",
    "plot_attention_maps",
    "plot_confusion_matrix",
    "plot_dataset",
    "plot_decision_boundary",
    "plot_history",
    "plot_network",
    "plot_runs",
    "plot_sweep",
    "save_figure",
]
