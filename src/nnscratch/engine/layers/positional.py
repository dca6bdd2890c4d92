"""Positional encodings: tell a transformer where each token sits, learned or sinusoidal.

Attention treats its inputs as a set (permuting the tokens permutes the outputs), so the order
of a sequence must be added to the tokens themselves.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import ShapeError
from nnscratch.base.validation import check_positive_int, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter


def _check_sequence(x: np.ndarray, max_len: int, width: int, owner: Module) -> int:
    """T, after checking that x is (N, T, width) with T ≤ max_len."""
    if x.ndim != 3 or x.shape[-1] != width:
        raise ShapeError(f"{owner!r} expects inputs (N, T, {width}). Received: {describe(x)}")
    if x.shape[1] > max_len:
        raise ShapeError(
            f"{owner!r} encodes positions 0 … {max_len - 1}; the input has T = {x.shape[1]}. "
            f"Build it with max_len >= {x.shape[1]}. Received: {describe(x)}"
        )
    return x.shape[1]


class PositionalEmbedding(Module):
    r"""A learned position vector added to each token: GPT's and BERT's positional embedding.

    Forward:  y[n, t, :] = x[n, t, :] + P[t, :]            P = ``weight`` (max_len, D)
    Backward: dL/dP[t, :] += Σ_n dL/dy[n, t, :]             (every sample uses row t)
              dL/dx = dL/dy                                (an addition passes the gradient on)

    ``weight`` is initialised N(0, 1), as ``nn.Embedding`` is: the layer equals
    ``x + nn.Embedding(max_len, D)(torch.arange(T))`` in PyTorch, and its ``state_dict`` is that
    embedding's (``"weight"``).
    """

    def __init__(
        self,
        max_len: int,
        embedding_dim: int,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.max_len = check_positive_int(max_len, "max_len")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        w = as_generator(rng).standard_normal((self.max_len, self.embedding_dim))
        self.weight = Parameter(w.astype(as_float_dtype(dtype)))

    def forward(self, x: np.ndarray) -> np.ndarray:
        T = _check_sequence(x, self.max_len, self.embedding_dim, self)
        P = self.weight.data[:T]
        self._cache = x.shape
        return x + P

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        dy = check_grad_out(grad_out, self._cached(), self)
        T = dy.shape[1]
        self.weight.grad[:T] += dy.sum(axis=0)  # dP[t] = Σ_n dy[n, t]
        return dy if input_grad else None

    def extra_repr(self) -> str:
        return f"max_len={self.max_len}, embedding_dim={self.embedding_dim}"


def sinusoidal_table(max_len: int, d_model: int, dtype: Any = np.float64) -> np.ndarray:
    r"""PE (max_len, d_model) of "Attention is all you need": with ω_i = 10000^(−2i/d_model),
    PE[p, 2i] = sin(p·ω_i) and PE[p, 2i+1] = cos(p·ω_i)."""
    p = np.arange(max_len, dtype=np.float64)[:, None]
    omega = 10000.0 ** (-np.arange(0, d_model, 2, dtype=np.float64) / d_model)
    table = np.empty((max_len, d_model), np.float64)
    table[:, 0::2] = np.sin(p * omega)
    table[:, 1::2] = np.cos(p * omega[: d_model // 2])  # an odd d_model has one cosine column fewer
    return table.astype(dtype)


class SinusoidalPositionalEncoding(Module):
    r"""Fixed sine and cosine waves added to the tokens (Vaswani et al., 2017); nothing is learned.

    Forward:  y[n, t, :] = x[n, t, :] + PE[t, :]      PE[p, 2i] = sin(p ω_i), PE[p, 2i+1] = cos(p ω_i),
                                                      ω_i = 10000^(−2i/D)
    Backward: dL/dx = dL/dy                           (PE is a constant)

    Each pair of columns turns at its own frequency, so PE[p + k] is a fixed rotation of PE[p]:
    attention can read relative positions from dot products. The table is computed, not stored
    (the ``state_dict`` is empty), in the dtype of the input.
    """

    #: max_len only bounds T: the table grows with the longest input seen (model files need not bound it)
    _allocation_free_args: ClassVar[tuple[str, ...]] = ("max_len",)

    def __init__(self, d_model: int, max_len: int = 5000) -> None:
        super().__init__()
        self.d_model = check_positive_int(d_model, "d_model")
        self.max_len = check_positive_int(max_len, "max_len")
        self._table: dict[np.dtype, np.ndarray] = {}

    def _pe(self, T: int, dtype: np.dtype) -> np.ndarray:
        """PE[:T], built once per dtype up to the longest T seen (not max_len: that may be huge)."""
        table = self._table.get(dtype)
        if table is None or len(table) < T:
            table = self._table[dtype] = sinusoidal_table(T, self.d_model, dtype)
        return table[:T]

    def forward(self, x: np.ndarray) -> np.ndarray:
        T = _check_sequence(x, self.max_len, self.d_model, self)
        self._cache = x.shape
        return x + self._pe(T, x.dtype)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        dy = check_grad_out(grad_out, self._cached(), self)
        return dy if input_grad else None

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


__all__ = ["PositionalEmbedding", "SinusoidalPositionalEncoding", "sinusoidal_table"]
