"""Trainable parameters: a value and the gradient accumulated into it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    data : ndarray
        The current value; optimizers update it in place. On its first step an optimizer may move
        small parameters into one shared buffer (``data`` and ``grad`` become views of it, see
        :mod:`nnscratch.engine.optim.flat`): read ``data`` afresh rather than keep an older array.
    grad : ndarray
        dL/d(data), same shape and dtype as ``data``. Backward passes *add* into it (``+=``), so
        gradients from several uses or several batches accumulate until ``zero_grad()``.

    ``zero_grad()`` is lazy: it only marks the gradient as zero. The next read of ``grad`` fills
    the buffer with zeros, but a layer that writes a whole gradient at once
    (:meth:`accumulate_product`, :meth:`accumulate`) writes it straight into the buffer instead
    of adding it to zeros — a pass over the gradient and a temporary the size of the weight saved
    on every training step. Nothing else changes: ``grad`` always reads as the accumulated sum.
    (An array obtained from ``grad`` *before* ``zero_grad()`` keeps its old values until the next
    read or backward pass, much as PyTorch's default ``zero_grad(set_to_none=True)`` leaves an old
    gradient tensor untouched: read ``grad`` again after zeroing.)
    """

    __slots__ = ("_grad", "_grad_is_zero", "data")

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.ascontiguousarray(data)
        self._grad = np.zeros_like(self.data)
        self._grad_is_zero = False  # the buffer holds real zeros already

    @property
    def grad(self) -> np.ndarray:
        if self._grad_is_zero:
            self._grad.fill(0)
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad = value
        self._grad_is_zero = False

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
        """Reset the accumulated gradient to zero (lazily: see the class docstring)."""
        self._grad_is_zero = True

    def accumulate(self, value: np.ndarray) -> None:
        """``grad += value`` (``value`` of the gradient's shape); a copy when ``grad`` is zero."""
        if self._grad_is_zero:
            np.copyto(self._grad, value)
            self._grad_is_zero = False
        else:
            self._grad += value

    def accumulate_product(self, a: np.ndarray, b: np.ndarray) -> None:
        """``grad += a @ b`` for 1-D or 2-D ``a``, ``b`` whose product has as many elements as the
        gradient (a convolution's 4-D kernel gradient comes out as a (C_out, C_in·k·k) matrix).

        When the gradient is zero and the dtypes agree, BLAS writes the product into the gradient
        buffer itself (``np.dot(..., out=)``); otherwise the product is added to it.
        """
        if self._grad_is_zero:
            g = self._grad
            if g.ndim > 2 and g.flags.c_contiguous:  # a kernel gradient: its (C_out, rest) view
                g = g.reshape(a.shape[0], b.shape[-1])
            if g.ndim <= 2:
                try:  # the common case, without checks in Python: small networks feel every µs
                    np.dot(a, b, out=g)
                except ValueError:  # another dtype, or a buffer np.dot cannot write into
                    pass
                else:
                    self._grad_is_zero = False
                    return
        self.grad += np.dot(a, b).reshape(self._grad.shape)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
