"""Trainable parameters: a value and the gradient accumulated into it."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import numpy as np

from . import arena

_REBINDS = itertools.count(1)


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    data : ndarray
        The current value. Optimizers and ``load_state_dict`` update it in place, so ``data`` is
        the same array for the parameter's whole life: a reference taken at any time stays the
        parameter's value, as with a PyTorch parameter. (Only a change of dtype,
        :meth:`astype`, gives a parameter new arrays.)
    grad : ndarray
        dL/d(data), same shape and dtype as ``data``, and likewise always the same array.
        Backward passes *add* into it (``+=``), so gradients from several uses or several batches
        accumulate until :meth:`zero_grad` fills it with zeros.

    Small parameters (see :mod:`nnscratch.engine.arena`) keep ``data`` and ``grad`` as segments of
    buffers shared with the parameters created just before and after them, which lets an
    optimizer update them all with one NumPy call per operation. Both are still ordinary,
    C-contiguous arrays of the parameter's shape. (So ``Parameter(value)`` copies a small
    ``value``; a larger C-contiguous one becomes ``data`` as it is.)

    Assigning a new array to ``data`` or ``grad`` is allowed (optimizers notice it and update the
    new array), but in-place updates (``p.data[...] = value``) are the usual way.
    """

    __slots__ = ("data", "grad")

    #: Takes a new value whenever any parameter's ``data`` or ``grad`` is assigned a new array; an
    #: optimizer compares it with the value it last saw to know whether its flat views still hold.
    rebinds = 0

    def __init__(self, data: Any) -> None:
        value, grad = arena.allocate(np.ascontiguousarray(data))
        object.__setattr__(self, "data", value)  # a new parameter is in no optimizer's plan yet
        object.__setattr__(self, "grad", grad)

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, name, None) is not value:  # ``p.grad += x`` assigns grad to itself
            Parameter.rebinds = next(_REBINDS)  # never a value seen before, even across threads
        object.__setattr__(self, name, value)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        """Set the accumulated gradient to zero, in place."""
        self.grad.fill(0)

    # -- what a backward pass adds ------------------------------------------------------------
    def accumulate(self, value: np.ndarray) -> None:
        """``grad += value``; ``value`` may have another shape with as many elements (read in C
        order), e.g. a convolution kernel's gradient computed as a (C_out, C_in·kh·kw) matrix."""
        grad = self.grad
        grad += value if value.shape == grad.shape else value.reshape(grad.shape)

    def accumulate_product(self, a: np.ndarray, b: np.ndarray) -> None:
        """``grad += a @ b`` for 1-D or 2-D ``a`` and ``b`` whose product has the gradient's shape
        (``np.dot``: BLAS with the least call overhead)."""
        grad = self.grad  # a local: ``self.grad += ...`` would also assign the attribute
        grad += product(a, b, like=grad)

    def accumulate_sum(self, rows: np.ndarray) -> None:
        """``grad += Σ_n rows[n]`` for a 2-D ``rows`` (see :func:`column_sums`)."""
        grad = self.grad
        grad += np.dot(ones(rows.shape[0], rows.dtype), rows)  # column_sums(rows), inlined

    # -- conversion and copies ----------------------------------------------------------------
    def astype(self, dtype: Any) -> Parameter:
        """Convert ``data`` and ``grad`` to ``dtype`` in place and return the parameter.

        A new dtype needs new arrays (the one time a parameter's arrays change, as with PyTorch's
        ``module.to(dtype)``); the same dtype keeps the arrays as they are.
        """
        dtype = np.dtype(dtype)
        if dtype != self.data.dtype:
            data, grad = arena.allocate(self.data.astype(dtype))
            grad[...] = self.grad
            self.data, self.grad = data, grad
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # Copies and unpickled parameters are created anew, so they get slab segments in turn.
        return _restore, (self.data, self.grad)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def _restore(data: np.ndarray, grad: np.ndarray) -> Parameter:
    p = Parameter(data)
    p.grad[...] = grad
    return p


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}
_ONES_MAX_ENTRIES = 32


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones of ``dtype``, kept for the next step (a small cache)."""
    key = (n, dtype)
    vec = _ONES.get(key)
    if vec is None:
        if len(_ONES) >= _ONES_MAX_ENTRIES:
            _ONES.clear()
        vec = np.ones(n, dtype=dtype)
        vec.flags.writeable = False
        _ONES[key] = vec
    return vec


_PRODUCTS = threading.local()  # per thread: two threads may run backward passes at once
_PRODUCT_MIN_SIZE = 1 << 16  # smaller temporaries come from the allocator's warm free lists


def product(a: np.ndarray, b: np.ndarray, *, like: np.ndarray) -> np.ndarray:
    """``a @ b`` (of the shape and dtype of ``like``) into a buffer kept for the next call when large.

    A weight gradient the size of a large weight, allocated afresh on every step, comes back from
    the operating system as new pages that fault in on first touch; kept, it faults once. The
    result is valid until the next call with the same shape and dtype in this thread.
    """
    if like.size < _PRODUCT_MIN_SIZE or a.dtype != like.dtype or b.dtype != like.dtype:
        return np.dot(a, b)
    cache = _PRODUCTS.__dict__.setdefault("buffers", {})
    shape, dtype = like.shape, like.dtype
    key = (shape, dtype)
    buf = cache.get(key)
    if buf is None:
        if len(cache) >= _ONES_MAX_ENTRIES:
            cache.clear()
        buf = cache[key] = np.empty(shape, dtype=dtype)
    return np.dot(a, b, out=buf)


def column_sums(rows: np.ndarray) -> np.ndarray:
    """Σ_n rows[n] of a 2-D ``rows``, as the BLAS product 1ᵀ·rows.

    A matrix-vector product reads the rows in one pass, where ``rows.sum(axis=0)`` walks them in
    small pairwise blocks; it also sums in BLAS's order, like the weight gradients beside it.
    """
    return np.dot(ones(rows.shape[0], rows.dtype), rows)


def rows_times(x: np.ndarray, M: np.ndarray) -> np.ndarray:
    """x @ M for x (..., k) as one 2-D BLAS product over all rows.

    np.dot has the least call overhead; a 3-D operand (a batch of sequences) would make matmul
    call BLAS once per sequence, 1.7× slower at a transformer's sizes.
    """
    if x.ndim == 2:
        return np.dot(x, M)
    return np.dot(x.reshape(-1, x.shape[-1]), M).reshape(*x.shape[:-1], M.shape[1])
