"""Fully connected (dense) layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import as_array, check_positive_int, describe

from ..init import Initializer, get_initializer, torch_default_bias
from ..module import Module, check_grad_out
from ..parameter import Parameter, rows_times


class Linear(Module):
    r"""Affine map ``y = x Wᵀ + b`` with PyTorch's weight layout.

    Forward:  y = x @ W.T + b
    Backward: with g = dL/dy,
              dL/dW += gᵀ x        (sum over the batch of outer products g_n x_nᵀ)
              dL/db += Σ_n g_n
              dL/dx  = g W
    Shapes:   x (N, in) or (..., in); W (out, in); b (out,); y (N, out) or (..., out).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output sample.
    bias : bool
        Whether to learn an additive bias.
    dtype : float32 or float64
        The dtype of the parameters; inputs are cast to it once at the network's entry.
    init : str or callable
        Weight initialiser (``"torch"`` = PyTorch's default U(±1/√in); see :mod:`nnscratch.engine.init`).
    bias_init : str or callable, optional
        Bias initialiser; by default PyTorch's U(±1/√in) with ``init="torch"``, zeros otherwise.
    rng : int, Generator or None
        Seed or generator for the initialisers.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: Any = DEFAULT_DTYPE,
        init: str | Initializer = "torch",
        bias_init: str | Initializer | None = None,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        dtype = as_float_dtype(dtype)
        gen = as_generator(rng)
        shape = (self.out_features, self.in_features)
        self.weight = Parameter(get_initializer(init)(shape, gen, dtype))
        self.bias: Parameter | None = None
        if bias:
            if bias_init is None and init in ("torch", "default"):
                b = torch_default_bias((self.out_features,), gen, dtype, fan_in=self.in_features)
            else:
                b = get_initializer(bias_init or "zeros")((self.out_features,), gen, dtype)
            self.bias = Parameter(b)

    @classmethod
    def from_arrays(cls, weight: Any, bias: Any = None, *, dtype: Any = DEFAULT_DTYPE) -> Linear:
        """Build a layer holding the given ``weight`` (out, in) and optional ``bias`` (out,)."""
        w = as_array(weight, "weight", as_float_dtype(dtype))
        if w.ndim != 2:
            raise ShapeError(f"weight must be 2-D (out_features, in_features). Received: {describe(w)}")
        layer = cls(w.shape[1], w.shape[0], bias=bias is not None, dtype=dtype, init="zeros")
        layer.weight.data[...] = w
        if bias is not None:
            b = as_array(bias, "bias", w.dtype).reshape(-1)
            if b.shape != (w.shape[0],):
                raise ShapeError(
                    f"bias must have shape ({w.shape[0]},) to match weight. Received: {describe(b)}"
                )
            layer.bias.data[...] = b
        return layer

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"{self!r} expects inputs of shape (N, {self.in_features}) (in_features="
                f"{self.in_features}). Received: {describe(x)}"
            )
        self._cache = x
        y = rows_times(x, self.weight.data.T)  # y = x Wᵀ (W.T is a view BLAS reads transposed)
        if self.bias is not None:
            y += self.bias.data  # y is new: add in place
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x = self._cached()
        g = check_grad_out(grad_out, (*x.shape[:-1], self.out_features), self)
        if x.ndim != 2:  # as rows, batch axes flattened (or one row): g (N, out) and x (N, in)
            g, x = g.reshape(-1, self.out_features), x.reshape(-1, self.in_features)
        self.weight.accumulate_product(g.T, x)  # dW += gᵀx
        if self.bias is not None:
            self.bias.accumulate_sum(g)  # db += Σ_n g_n
        if not input_grad:
            return None
        return rows_times(grad_out, self.weight.data)  # dx = gW

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )
