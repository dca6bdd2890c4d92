"""Layer normalisation: each sample normalised over its own trailing features (PyTorch's ``nn.LayerNorm``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter, column_sums, ones


def _as_shape(normalized_shape: Any) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple of positive ints (an int ``d`` means ``(d,)``, as in PyTorch)."""
    dims = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
    try:
        shape = tuple(dims)
    except TypeError:
        shape = ()
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape):
        raise HyperparameterError(
            "normalized_shape must be a positive int or a non-empty tuple of positive ints (the trailing "
            f"dimensions to normalise over). Received: normalized_shape={normalized_shape!r}"
        )
    return tuple(int(d) for d in shape)


class LayerNorm(Module):
    r"""Layer normalisation over the last ``len(normalized_shape)`` dimensions, PyTorch's ``nn.LayerNorm``.

    Forward, per sample (every index of the leading dimensions) over its D = prod(normalized_shape)
    values x:
        μ = (1/D) Σ x,   σ² = (1/D) Σ (x - μ)²   (biased, as in PyTorch),   s = 1/√(σ² + ε)
        x̂ = (x - μ)·s,   y = γ ⊙ x̂ + β         (γ, β of shape normalized_shape)
    The same in training and eval: no running statistics.

    Backward, with g = dL/dy and ĝ = g ⊙ γ = dL/dx̂:
        dL/dγ += Σ g ⊙ x̂,      dL/dβ += Σ g         (sums over the leading dimensions)
        dL/dx  = s·(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))  (means per sample over its D values; μ and
                                                    σ² depend on x, as in BatchNorm's training form)
    Shapes: input (*, *normalized_shape); output the same. ``weight`` (γ, ones) and ``bias`` (β,
    zeros) have shape normalized_shape; ``elementwise_affine=False`` has neither, ``bias=False`` no β.
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,  # accepted for a uniform API; init is fixed
    ) -> None:
        super().__init__()
        self.normalized_shape = _as_shape(normalized_shape)
        self.eps = check_positive(eps, "eps")
        self.elementwise_affine = bool(elementwise_affine)
        dtype = as_float_dtype(dtype)
        self._dtype = dtype
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))

    @property
    def dtype(self) -> np.dtype | None:
        return self.weight.data.dtype if self.weight is not None else self._dtype

    def astype(self, dtype: Any) -> LayerNorm:
        super().astype(dtype)
        self._dtype = as_float_dtype(dtype)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        k = len(self.normalized_shape)
        if x.ndim < k or tuple(x.shape[x.ndim - k :]) != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm(normalized_shape={self.normalized_shape}) expects input of shape "
                f"(*, {', '.join(map(str, self.normalized_shape))}). Received: {describe(x)}"
            )
        rows = _samples(x, self.normalized_shape)  # one sample's D values per row
        mu = _row_means(rows)  # μ
        xc = rows - mu
        var = _row_means(xc * xc)  # σ², biased
        s = 1.0 / np.sqrt(var + self.eps)  # s = 1/√(σ² + ε), in x's dtype (a Python float ε)
        xhat = np.multiply(xc, s, out=xc)  # x̂ = (x - μ)·s, written over x - μ
        self._cache = (xhat, s, x.shape)
        if self.weight is None:
            return xhat.reshape(x.shape)
        y = xhat * _flat(self.weight)  # γ ⊙ x̂ (+ β)
        if self.bias is not None:
            y += _flat(self.bias)
        return y.reshape(x.shape)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        xhat, s, shape = self._cached()
        g = _samples(check_grad_out(grad_out, shape, self), self.normalized_shape)
        if self.weight is not None:
            self.weight.accumulate(_column_sums_of_product(g, xhat))  # dγ += Σ g ⊙ x̂ (over the samples)
            if self.bias is not None:
                self.bias.accumulate(column_sums(g))  # dβ += Σ g
            ghat = g * _flat(self.weight)  # ĝ = g ⊙ γ
        else:
            ghat = g
        if not input_grad:
            return None
        mean_g = _row_means(ghat)  # mean(ĝ)
        mean_gx = _row_means_of_product(ghat, xhat)  # mean(ĝ ⊙ x̂)
        dx = _minus_means(ghat, mean_g, xhat, mean_gx, overwrite=ghat is not g)  # ĝ - mean(ĝ) - x̂ ⊙ mean_gx
        dx *= s  # dL/dx = s·(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))
        return dx.reshape(shape)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


def _samples(x: np.ndarray, normalized_shape: tuple[int, ...]) -> np.ndarray:
    """x as (samples, D) rows, D = prod(normalized_shape): a view when x is contiguous."""
    return x.reshape(-1, math.prod(normalized_shape))


def _flat(p: Parameter) -> np.ndarray:
    """γ or β as one row of D values, to broadcast over the (samples, D) rows."""
    return p.data.reshape(-1)


def _row_means(rows: np.ndarray) -> np.ndarray:
    """(1/D) Σ over each row, as a (samples, 1) column: a BLAS matrix-vector product with a vector
    of ones, much faster than ``mean(axis=-1)`` on short rows (which loops row by row)."""
    D = rows.shape[1]
    return (np.dot(rows, ones(D, rows.dtype)) * (1.0 / D))[:, None]


def _row_means_of_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """mean(a ⊙ b) over each row, as a (samples, 1) column, without the temporary a ⊙ b."""
    return (np.einsum("ij,ij->i", a, b) * (1.0 / a.shape[1]))[:, None]


def _column_sums_of_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ_samples a ⊙ b, one value per feature, without the temporary a ⊙ b."""
    return np.einsum("ij,ij->j", a, b)


def _minus_means(
    ghat: np.ndarray, mean_g: np.ndarray, xhat: np.ndarray, mean_gx: np.ndarray, *, overwrite: bool
) -> np.ndarray:
    """ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂), written over ĝ when ``overwrite`` (ĝ is then the layer's own
    temporary): every large temporary is a fresh allocation, often new pages from the system."""
    out = np.subtract(ghat, mean_g, out=ghat if overwrite else None)
    out -= xhat * mean_gx
    return out


__all__ = ["LayerNorm"]
