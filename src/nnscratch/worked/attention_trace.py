"""One run of the engine's MultiheadAttention on a float64 copy, every intermediate recorded.

The layer's own ``forward`` and ``backward`` run once; what the engine keeps (Q, K, V per head,
the attention weights A, the output, dL/dx and every parameter gradient) is recorded as is. The
quantities it computes but does not keep (the scores S, dO, dA, dV, dS, dQ, dK) are recomputed
here from those kept values with the formulas of the layer's docstring; the tests check every
one against PyTorch's autograd and that they reproduce the engine's gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError, ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.layers.attention import MultiheadAttention
from nnscratch.engine.losses import Loss

from .row_steps import resolve, small_matrix, target_like


@dataclass
class AttentionTrace:
    """Arrays of one sequence: (T, E) for tokens, (H, T, d) or (H, T, T) per head."""

    x: np.ndarray
    target: np.ndarray
    head: int
    num_heads: int
    W_in: np.ndarray  # (3E, E): W_Q, W_K, W_V one above the other
    b_in: np.ndarray | None
    W_out: np.ndarray
    b_out: np.ndarray | None
    mask: np.ndarray | None  # (H, T, T) additive: 0 allowed, -inf (or the float mask) elsewhere
    mask_kind: str
    Q: np.ndarray  # (H, T, d), as the engine keeps them
    K: np.ndarray
    V: np.ndarray
    S: np.ndarray  # Q Kᵀ
    S_scaled: np.ndarray  # S / √d
    S_masked: np.ndarray  # S / √d + M
    A: np.ndarray  # the engine's attention weights
    O: np.ndarray  # (T, E): [O_1 … O_H]
    y: np.ndarray  # the engine's output
    loss_fn: Loss
    loss: float
    dL_dy: np.ndarray
    dO: np.ndarray  # (T, E)
    dA: np.ndarray  # (H, T, T)
    dV: np.ndarray  # (H, T, d)
    rowsum: np.ndarray  # (H, T, 1): rowsum(dA ⊙ A)
    dS: np.ndarray
    dQ: np.ndarray
    dK: np.ndarray
    dW_in: np.ndarray  # the engine's gradients
    db_in: np.ndarray | None
    dW_out: np.ndarray
    db_out: np.ndarray | None
    dx: np.ndarray

    @property
    def E(self) -> int:
        return self.x.shape[1]

    @property
    def d(self) -> int:
        return self.E // self.num_heads

    def block(self, arr: np.ndarray | None, i: int) -> np.ndarray | None:
        """Block ``i`` (0 = Q, 1 = K, 2 = V) of W_in, b_in or their gradients."""
        return None if arr is None else arr[i * self.E : (i + 1) * self.E]

    def cols(self, h: int) -> slice:
        """The columns of head ``h`` in a (T, E) matrix."""
        return slice(h * self.d, (h + 1) * self.d)

    @staticmethod
    def joined(per_head: np.ndarray) -> np.ndarray:
        """(H, T, d) -> (T, E): the heads side by side."""
        return np.concatenate(list(per_head), axis=-1)


def _sequence(x: Any, E: int) -> np.ndarray:
    arr = np.asarray(as_array(x, "x"), dtype=np.float64)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2 or arr.shape[1] != E:
        raise ShapeError(
            f"explain works one sequence through MultiheadAttention: x must be (T, {E}) or (1, T, {E}). "
            f"Received: {describe(arr)}"
        )
    small_matrix(arr, "x", "T positions, E features")
    return arr


def _check_head(head: int | None, num_heads: int) -> int:
    if head is None:
        return 0
    if isinstance(head, bool) or not isinstance(head, (int, np.integer)) or not 0 <= head < num_heads:
        raise HyperparameterError(
            f"head must be the index of one of the {num_heads} heads, 0 to {num_heads - 1}. "
            f"Received: head={head!r}"
        )
    return int(head)


def run_attention(
    layer: MultiheadAttention,
    x: Any,
    y: Any,
    *,
    loss: Any,
    head: int | None = None,
    attn_mask: Any = None,
    key_padding_mask: Any = None,
    is_causal: bool = False,
) -> AttentionTrace:
    """Forward, loss and backward of a float64 copy of ``layer`` on one sequence."""
    work = layer.copy().astype(np.float64)
    E, H = work.embed_dim, work.num_heads
    h = _check_head(head, H)
    x2 = _sequence(x, E)
    T = x2.shape[0]
    loss_fn = resolve(loss)
    masks = {"attn_mask": attn_mask, "key_padding_mask": key_padding_mask, "is_causal": bool(is_causal)}
    # the layer's own mask builder, so the mask shown is the one the engine adds
    M = work._additive_mask(1, T, np.dtype(np.float64), attn_mask, key_padding_mask, bool(is_causal))
    if M is not None and np.any(np.all(np.isneginf(M), axis=-1)):
        raise ConfigError(
            "every query position must be allowed to attend to at least one key: a fully masked row "
            "has no softmax (PyTorch returns NaN there). Check attn_mask / key_padding_mask."
        )
    kinds = [
        name
        for name, on in (
            ("causal", is_causal and attn_mask is None),
            ("attn_mask", attn_mask is not None),
            ("key_padding_mask", key_padding_mask is not None),
        )
        if on
    ]

    work.train()
    out = work.forward(x2[None], **masks)
    _, Q, K, V, A = work._cache  # what the engine computed and kept for its backward
    Q, K, V, A = Q[0], K[0], V[0], A[0]
    target = target_like(y, out.shape)
    pred, tgt = loss_fn.prepare(out, target)
    loss_value = loss_fn.forward(pred, tgt)
    G = loss_fn.backward()
    work.zero_grad()
    dx = work.backward(G)

    d = E // H
    S = Q @ K.transpose(0, 2, 1)
    S_scaled = S / math.sqrt(d)
    S_masked = S_scaled + M[0] if M is not None else S_scaled
    O = AttentionTrace.joined(A @ V)
    W_out = work.out_proj.weight.data
    dO = G[0] @ W_out
    dO_h = np.stack([dO[:, i * d : (i + 1) * d] for i in range(H)])
    dA = dO_h @ V.transpose(0, 2, 1)
    dV = A.transpose(0, 2, 1) @ dO_h
    rowsum = np.sum(dA * A, axis=-1, keepdims=True)
    dS = A * (dA - rowsum)
    dQ = dS @ K / math.sqrt(d)
    dK = dS.transpose(0, 2, 1) @ Q / math.sqrt(d)

    def grad_of(p: Any) -> np.ndarray | None:
        return None if p is None else p.grad.copy()

    def data_of(p: Any) -> np.ndarray | None:
        return None if p is None else p.data.copy()

    return AttentionTrace(
        x=x2,
        target=target[0],
        head=h,
        num_heads=H,
        W_in=work.in_proj_weight.data.copy(),
        b_in=data_of(work.in_proj_bias),
        W_out=W_out.copy(),
        b_out=data_of(work.out_proj.bias),
        mask=None if M is None else M[0],
        mask_kind=" and ".join(kinds),
        Q=Q,
        K=K,
        V=V,
        S=S,
        S_scaled=S_scaled,
        S_masked=S_masked,
        A=A,
        O=O,
        y=out[0],
        loss_fn=loss_fn,
        loss=loss_value,
        dL_dy=G[0],
        dO=dO,
        dA=dA,
        dV=dV,
        rowsum=rowsum,
        dS=dS,
        dQ=dQ,
        dK=dK,
        dW_in=work.in_proj_weight.grad.copy(),
        db_in=grad_of(work.in_proj_bias),
        dW_out=work.out_proj.weight.grad.copy(),
        db_out=grad_of(work.out_proj.bias),
        dx=dx[0],
    )


__all__ = ["AttentionTrace", "run_attention"]
