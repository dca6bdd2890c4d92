"""Embedding: a lookup table from integer token ids to learned vectors."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import DTypeError, HyperparameterError, LabelError, ShapeError
from nnscratch.base.validation import as_array, check_positive_int, describe

from ..module import Module, check_grad_out
from ..parameter import Parameter


class Embedding(Module):
    r"""Map integer indices to rows of a weight matrix, PyTorch's ``nn.Embedding``.

    Forward:  y[..., :] = W[idx[...], :]
    Backward: dL/dW[v, :] += Σ_{positions p with idx[p] = v} dL/dy[p, :]    (np.add.at: repeated
              indices accumulate); the indices are discrete, so there is no input gradient and
              ``backward`` returns None. The row ``padding_idx`` (if given) starts at zero and
              receives no gradient, as in PyTorch.
    Shapes:   idx (N,) or (N, T) or any shape of integers in [0, num_embeddings);
              W (num_embeddings, embedding_dim); y (*idx.shape, embedding_dim).

    Indices may be integer arrays, or floats holding whole numbers (a ``Sequential`` casts its input
    to the parameters' dtype); anything else raises :class:`LabelError`.

    Parameters
    ----------
    num_embeddings, embedding_dim : int
    padding_idx : int, optional
    dtype : float32 or float64
    rng : int, Generator or None
        Seeds the N(0, 1) initialisation (PyTorch's default).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)):
                raise HyperparameterError(
                    f"padding_idx must be an int or None. Received: padding_idx={padding_idx!r}"
                )
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise HyperparameterError(
                    f"padding_idx must be in [-{self.num_embeddings}, {self.num_embeddings}). "
                    f"Received: padding_idx={padding_idx}"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        gen = as_generator(rng)
        w = gen.standard_normal((self.num_embeddings, self.embedding_dim)).astype(as_float_dtype(dtype))
        if padding_idx is not None:
            w[padding_idx] = 0
        self.weight = Parameter(w)

    def _prepare_input(self, x: Any) -> np.ndarray:
        """Accept integer indices as they are (no cast to the float parameter dtype)."""
        return self._indices(as_array(x, "indices"))

    def _indices(self, x: np.ndarray) -> np.ndarray:
        if x.dtype.kind == "b":
            raise DTypeError(f"Embedding takes integer indices, not booleans. Received: {describe(x)}")
        if x.dtype.kind == "f":
            if not np.isfinite(x).all() or not np.array_equal(x, np.round(x)):
                raise LabelError(
                    f"Embedding indices must be whole numbers in [0, {self.num_embeddings}). "
                    f"Received: non-integer values in {describe(x)}"
                )
        elif x.dtype.kind not in "iu":
            raise DTypeError(f"Embedding takes integer indices. Received: {describe(x)}")
        if x.size and (x.min() < 0 or x.max() >= self.num_embeddings):
            bad = x[(x < 0) | (x >= self.num_embeddings)].reshape(-1)[0]
            raise LabelError(
                f"Embedding index out of range: indices must be in [0, {self.num_embeddings}) "
                f"(num_embeddings={self.num_embeddings}). Received: index {bad} in {describe(x)}"
            )
        return x.astype(np.intp, copy=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        idx = self._indices(np.asarray(x))
        if idx.ndim == 0:
            raise ShapeError(
                f"Embedding expects an array of indices with a batch axis. Received: {describe(x)}"
            )
        self._cache = idx
        return self.weight.data[idx]

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> None:
        idx = self._cached()
        check_grad_out(grad_out, (*idx.shape, self.embedding_dim), self)
        flat_idx = idx.reshape(-1)
        g = grad_out.reshape(-1, self.embedding_dim)  # one row dL/dy[p] per position p
        if self.padding_idx is not None:
            keep = flat_idx != self.padding_idx
            flat_idx, g = flat_idx[keep], g[keep]
        np.add.at(self.weight.grad, flat_idx, g)  # dW[idx[p]] += dL/dy[p], repeats accumulating
        return None

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
