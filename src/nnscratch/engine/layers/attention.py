"""Multi-head attention (self- and cross-attention) with PyTorch's parameters, shapes and masks,
derived by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive_int, describe

from ..init import get_initializer
from ..module import Module, check_grad_out
from ..parameter import Parameter, column_sums, ones, rows_times
from .linear import Linear


class MultiheadAttention(Module):
    r"""Multi-head attention, as ``torch.nn.MultiheadAttention(batch_first=True)``.

    Called as ``attn(x)`` it is self-attention; as ``attn(query, key, value)`` cross-attention
    (queries from one sequence read keys and values of another). Shapes: query (N, L, E), key
    and value (N, S, E) (self-attention: all three are x, S = L); H heads of size d = E / H;
    W_in (3E, E), b_in (3E,) hold the query, key and value projections W_q, W_k, W_v (and b_q,
    b_k, b_v) one above the other; ``out_proj`` is a Linear(E, E).

    Forward, per head h (Q_h is Q's columns h·d … h·d + d − 1):
        Q = query W_qᵀ + b_q    K = key W_kᵀ + b_k    V = value W_vᵀ + b_v
                                (self-attention, one product: [Q K V] = x W_inᵀ + b_in)
        S_h = Q_h K_hᵀ / √d + M              (L, S; M: 0 where allowed, −∞ where masked)
        A_h = softmax(S_h)                   (over the keys, the last axis)
        Ã_h = A_h ⊙ D_h                      (training with dropout p: D = m / (1 − p), m ~ Bernoulli(1 − p);
                                              otherwise Ã = A)
        O_h = Ã_h V_h
        y   = [O_1 … O_H] W_outᵀ + b_out
    Backward, with G = dL/dy:
        dO = G W_out                         (and dW_out, db_out: out_proj's own backward)
        dÃ_h = dO_h V_hᵀ                     dV_h = Ã_hᵀ dO_h
        dA_h = dÃ_h ⊙ D_h                    (dropout's backward; without dropout dA = dÃ)
        dS_h = A_h ⊙ (dA_h − rowsum(dA_h ⊙ A_h))          (softmax's Jacobian, row by row)
        dQ_h = dS_h K_h / √d                 dK_h = dS_hᵀ Q_h / √d
        dW_q += dQᵀ query   db_q += Σ dQ   dL/dquery = dQ W_q     (K and V alike)
                                (self-attention: dW_in += [dQ dK dV]ᵀ x, db_in += Σ [dQ dK dV],
                                 dL/dx = [dQ dK dV] W_in, the three paths summed in one product)

    ``backward`` returns dL/dx for self-attention, the tuple (dL/dquery, dL/dkey, dL/dvalue) for
    cross-attention. Masks (PyTorch's meaning): ``attn_mask`` (L, S) or (N·H, L, S), boolean
    True = may not attend, or a float mask added to S; ``key_padding_mask`` (N, S), True = a
    padding key nobody attends to; ``is_causal=True`` builds the causal mask (query t sees keys
    ≤ t). The last attention weights A (N, H, L, S), before dropout, stay on the layer as
    ``attn_weights``. Dropout draws its masks from ``self.rng`` (seeded by ``rng``), as
    :class:`Dropout` does, in training mode only.
    ``MultiheadAttention(..., is_causal=True)`` (an nnscratch addition) makes every call without
    an ``attn_mask`` causal, so a causal layer can sit in a ``Sequential`` or ``[[model.layers]]``.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = True,
        is_causal: bool = False,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.is_causal = bool(is_causal)
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise HyperparameterError(
                "embed_dim must be divisible by num_heads. "
                f"Received: embed_dim={embed_dim}, num_heads={num_heads}"
            )
        if batch_first is not True:
            raise HyperparameterError(
                f"MultiheadAttention supports batch_first=True (inputs (N, T, E)). Received: {batch_first!r}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise HyperparameterError(f"dropout must be in [0, 1). Received: dropout={dropout!r}")
        self.dropout, self.batch_first, self.bias = float(dropout), True, bool(bias)
        dtype, gen = as_float_dtype(dtype), as_generator(rng)
        self.rng = gen  # the dropout masks' stream (checkpoints and gradcheck find it on the layer)
        self._dropped: np.ndarray | None = None  # D of the last training forward with dropout
        E = self.embed_dim
        # PyTorch's initialisation: Xavier-uniform W_in, zero biases, out_proj's default weight
        self.in_proj_weight = Parameter(get_initializer("xavier_uniform")((3 * E, E), gen, dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype)) if self.bias else None
        self.out_proj = Linear(E, E, bias=self.bias, dtype=dtype, rng=gen, bias_init="zeros")
        self.attn_weights: np.ndarray | None = None

    def __call__(self, query: Any, key: Any = None, value: Any = None, **masks: Any) -> np.ndarray:
        key, value = (None if z is None else self._prepare_input(z) for z in (key, value))
        return self.forward(self._prepare_input(query), key, value, **masks)

    # -- checks and masks -----------------------------------------------------------------------
    def _check_inputs(self, query: np.ndarray, key: Any, value: Any) -> bool:
        """Raise a ShapeError unless the inputs fit; return True for cross-attention."""
        E = self.embed_dim
        if query.ndim != 3 or query.shape[-1] != E:
            raise ShapeError(f"{self!r} expects inputs (N, T, {E}). Received: {describe(query)}")
        if key is None and value is None:
            return False
        if key is None or value is None:
            raise ShapeError(
                "cross-attention takes key and value together (both (N, S, E)), or neither for "
                f"self-attention. Received: key={describe(key)}, value={describe(value)}"
            )
        N = query.shape[0]
        for name, z in (("key", key), ("value", value)):
            if not isinstance(z, np.ndarray) or z.ndim != 3 or z.shape[0] != N or z.shape[2] != E:
                raise ShapeError(
                    f"{name} must be (N, S, E) = ({N}, S, {E}), with the query's N and E. "
                    f"Received: query {describe(query)}, {name} {describe(z)}"
                )
        if key.shape != value.shape:
            raise ShapeError(
                f"key and value must have the same shape (N, S, E). Received: key {describe(key)}, "
                f"value {describe(value)}"
            )
        return True

    def _additive_mask(
        self, N: int, T: int, dtype: np.dtype, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> np.ndarray | None:
        """M (N, H, T, T) of self-attention as one array (None without masks): the sum of
        :meth:`_additive_masks`, for code that shows the mask the layer adds (worked examples)."""
        masks = self._additive_masks(N, T, T, dtype, attn_mask, key_padding_mask, is_causal)
        if not masks:
            return None
        return np.broadcast_to(sum(masks[1:], masks[0]), (N, self.num_heads, T, T)).copy()

    def _additive_masks(
        self, N: int, L: int, S: int, dtype: np.dtype, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> list[np.ndarray]:
        """The masks to add to the scores, each broadcastable to (N, H, L, S): 0 where a query may
        attend to a key, −∞ (or the float mask's value) elsewhere. Their sum is M."""
        H, masks = self.num_heads, []
        if is_causal and attn_mask is None:
            attn_mask = np.triu(np.ones((L, S), dtype=bool), k=1)
        if attn_mask is not None:
            m = np.asarray(attn_mask)
            if m.shape not in ((L, S), (N * H, L, S)):
                raise ShapeError(
                    f"attn_mask must be ({L}, {S}) or ({N * H}, {L}, {S}). Received: {describe(m)}"
                )
            m = _as_additive(m, dtype)
            masks.append(m.reshape(-1, H, L, S) if m.ndim == 3 else m)
        if key_padding_mask is not None:
            k = np.asarray(key_padding_mask)
            if k.shape != (N, S):
                raise ShapeError(f"key_padding_mask must be ({N}, {S}). Received: {describe(k)}")
            masks.append(_as_additive(k, dtype)[:, None, None, :])
        return masks

    # -- computation ----------------------------------------------------------------------------
    def _heads(self, z: np.ndarray) -> np.ndarray:
        """(N, T, E) -> (N, H, T, d), a view."""
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, -1).transpose(0, 2, 1, 3)

    def _project(self, z: np.ndarray, blocks: slice) -> np.ndarray:
        """z W_inᵀ + b_in over the rows ``blocks`` of W_in (all three, or one of q, k, v)."""
        W = self.in_proj_weight.data[blocks]
        out = rows_times(z, W.T)
        if self.in_proj_bias is not None:
            out += self.in_proj_bias.data[blocks]
        return out

    def _project_backward(self, dZ: np.ndarray, z: np.ndarray, blocks: slice, input_grad: bool) -> Any:
        """dW_in[blocks] += dZᵀ z, db_in[blocks] += Σ dZ, and dL/dz = dZ W_in[blocks]."""
        E = self.embed_dim
        rows, inputs = dZ.reshape(-1, dZ.shape[-1]), z.reshape(-1, E)
        self.in_proj_weight.grad[blocks] += rows.T @ inputs
        if self.in_proj_bias is not None:
            self.in_proj_bias.grad[blocks] += column_sums(rows)
        return rows_times(dZ, self.in_proj_weight.data[blocks]) if input_grad else None

    def forward(
        self,
        query: np.ndarray,
        key: np.ndarray | None = None,
        value: np.ndarray | None = None,
        *,
        attn_mask: Any = None,
        key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> np.ndarray:
        cross = self._check_inputs(query, key, value)
        is_causal = is_causal or (self.is_causal and attn_mask is None)
        E = self.embed_dim
        if cross:  # Q = query W_qᵀ + b_q, K = key W_kᵀ + b_k, V = value W_vᵀ + b_v
            Q, K, V = (self._heads(self._project(z, _block(i, E))) for i, z in enumerate((query, key, value)))
        else:
            QKV = self._project(query, slice(None))  # [Q K V] = x W_inᵀ + b_in
            Q, K, V = (self._heads(QKV[..., _block(i, E)]) for i in range(3))
        N, _, L, d = Q.shape
        S_len = K.shape[2]
        S = _scores(Q, K, 1.0 / math.sqrt(d))  # Q_h K_hᵀ / √d
        M = self._additive_masks(N, L, S_len, query.dtype, attn_mask, key_padding_mask, is_causal)
        A = _softmax_rows_(S, M)  # softmax(S_h + M) over the keys, in S's memory
        self._dropped = D = self._dropout_scale(A) if self.training and self.dropout else None
        O = _merged_heads(A if D is None else A * D, V)  # [O_1 … O_H], O_h = Ã_h V_h, Ã = A ⊙ D
        self.attn_weights = A
        self._cache = ((query, key, value) if cross else query, Q, K, V, A)
        return self.out_proj.forward(_rows(O)).reshape(O.shape)  # y = O W_outᵀ + b_out

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> Any:
        inputs, Q, K, V, A = self._cached()
        query, key, value = inputs if isinstance(inputs, tuple) else (inputs, None, None)
        N, L, E = query.shape
        d = E // self.num_heads
        G = check_grad_out(grad_out, (N, L, E), self)
        dO = self._heads(self.out_proj.backward(_rows(G)).reshape(G.shape))  # dO = G W_out (+ dW_out)
        D = self._dropped
        dA = dO @ V.transpose(0, 1, 3, 2)  # dÃ_h = dO_h V_hᵀ
        A_used = A if D is None else A * D  # Ã
        if D is not None:
            dA *= D  # dA_h = dÃ_h ⊙ D_h
        dS = _softmax_backward_(A, dA)  # A ⊙ (dA − rowsum(dA ⊙ A)), in dA's memory
        dS *= 1.0 / math.sqrt(d)  # the 1/√d of both dQ and dK, applied once
        if key is None:  # self-attention: [dQ dK dV] side by side, the fused projection's layout
            D = np.empty((N, L, 3 * E), dtype=dS.dtype)
            parts = [D[..., _block(i, E)] for i in range(3)]
        else:
            parts = [np.empty(z.shape, dtype=dS.dtype) for z in (query, key, value)]
        dQ, dK, dV = (self._heads(p) for p in parts)
        np.matmul(A_used.transpose(0, 1, 3, 2), dO, out=dV)  # dV_h = Ã_hᵀ dO_h
        np.matmul(dS, K, out=dQ)  # dQ_h = dS_h K_h / √d
        np.matmul(dS.transpose(0, 1, 3, 2), Q, out=dK)  # dK_h = dS_hᵀ Q_h / √d
        if key is None:  # dW_in += [dQ dK dV]ᵀ x, db_in += Σ [dQ dK dV], dL/dx = [dQ dK dV] W_in
            return self._project_backward(D, query, slice(None), input_grad)
        # dW_q += dQᵀ query, db_q += Σ dQ, dL/dquery = dQ W_q; K and V alike
        grads = tuple(
            self._project_backward(dZ, z, _block(i, E), input_grad)
            for i, (dZ, z) in enumerate(zip(parts, (query, key, value), strict=True))
        )
        return grads if input_grad else None

    def _dropout_scale(self, A: np.ndarray) -> np.ndarray:
        """D = m / (1 − p) with m ~ Bernoulli(1 − p), in A's dtype (inverted dropout)."""
        keep = self.rng.random(A.shape, dtype=A.dtype) >= self.dropout
        return keep * A.dtype.type(1.0 / (1.0 - self.dropout))

    def extra_repr(self) -> str:
        causal = ", is_causal=True" if self.is_causal else ""
        dropout = f", dropout={self.dropout}" if self.dropout else ""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, bias={self.bias}{dropout}{causal}"


# -- speed helpers: each computes one formula of the docstring without needless copies ------------
def _block(i: int, E: int) -> slice:
    """Rows of W_in (and b_in) for the query (0), key (1) or value (2) projection."""
    return slice(i * E, (i + 1) * E)


def _as_additive(mask: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A boolean mask as 0 / −∞ in ``dtype``; a float mask cast to ``dtype`` (no float64 detour)."""
    if mask.dtype == bool:
        return np.where(mask, np.array(-np.inf, dtype), np.array(0, dtype))
    return mask.astype(dtype, copy=False)


def _rows(z: np.ndarray) -> np.ndarray:
    """(N, T, E) as (N·T, E) rows, a view when it can be: a Linear on rows runs one 2-D BLAS
    product (a 3-D operand makes matmul call BLAS once per sequence)."""
    return z.reshape(-1, z.shape[-1])


def _scores(Q: np.ndarray, K: np.ndarray, scale: float) -> np.ndarray:
    """Q_h K_hᵀ · scale for every head: one product per head into a new array, scaled in place
    (the scale as a Python float keeps float32 scores float32)."""
    S = Q @ K.transpose(0, 1, 3, 2)
    S *= scale
    return S


def _softmax_rows_(S: np.ndarray, masks: list[np.ndarray]) -> np.ndarray:
    """softmax(S + M) over the last axis (M: the sum of ``masks``), computed in S's memory.

    Shifted for stability by one value for all rows when that is as safe as the row maximum
    (see :func:`_common_shift`), else by the row maximum."""
    shift = _common_shift(S, masks)
    for M in masks:
        S += M
    S -= _row_max(S) if shift is None else shift
    np.exp(S, out=S)
    S /= _row_sums(S)
    return S


_SHIFT_SPAN = 60.0  # e^±60 lies far inside float32's normal range (about e^±87)


def _common_shift(S: np.ndarray, masks: list[np.ndarray]) -> float | None:
    """An upper bound c of every finite score of S + M that lies within 60 of all of them, or None.

    softmax is the same whatever is subtracted from a row; subtracting c, every finite e^(s − c)
    lies in [e^−60, 1], so nothing overflows and no row underflows to all zeros, exactly what the
    row maximum guarantees, for the cost of two whole-array reductions (``max(axis=-1)`` over
    short rows loops row by row and is several times slower than the rest of the softmax)."""
    hi, lo = float(S.max()), float(S.min())
    for M in masks:
        finite = M[np.isfinite(M)]  # a boolean mask's −∞ entries only remove scores
        if finite.size == 0:
            return None
        hi, lo = hi + float(finite.max()), lo + float(finite.min())
    return hi if hi - lo <= _SHIFT_SPAN else None  # False for NaN too


def _row_max(S: np.ndarray) -> np.ndarray:
    """max over the last axis, keepdims: reduced over a transposed copy, whose rows are long."""
    rows = S.reshape(-1, S.shape[-1])
    return np.ascontiguousarray(rows.T).max(axis=0).reshape(*S.shape[:-1], 1)


def _row_sums(S: np.ndarray) -> np.ndarray:
    """Σ over the last axis, keepdims: one BLAS matrix-vector product with a vector of ones."""
    rows = S.reshape(-1, S.shape[-1])
    return np.dot(rows, ones(rows.shape[1], rows.dtype)).reshape(*S.shape[:-1], 1)


def _softmax_backward_(A: np.ndarray, dA: np.ndarray) -> np.ndarray:
    """dS = A ⊙ (dA − rowsum(dA ⊙ A)), written over dA."""
    r = np.einsum("...j,...j->...", dA, A)[..., None]  # rowsum(dA ⊙ A) without a temporary
    dA -= r
    dA *= A
    return dA


def _merged_heads(A: np.ndarray, V: np.ndarray) -> np.ndarray:
    """[O_1 … O_H] (N, L, E) with O_h = A_h V_h, each head's product written into its columns."""
    N, H, L, _ = A.shape
    O = np.empty((N, L, H * V.shape[-1]), dtype=A.dtype)
    np.matmul(A, V, out=O.reshape(N, L, H, -1).transpose(0, 2, 1, 3))
    return O


__all__ = ["MultiheadAttention"]
