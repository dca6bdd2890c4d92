"""Reusable internal buffers of a layer (its *workspace*).

A recurrent layer's time loop fills large internal arrays (gate activations, cell states, their
gradients) that live from forward to backward; so do Conv2d's im2col columns and MaxPool2d's
gathered window blocks.
Allocated afresh on every step, such arrays often come back from the operating system as new
pages, each faulted in on first touch; kept in a dict and handed out again on the next call with
the same shape and dtype, they fault once. Only internal buffers go there: never an array returned
to the caller (an output or an input gradient), which the caller may keep.

Short-lived temporaries (those freed within the same forward or backward call) are allocated
afresh: the allocator then hands the memory one layer just freed (still in cache) to the next.
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
