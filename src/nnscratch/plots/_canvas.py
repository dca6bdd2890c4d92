"""The canvas every figure is drawn on, the file writer, and the conventions the figures share:
legends outside the data, whole-number epoch ticks, one marker and line style per series."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from nnscratch.base.errors import DTypeError
from nnscratch.base.files import atomic_open

#: Marker shapes, one per series: hollow and distinct, so curves drawn on top of each other
#: (two settings that gave the same numbers) stay visible as overlapping shapes.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
#: Line styles, one per series, for the same reason.
LINESTYLES = ("-", "--", ":", "-.")


class _Figure(Figure):
    """A Figure that shows itself as a PNG in Jupyter even when pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def _figure(
    nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.0, 4.0), **subplots: Any
) -> tuple[Figure, Any]:
    fig = _Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)  # attach a headless canvas: savefig never touches a GUI backend
    return fig, fig.subplots(nrows, ncols, squeeze=False, **subplots)


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


def integer_epochs(ax: Axes) -> None:
    """Label the x axis "epoch" with whole-number ticks only (no "epoch 2.5")."""
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def legend_right(ax: Axes, **kwargs: Any) -> Any:
    """A legend beside ``ax``, outside its data area (constrained layout makes room for it)."""
    if not ax.get_legend_handles_labels()[0]:
        return None
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)


def legend_below(fig: Figure, handles: list[Any], labels: list[str], **kwargs: Any) -> Any:
    """One legend for the whole figure, under its panels."""
    if not handles:
        return None
    ncols = kwargs.pop("ncols", min(len(handles), 4))
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, **kwargs)


def markevery(n_points: int, markers: int = 12) -> int:
    """Every how many points to draw a marker, so a long curve carries about ``markers`` of them."""
    return max(1, n_points // markers)


__all__ = [
    "LINESTYLES",
    "MARKERS",
    "integer_epochs",
    "legend_below",
    "legend_right",
    "markevery",
    "save_figure",
]
