"""Side-by-side storage for small parameters, so that an optimizer can update many at once.

A small floating-point parameter (at most :data:`ARENA_MAX` elements) gets its ``data`` and its
``grad`` as segments of two shared 1-D buffers, a *slab*: the same offset in a data buffer and in a
gradient buffer. The segments are handed out in creation order and never move, so the parameters
of a model built layer after layer lie end to end, and an optimizer can take one flat view over
all of them (:mod:`nnscratch.engine.optim.flat`) without copying or re-pointing anything.

Larger parameters, where one more NumPy call per update does not matter, get arrays of their
own. A slab is freed when the last parameter using it is.
"""

from __future__ import annotations

import threading

import numpy as np

#: Largest parameter (elements) stored in a slab.
ARENA_MAX = 1 << 14
#: Elements per slab (so at least four of the largest slab parameters fit in one).
SLAB_SIZE = 1 << 16


class _Slab:
    """A data buffer and a gradient buffer of one dtype, filled front to back."""

    __slots__ = ("data", "grad", "used")

    def __init__(self, dtype: np.dtype) -> None:
        self.data = np.empty(SLAB_SIZE, dtype=dtype)
        self.grad = np.zeros(SLAB_SIZE, dtype=dtype)
        self.used = 0


_lock = threading.Lock()  # parameters may be created in several threads at once
_open: dict[np.dtype, _Slab] = {}  # the slab new parameters of each dtype go into


def allocate(value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(data, grad)`` for a new parameter: ``data`` holds ``value``, ``grad`` holds zeros.

    Small float parameters get segments of the open slab of their dtype (a copy of ``value``);
    others keep ``value`` itself when it is C-contiguous (as ``np.ascontiguousarray`` does) and
    get a gradient array of their own.
    """
    n = value.size
    if value.dtype.kind != "f" or not 0 < n <= ARENA_MAX:
        return value, np.zeros_like(value)
    with _lock:
        slab = _open.get(value.dtype)
        if slab is None or slab.used + n > SLAB_SIZE:
            slab = _open[value.dtype] = _Slab(value.dtype)
        start = slab.used
        slab.used += n
    data = slab.data[start : start + n].reshape(value.shape)
    np.copyto(data, value)
    return data, slab.grad[start : start + n].reshape(value.shape)
