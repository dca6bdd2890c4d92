"""Layers that only rearrange their input: Flatten, Unflatten, Reshape, LastTimeStep.

Their backward passes are the inverse rearrangement of the upstream gradient (the Jacobian is a
permutation/selection matrix), so they carry no arithmetic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import describe

from ..module import Module, check_grad_out


def _as_shape(value: Any, name: str) -> tuple[int, ...]:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not items or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in items):
        raise HyperparameterError(f"{name} must be a tuple of ints. Received: {name}={value!r}")
    if sum(v == -1 for v in items) > 1 or any(v < -1 or v == 0 for v in items):
        raise HyperparameterError(
            f"{name} must hold positive sizes and at most one -1. Received: {name}={value!r}"
        )
    return tuple(int(v) for v in items)


class _Reshaping(Module):
    """A layer that only changes the shape: its backward reshapes dL/dy back to x's shape.

    Subclasses cache ``(x.shape, y.shape)`` in forward.
    """

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x_shape, y_shape = self._cached()
        check_grad_out(grad_out, y_shape, self)
        return grad_out.reshape(x_shape) if input_grad else None  # dL/dx = reshape(dL/dy, x.shape)


class Flatten(_Reshaping):
    r"""Flatten axes ``start_dim..end_dim`` into one, PyTorch's ``nn.Flatten``.

    Forward:  y = reshape(x, (N, C·H·W)) for the default start_dim=1 on an (N, C, H, W) input
    Backward: dL/dx = reshape(dL/dy, x.shape)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, v in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise HyperparameterError(f"{name} must be an int axis. Received: {name}={v!r}")
        self.start_dim = int(start_dim)
        self.end_dim = int(end_dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        start = self.start_dim + x.ndim if self.start_dim < 0 else self.start_dim
        end = self.end_dim + x.ndim if self.end_dim < 0 else self.end_dim
        if not 0 <= start <= end < x.ndim:
            raise ShapeError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) needs an input with axes "
                f"{self.start_dim}..{self.end_dim}. Received: {describe(x)}"
            )
        shape = (*x.shape[:start], math.prod(x.shape[start : end + 1]), *x.shape[end + 1 :])
        self._cache = (x.shape, shape)
        return x.reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(_Reshaping):
    r"""Split axis ``dim`` into ``unflattened_size``, PyTorch's ``nn.Unflatten``.

    Forward:  y = reshape(x, x.shape[:dim] + unflattened_size + x.shape[dim+1:])
    Backward: dL/dx = reshape(dL/dy, x.shape)
    E.g. ``Unflatten(1, (1, 8, 8))`` turns 64-pixel rows into (N, 1, 8, 8) images for a Conv2d.
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise HyperparameterError(f"dim must be an int axis. Received: dim={dim!r}")
        self.dim = int(dim)
        self.unflattened_size = _as_shape(unflattened_size, "unflattened_size")

    def forward(self, x: np.ndarray) -> np.ndarray:
        dim = self.dim + x.ndim if self.dim < 0 else self.dim
        if not 0 <= dim < x.ndim:
            raise ShapeError(
                f"Unflatten(dim={self.dim}) needs an input with that axis. Received: {describe(x)}"
            )
        known = math.prod(v for v in self.unflattened_size if v != -1)
        if (-1 not in self.unflattened_size and known != x.shape[dim]) or x.shape[dim] % known:
            raise ShapeError(
                f"Unflatten cannot split axis {self.dim} of size {x.shape[dim]} into "
                f"{self.unflattened_size}. Received: {describe(x)}"
            )
        y = x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])
        self._cache = (x.shape, y.shape)
        return y

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Reshape(_Reshaping):
    r"""Reshape every sample to ``shape`` (the batch axis is kept): y = reshape(x, (N, *shape)).

    Backward: dL/dx = reshape(dL/dy, x.shape). E.g. ``Reshape((8, 8))`` turns 64-pixel digits
    into 8-step sequences of 8 features for an RNN; one entry may be -1.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = _as_shape(shape, "shape")

    def forward(self, x: np.ndarray) -> np.ndarray:
        per_sample = math.prod(x.shape[1:]) if x.ndim else 0
        known = math.prod(v for v in self.shape if v != -1)
        if x.ndim == 0 or per_sample % known or (-1 not in self.shape and known != per_sample):
            raise ShapeError(
                f"Reshape cannot turn samples of shape {x.shape[1:]} into {self.shape}. "
                f"Received: {describe(x)}"
            )
        y = x.reshape(x.shape[0], *self.shape)
        self._cache = (x.shape, y.shape)
        return y

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class LastTimeStep(Module):
    r"""Select the last step of a sequence: y = x[:, -1, :] for x of shape (N, T, F).

    Lets a recurrent layer, which returns its whole output sequence, feed a classifier head:
    ``Sequential(LSTM(8, 64), LastTimeStep(), Linear(64, 10))``.

    Backward: dL/dx[:, T-1, :] = dL/dy and dL/dx[:, t, :] = 0 for t < T-1.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 3 or x.shape[1] == 0:
            raise ShapeError(
                f"LastTimeStep expects a sequence batch (N, T, features) with T >= 1. Received: {describe(x)}"
            )
        self._cache = x.shape
        return x[:, -1, :]

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x_shape = self._cached()
        check_grad_out(grad_out, (x_shape[0], x_shape[2]), self)
        if not input_grad:
            return None
        dx = np.zeros(x_shape, dtype=grad_out.dtype)  # dL/dx[:, t] = 0 for t < T-1
        dx[:, -1, :] = grad_out  # dL/dx[:, T-1] = dL/dy
        return dx
