"""Layer normalisation: each sample normalised over its own trailing features (PyTorch's ``nn.LayerNorm``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter


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
        axes = tuple(range(x.ndim - k, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        var = np.mean(xc * xc, axis=axes, keepdims=True)  # σ², biased
        s = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype, copy=False)  # s = 1/√(σ² + ε)
        xhat = xc * s  # x̂ = (x - μ)·s
        self._cache = (xhat, s, axes)
        if self.weight is None:
            return xhat
        y = xhat * self.weight.data  # γ ⊙ x̂ (+ β)
        return y + self.bias.data if self.bias is not None else y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        xhat, s, axes = self._cached()
        g = check_grad_out(grad_out, xhat.shape, self)
        lead = tuple(range(xhat.ndim - len(axes)))  # the sample dimensions, summed for γ and β
        if self.weight is not None:
            self.weight.accumulate(np.sum(g * xhat, axis=lead))  # dγ += Σ g ⊙ x̂
            if self.bias is not None:
                self.bias.accumulate(np.sum(g, axis=lead))  # dβ += Σ g
            ghat = g * self.weight.data  # ĝ = g ⊙ γ
        else:
            ghat = g
        if not input_grad:
            return None
        mean_g = ghat.mean(axis=axes, keepdims=True)
        mean_gx = np.mean(ghat * xhat, axis=axes, keepdims=True)
        return s * (ghat - mean_g - xhat * mean_gx)  # s·(ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂))

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


__all__ = ["LayerNorm"]
