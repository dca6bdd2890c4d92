"""Smooth gated activations of transformers: GELU (exact or tanh form) and SiLU, element-wise.

Both are x times a gate in (0, 1): GELU's is the standard normal CDF Φ(x), SiLU's the sigmoid
σ(x). Each caches the input and the gate its backward needs, and recomputes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from nnscratch.base.errors import HyperparameterError

from ..functional import sigmoid
from ..module import Module, check_grad_out

_ERF = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf: the C library's, element by element
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_TANH_CUBIC = 0.044715  # the tanh approximation's coefficient (Hendrycks & Gimpel; PyTorch's)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function element-wise, in the dtype of ``x`` (float64 precision throughout)."""
    x = np.asarray(x)
    out = _ERF(x.astype(np.float64, copy=False)).astype(np.float64)
    return out.astype(x.dtype if x.dtype.kind == "f" else np.float64, copy=False)


class GELU(Module):
    r"""Gaussian error linear unit, element-wise: PyTorch's ``nn.GELU(approximate=...)``.

    Forward (``approximate="none"``):  y = x·Φ(x),  Φ(x) = ½(1 + erf(x/√2))   (the normal CDF)
    Backward:  dL/dx = dL/dy ⊙ (Φ(x) + x·φ(x)),   φ(x) = e^{-x²/2}/√(2π)   (the normal density)
    Forward (``approximate="tanh"``):  u = √(2/π)(x + 0.044715 x³),  t = tanh(u),  y = ½x(1 + t)
    Backward:  dL/dx = dL/dy ⊙ (½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715 x²))
    Shapes:   any; output has the input's shape.

    The exact form evaluates erf with the C library one element at a time (NumPy has none), about
    20x slower than ``tanh``; ``approximate="tanh"`` is vectorised.
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise HyperparameterError(
                "approximate must be 'none' (exact, with erf) or 'tanh'. "
                f"Received: approximate={approximate!r}"
            )
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.approximate == "tanh":
            t = np.tanh(_SQRT_2_OVER_PI * (x + _TANH_CUBIC * x**3))  # t = tanh(u)
            gate = 0.5 * (1.0 + t)  # ½(1 + t)
            self._cache = (x, gate, t)
        else:
            gate = 0.5 * (1.0 + erf(x * _SQRT_HALF))  # Φ(x)
            self._cache = (x, gate, None)
        return x * gate

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x, gate, t = self._cached()
        check_grad_out(grad_out, x.shape, self)
        if not input_grad:
            return None
        if t is None:
            pdf = _INV_SQRT_2PI * np.exp(-0.5 * x * x)  # φ(x)
            return grad_out * (gate + x * pdf)  # dL/dy ⊙ (Φ(x) + x·φ(x))
        du = _SQRT_2_OVER_PI * (1.0 + 3.0 * _TANH_CUBIC * x * x)  # du/dx
        return grad_out * (gate + 0.5 * x * (1.0 - t * t) * du)  # ½(1 + t) + ½x(1 - t²)·du/dx

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    r"""Sigmoid linear unit (swish), element-wise: PyTorch's ``nn.SiLU``.

    Forward:  y = x·σ(x)
    Backward: dL/dx = dL/dy ⊙ (σ(x) + x·σ(x)(1 - σ(x))) = dL/dy ⊙ σ(x)(1 + x(1 - σ(x)))
    Shapes:   any; output has the input's shape.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        sig = sigmoid(x)  # σ(x), the stable form
        self._cache = (x, sig)
        return x * sig

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x, sig = self._cached()
        check_grad_out(grad_out, x.shape, self)
        if not input_grad:
            return None
        return grad_out * (sig * (1.0 + x * (1.0 - sig)))  # dL/dy ⊙ σ(x)(1 + x(1 - σ(x)))


__all__ = ["GELU", "SiLU", "erf"]
