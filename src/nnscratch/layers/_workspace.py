"""Reusable internal buffers of a layer (its *workspace*).

Large arrays allocated afresh on every training step come back from the operating system as new
pages, and their page faults are a visible part of a small network's step (about a fifth of an
RNN's, a tenth of a small CNN's). A layer keeps the buffers that never leave it — im2col columns,
pooling masks, recurrent gate activations — in a dict and gets the same ones back on the next
call with the same shape and dtype. Only internal buffers go there: never an array returned to
the caller (an output or an input gradient), which the caller may keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Workspace = dict[str, np.ndarray] | None


def workspace(module: Any, key: Any = None) -> dict[str, np.ndarray]:
    """The workspace of ``module`` (one per ``key``, e.g. per stacked recurrent layer), created on
    first use; kept out of ``__init__`` so modules saved before workspaces existed still run."""
    spaces = module.__dict__.setdefault("_workspaces", {})
    return spaces.setdefault(key, {})


def scratch(ws: Workspace, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised array, kept in ``ws`` and handed out again on the next call with the same
    shape and dtype (``ws=None``: a new array every time)."""
    dtype = np.dtype(dtype)
    if ws is None:
        return np.empty(shape, dtype=dtype)
    buf = ws.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = ws[name] = np.empty(shape, dtype=dtype)
    return buf


def scratch_like_layout(
    ws: Workspace, name: str, ref: np.ndarray, shape: tuple[int, ...], dtype: Any = None
) -> np.ndarray:
    """:func:`scratch` whose axes lie in memory in the order of ``ref``'s (see
    ``_im2col.empty_like_layout``): element-wise passes against ``ref`` then run over matching
    strides."""
    order = tuple(sorted(range(ref.ndim), key=lambda a: -abs(ref.strides[a])))  # outermost first
    buf = scratch(ws, f"{name}{order}", tuple(shape[a] for a in order), ref.dtype if dtype is None else dtype)
    return buf.transpose(np.argsort(order))
