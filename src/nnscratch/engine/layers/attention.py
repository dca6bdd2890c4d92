"""Multi-head self-attention with PyTorch's parameters, shapes and masks, derived by hand."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive_int, describe

from ..init import get_initializer
from ..module import Module, check_grad_out
from ..parameter import Parameter
from .linear import Linear


class MultiheadAttention(Module):
    r"""Self-attention over a sequence, as ``torch.nn.MultiheadAttention(batch_first=True)``.

    Shapes: x (N, T, E); H heads of size d = E / H; W_in (3E, E), b_in (3E,) hold the query, key
    and value projections one above the other; ``out_proj`` is a Linear(E, E).

    Forward, per head h (Q_h is Q's columns h·d … h·d + d − 1):
        [Q K V] = x W_inᵀ + b_in
        S_h = Q_h K_hᵀ / √d + M              (M: 0 where allowed, −∞ where masked)
        A_h = softmax(S_h)                   (over the keys, the last axis)
        O_h = A_h V_h
        y   = [O_1 … O_H] W_outᵀ + b_out
    Backward, with G = dL/dy:
        dO = G W_out                         (and dW_out, db_out: out_proj's own backward)
        dA_h = dO_h V_hᵀ                     dV_h = A_hᵀ dO_h
        dS_h = A_h ⊙ (dA_h − rowsum(dA_h ⊙ A_h))          (softmax's Jacobian, row by row)
        dQ_h = dS_h K_h / √d                 dK_h = dS_hᵀ Q_h / √d
        dW_in += [dQ dK dV]ᵀ x    db_in += Σ [dQ dK dV]    dL/dx = [dQ dK dV] W_in

    Masks (PyTorch's meaning): ``attn_mask`` (T, T) or (N·H, T, T), boolean True = may not attend,
    or a float mask added to S; ``key_padding_mask`` (N, T), True = a padding key nobody attends
    to; ``is_causal=True`` builds the causal mask (query t sees keys ≤ t). The last attention
    weights A (N, H, T, T) stay on the layer as ``attn_weights``, for plots.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = True,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise HyperparameterError(
                "embed_dim must be divisible by num_heads. "
                f"Received: embed_dim={embed_dim}, num_heads={num_heads}"
            )
        if dropout != 0.0 or batch_first is not True:
            raise HyperparameterError(
                "MultiheadAttention supports dropout=0.0 and batch_first=True (inputs (N, T, E)). "
                f"Received: dropout={dropout!r}, batch_first={batch_first!r}"
            )
        self.dropout, self.batch_first, self.bias = 0.0, True, bool(bias)
        dtype, gen = as_float_dtype(dtype), as_generator(rng)
        E = self.embed_dim
        # PyTorch's initialisation: Xavier-uniform W_in, zero biases, out_proj's default weight
        self.in_proj_weight = Parameter(get_initializer("xavier_uniform")((3 * E, E), gen, dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * E, dtype)) if self.bias else None
        self.out_proj = Linear(E, E, bias=self.bias, dtype=dtype, rng=gen, bias_init="zeros")
        self.attn_weights: np.ndarray | None = None

    def __call__(self, x: Any, **masks: Any) -> np.ndarray:
        return self.forward(self._prepare_input(x), **masks)

    # -- masks ----------------------------------------------------------------------------------
    def _additive_mask(
        self, N: int, T: int, dtype: np.dtype, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> np.ndarray | None:
        """M (N, H, T, T): 0 where a query may attend to a key, −∞ (or the float mask) elsewhere."""
        H, M = self.num_heads, None
        if is_causal and attn_mask is None:
            attn_mask = np.triu(np.ones((T, T), dtype=bool), k=1)
        if attn_mask is not None:
            m = np.asarray(attn_mask)
            if m.shape not in ((T, T), (N * H, T, T)):
                raise ShapeError(
                    f"attn_mask must be ({T}, {T}) or ({N * H}, {T}, {T}). Received: {describe(m)}"
                )
            m = np.where(m, -np.inf, 0.0).astype(dtype) if m.dtype == bool else m.astype(dtype)
            M = np.broadcast_to(m.reshape(-1, H, T, T) if m.ndim == 3 else m, (N, H, T, T)).copy()
        if key_padding_mask is not None:
            k = np.asarray(key_padding_mask)
            if k.shape != (N, T):
                raise ShapeError(f"key_padding_mask must be ({N}, {T}). Received: {describe(k)}")
            k = np.where(k, -np.inf, 0.0).astype(dtype) if k.dtype == bool else k.astype(dtype)
            M = (0.0 if M is None else M) + k[:, None, None, :]
        return M

    # -- computation ----------------------------------------------------------------------------
    def _heads(self, z: np.ndarray) -> np.ndarray:
        """(N, T, E) -> (N, H, T, d)."""
        N, T, _ = z.shape
        return z.reshape(N, T, self.num_heads, -1).transpose(0, 2, 1, 3)

    def forward(
        self, x: np.ndarray, *, attn_mask: Any = None, key_padding_mask: Any = None, is_causal: bool = False
    ) -> np.ndarray:
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ShapeError(f"{self!r} expects inputs (N, T, {self.embed_dim}). Received: {describe(x)}")
        N, T, E = x.shape
        d = E // self.num_heads
        qkv = x @ self.in_proj_weight.data.T
        if self.in_proj_bias is not None:
            qkv += self.in_proj_bias.data
        Q, K, V = (self._heads(qkv[..., i * E : (i + 1) * E]) for i in range(3))
        S = Q @ K.transpose(0, 1, 3, 2) / math.sqrt(d)
        M = self._additive_mask(N, T, x.dtype, attn_mask, key_padding_mask, is_causal)
        if M is not None:
            S = S + M
        S_max = np.max(S, axis=-1, keepdims=True)
        A = np.exp(S - S_max)  # softmax over the keys, shifted by the row maximum for stability
        A /= A.sum(axis=-1, keepdims=True)
        O = (A @ V).transpose(0, 2, 1, 3).reshape(N, T, E)
        self.attn_weights = A
        self._cache = (x, Q, K, V, A)
        return self.out_proj.forward(O)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x, Q, K, V, A = self._cached()
        N, T, E = x.shape
        d = E // self.num_heads
        G = check_grad_out(grad_out, (N, T, E), self)
        dO = self._heads(self.out_proj.backward(G))  # dO = G W_out, out_proj's gradients added
        dA = dO @ V.transpose(0, 1, 3, 2)
        dV = A.transpose(0, 1, 3, 2) @ dO
        dS = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))
        dQ = dS @ K / math.sqrt(d)
        dK = dS.transpose(0, 1, 3, 2) @ Q / math.sqrt(d)
        # [dQ dK dV] back to (N, T, 3E), the layout of the fused projection
        dqkv = np.concatenate([z.transpose(0, 2, 1, 3).reshape(N, T, E) for z in (dQ, dK, dV)], axis=-1)
        rows, inputs = dqkv.reshape(-1, 3 * E), x.reshape(-1, E)
        self.in_proj_weight.accumulate_product(rows.T, inputs)  # dW_in += [dQ dK dV]ᵀ x
        if self.in_proj_bias is not None:
            self.in_proj_bias.accumulate_sum(rows)  # db_in += Σ [dQ dK dV]
        if not input_grad:
            return None
        return dqkv @ self.in_proj_weight.data  # dL/dx = [dQ dK dV] W_in

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, bias={self.bias}"


__all__ = ["MultiheadAttention"]
