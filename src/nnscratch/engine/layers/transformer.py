"""A transformer encoder block with PyTorch's submodule names, its backward written out."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.backend import DEFAULT_DTYPE, as_float_dtype, as_generator
from nnscratch.base.errors import HyperparameterError
from nnscratch.base.validation import check_positive_int

from ..module import Module
from .activations import ReLU
from .attention import MultiheadAttention
from .linear import Linear
from .normalization import LayerNorm
from .regularization import Dropout
from .smooth_activations import GELU


class TransformerEncoderLayer(Module):
    r"""Self-attention then a feed-forward network, each wrapped in a residual connection and a
    LayerNorm, as ``torch.nn.TransformerEncoderLayer(batch_first=True)``.

    With SA(x) = dropout1(self_attn(x)) and FF(x) = dropout2(linear2(dropout(f(linear1(x))))):
    Forward, norm_first=False (post-norm, the original transformer):
        h = norm1(x + SA(x))          y = norm2(h + FF(h))
    Forward, norm_first=True (pre-norm):
        h = x + SA(norm1(x))          y = h + FF(norm2(h))
    Backward, in reverse, each residual summing its two paths (post-norm shown; pre-norm alike):
        dh = norm2ᵀ(dy);   dh ← dh + FFᵀ(dh)
        dx = norm1ᵀ(dh);   dx ← dx + SAᵀ(dx)
    where Mᵀ(g) is module M's backward pass given g.

    ``is_causal=True`` (an nnscratch addition: PyTorch takes it per call) makes every call without
    masks causal — position t attends to positions ≤ t — so a language model can sit in a
    ``Sequential`` or an experiment file's ``[[model.layers]]``.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = True,
        norm_first: bool = False,
        bias: bool = True,
        is_causal: bool = False,
        *,
        dtype: Any = DEFAULT_DTYPE,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if activation not in ("relu", "gelu"):
            raise HyperparameterError(
                f"activation must be 'relu' or 'gelu'. Received: activation={activation!r}"
            )
        self.d_model, self.nhead = check_positive_int(d_model, "d_model"), check_positive_int(nhead, "nhead")
        self.dim_feedforward = check_positive_int(dim_feedforward, "dim_feedforward")
        self.dropout_p, self.activation, self.layer_norm_eps = (
            float(dropout),
            activation,
            float(layer_norm_eps),
        )
        self.batch_first, self.norm_first, self.bias = batch_first, bool(norm_first), bool(bias)
        self.is_causal = bool(is_causal)
        dtype, gen = as_float_dtype(dtype), as_generator(rng)
        self.self_attn = MultiheadAttention(  # dropout on its weights too, as PyTorch's layer
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype, rng=gen
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, rng=gen)
        self.dropout = Dropout(dropout, rng=gen)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, rng=gen)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=gen)
        self.dropout2 = Dropout(dropout, rng=gen)
        self.act = ReLU() if activation == "relu" else GELU()

    def _config(self) -> dict[str, Any]:
        """Constructor arguments for model files (``dropout`` is stored as ``dropout_p``)."""
        return {
            "d_model": self.d_model, "nhead": self.nhead, "dim_feedforward": self.dim_feedforward,
            "dropout": self.dropout_p, "activation": self.activation, "layer_norm_eps": self.layer_norm_eps,
            "batch_first": self.batch_first, "norm_first": self.norm_first, "bias": self.bias,
            "is_causal": self.is_causal,
            "dtype": self.linear1.weight.data.dtype,
        }  # fmt: skip

    def __call__(self, x: Any, **masks: Any) -> np.ndarray:
        return self.forward(self._prepare_input(x), **masks)

    # -- the two sub-blocks and their backward passes ----------------------------------------
    def _sa(self, x: np.ndarray, masks: dict[str, Any]) -> np.ndarray:
        return self.dropout1.forward(self.self_attn.forward(x, **masks))

    def _sa_backward(self, g: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return self.self_attn.backward(self.dropout1.backward(g), input_grad=input_grad)

    def _ff(self, x: np.ndarray) -> np.ndarray:
        z = self.dropout.forward(self.act.forward(self.linear1.forward(_rows(x))))
        return self.dropout2.forward(self.linear2.forward(z)).reshape(x.shape)

    def _ff_backward(self, g: np.ndarray) -> np.ndarray:
        dz = self.linear2.backward(self.dropout2.backward(_rows(g)))
        return self.linear1.backward(self.act.backward(self.dropout.backward(dz))).reshape(g.shape)

    def forward(self, x: np.ndarray, **masks: Any) -> np.ndarray:
        if self.is_causal and not masks:
            masks = {"is_causal": True}
        if self.norm_first:
            h = _plus(x, self._sa(self.norm1.forward(x), masks))  # h = x + SA(norm1(x))
            y = _plus(h, self._ff(self.norm2.forward(h)))  # y = h + FF(norm2(h))
        else:
            h = self.norm1.forward(_plus(x, self._sa(x, masks)))  # h = norm1(x + SA(x))
            y = self.norm2.forward(_plus(h, self._ff(h)))  # y = norm2(h + FF(h))
        self._cache = y.shape
        return y

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        self._cached()
        dy = grad_out
        if self.norm_first:
            dh = _plus(dy, self.norm2.backward(self._ff_backward(dy)))  # y = h + FF(norm2(h))
            if not input_grad:  # norm1's input gradient would only feed dx
                self.norm1.backward(self._sa_backward(dh), input_grad=False)
                return None
            dx = _plus(dh, self.norm1.backward(self._sa_backward(dh)))  # h = x + SA(norm1(x))
        else:
            dh = self.norm2.backward(dy)  # y = norm2(h + FF(h))
            dh = _plus(dh, self._ff_backward(dh))
            dx = self.norm1.backward(dh)  # h = norm1(x + SA(x))
            if not input_grad:  # SA's input gradient would only feed dx
                self._sa_backward(dx, input_grad=False)
                return None
            dx = _plus(dx, self._sa_backward(dx))
        return dx

    def extra_repr(self) -> str:
        causal = ", is_causal=True" if self.is_causal else ""
        return f"d_model={self.d_model}, nhead={self.nhead}, norm_first={self.norm_first}{causal}"


def _plus(a: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """a + fresh, written over ``fresh``: a new array a submodule just returned to this layer and
    nobody else holds (a residual sum then allocates nothing; large new arrays are costly)."""
    fresh += a
    return fresh


def _rows(x: np.ndarray) -> np.ndarray:
    """(N, T, E) as (N·T, E) rows, a view when it can be: the feed-forward Linears then run one
    2-D BLAS product (a 3-D operand makes matmul call BLAS once per sequence)."""
    return x.reshape(-1, x.shape[-1])


__all__ = ["TransformerEncoderLayer"]
