"""Trainable parameters: a value and the gradient accumulated into it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    data : ndarray
        The current value; optimizers update it in place.
    grad : ndarray
        dL/d(data), same shape and dtype as ``data``. Backward passes *add* into it (``+=``), so
        gradients from several uses or several batches accumulate until ``zero_grad()``.
    """

    __slots__ = ("data", "grad")

    def __init__(self, data: np.ndarray) -> None:
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)

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
        """Reset the accumulated gradient to zero, in place (no new allocation)."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
