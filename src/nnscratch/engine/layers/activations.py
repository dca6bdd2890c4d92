"""Element-wise activations (and softmax) as layers.

Each caches what its backward needs — the output ``a`` where the derivative is a function of
the output (sigmoid, tanh, softmax), the input ``z`` otherwise — and never recomputes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, DTypeError, HyperparameterError, ShapeError
from nnscratch.base.validation import check_in_range, describe

from ..functional import sigmoid, softmax
from ..gradcheck import gradcheck
from ..module import Module, check_grad_out

_ZEROS: dict[tuple[tuple[int, ...], np.dtype, tuple[int, ...]], np.ndarray] = {}
_ZEROS_MAX_ENTRIES = 16


def zeros_like_cached(z: np.ndarray) -> np.ndarray:
    """A read-only array of zeros with the shape, dtype and memory layout of ``z``, reused.

    Large ones come from ``calloc``: pages that are only ever read map the kernel's zero page,
    so they take no physical memory. The cache is small and cleared when full.
    """
    key = (z.shape, z.dtype, z.strides)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= _ZEROS_MAX_ENTRIES:
            _ZEROS.clear()
        zeros = np.zeros_like(z)  # order="K": the layout of z, so both are read in memory order
        zeros.flags.writeable = False
        _ZEROS[key] = zeros
    return zeros


class Sigmoid(Module):
    r"""Logistic sigmoid, element-wise.

    Forward:  a = σ(z) = 1 / (1 + e^{-z})
    Backward: dL/dz = dL/da ⊙ a ⊙ (1 - a)      (uses the cached output a)
    Shapes:   any; output has the input's shape.
    """

    outputs_probabilities = True

    def forward(self, z: np.ndarray) -> np.ndarray:
        a = sigmoid(z)
        self._cache = a
        return a

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        a = self._cached()
        check_grad_out(grad_out, a.shape, self)
        if not input_grad:
            return None
        if grad_out.dtype != a.dtype:  # mixed dtypes: the plain expression, promoted by NumPy
            return grad_out * a * (1.0 - a)
        dz = np.subtract(1.0, a)  # 1 - a, then in place (one new array):
        dz *= a  # a ⊙ (1 - a) = σ'(z)
        dz *= grad_out  # dL/dz = dL/da ⊙ a ⊙ (1 - a)
        return dz


class Tanh(Module):
    r"""Hyperbolic tangent, element-wise.

    Forward:  a = tanh(z)
    Backward: dL/dz = dL/da ⊙ (1 - a²)      (uses the cached output a)
    Shapes:   any; output has the input's shape.
    """

    def forward(self, z: np.ndarray) -> np.ndarray:
        a = np.tanh(z)
        self._cache = a
        return a

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        a = self._cached()
        check_grad_out(grad_out, a.shape, self)
        if not input_grad:
            return None
        if grad_out.dtype != a.dtype:  # mixed dtypes: the plain expression, promoted by NumPy
            return grad_out * (1.0 - a * a)
        dz = np.multiply(a, a)  # a², then in place (one new array):
        np.subtract(1.0, dz, out=dz)  # 1 - a² = tanh'(z)
        dz *= grad_out  # dL/dz = dL/da ⊙ (1 - a²)
        return dz


class ReLU(Module):
    r"""Rectified linear unit, element-wise.

    Forward:  a = max(0, z)
    Backward: dL/dz = dL/da ⊙ 1[z > 0]      (relu'(0) = 0 by convention, as in PyTorch)
    Shapes:   any; output has the input's shape.
    """

    kinks = (0.0,)

    def forward(self, z: np.ndarray) -> np.ndarray:
        # max against an array of zeros: NumPy's vectorised loop for two arrays beats its loop
        # for an array and a scalar
        fast = isinstance(z, np.ndarray) and z.dtype.kind == "f"
        a = np.maximum(z, zeros_like_cached(z)) if fast else np.maximum(z, 0.0)
        self._cache = a
        return a

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        a = self._cached()
        check_grad_out(grad_out, a.shape, self)
        if not input_grad:
            return None
        return grad_out * (a > 0)  # dL/dz = dL/da ⊙ 1[z > 0]; a > 0 exactly where z > 0


class LeakyReLU(Module):
    r"""Leaky ReLU, element-wise.

    Forward:  a = z if z > 0 else s·z        (s = negative_slope)
    Backward: dL/dz = dL/da ⊙ (1 if z > 0 else s)   (the slope s is used at z = 0, as in PyTorch)
    Shapes:   any; output has the input's shape.
    """

    kinks = (0.0,)

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = check_in_range(negative_slope, "negative_slope", 0.0, 1e6)

    def forward(self, z: np.ndarray) -> np.ndarray:
        positive = z > 0
        self._cache = positive
        return np.where(positive, z, z * self.negative_slope)

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        positive = self._cached()  # 1[z > 0]
        check_grad_out(grad_out, positive.shape, self)
        if not input_grad:
            return None
        return np.where(positive, grad_out, grad_out * self.negative_slope)  # dL/da ⊙ (1 or s)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    r"""Softmax along ``dim`` (the class axis).

    Forward:  a_i = e^{z_i} / Σ_j e^{z_j}            (max-shifted for stability)
    Backward: the Jacobian is da_i/dz_j = a_i (δ_ij - a_j), so
              dL/dz = a ⊙ (g - Σ_j g_j a_j)          with g = dL/da, the sum along ``dim``
    Shapes:   any; output has the input's shape.

    For training, prefer ``CrossEntropyLoss`` on logits (the fused gradient softmax(z) - y);
    a Softmax layer followed by ``CrossEntropyLoss(from_logits=False)`` gives the same gradients.
    """

    outputs_probabilities = True

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise HyperparameterError(f"dim must be an integer axis. Received: dim={dim!r}")
        self.dim = int(dim)

    def forward(self, z: np.ndarray) -> np.ndarray:
        if not -z.ndim <= self.dim < z.ndim:
            raise ShapeError(
                f"Softmax(dim={self.dim}) needs an input with that axis. Received: {describe(z)}"
            )
        a = softmax(z, axis=self.dim)
        self._cache = a
        return a

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        a = self._cached()
        g = check_grad_out(grad_out, a.shape, self)
        if not input_grad:
            return None
        return a * (g - (g * a).sum(axis=self.dim, keepdims=True))  # a ⊙ (g - Σ_j g_j a_j)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Identity(Module):
    r"""No activation: a = z, dL/dz = dL/da."""

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = z.shape
        return z

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        shape = self._cached()
        check_grad_out(grad_out, shape, self)
        return grad_out if input_grad else None  # dL/dz = dL/da


class Activation(Module):
    r"""A user-defined element-wise activation from its function and its derivative.

    Forward:  a = f(z)
    Backward: dL/dz = dL/da ⊙ f'(z)        (uses the cached input z)

    Both callables take and return arrays of the same shape (vectorised NumPy code), e.g. the
    ``ReLU(x) + sin(x)`` activation of the course notes::

        Activation(lambda z: np.maximum(z, 0) + np.sin(z),
                   lambda z: (z > 0) + np.cos(z), name="relu_sin")

    Check the pair with ``nnscratch.gradcheck(Activation(...), x)``.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        derivative: Callable[[np.ndarray], np.ndarray],
        name: str = "activation",
        *,
        kinks: tuple[float, ...] = (),
    ) -> None:
        super().__init__()
        if not callable(fn) or not callable(derivative):
            raise DTypeError(
                "Activation needs two callables, fn(z) and derivative(z). "
                f"Received: fn={fn!r}, derivative={derivative!r}"
            )
        self.fn = fn
        self.derivative = derivative
        self.name = str(name)
        self.kinks = tuple(kinks)

    @classmethod
    def from_expression(cls, expression: str, name: str | None = None) -> Activation:
        """An activation from a formula in ``x``, e.g. ``"relu(x) + sin(x)"``; sympy derives f'.

        The result keeps ``expression``, ``latex`` and ``derivative_latex``, and is gradchecked
        when created. See :mod:`nnscratch.engine.layers.symbolic` for the allowed functions and the
        kink convention (``relu'(0) = 0``). Needs sympy (``pip install 'nnscratch[explain]'``).
        """
        return SymbolicActivation(expression, name=name)

    def _apply(self, func: Callable[[np.ndarray], np.ndarray], z: np.ndarray, what: str) -> Any:
        out = np.asarray(func(z))
        if out.shape != z.shape:
            out = np.broadcast_to(out, z.shape) if out.ndim == 0 else out
        if out.shape != z.shape:
            raise ShapeError(
                f"Activation {self.name!r}: {what} must return an array of the input's shape "
                f"{z.shape} (write it with vectorised NumPy operations). Received: {describe(out)}"
            )
        return out.astype(z.dtype, copy=False)

    def forward(self, z: np.ndarray) -> np.ndarray:
        self._cache = z
        return self._apply(self.fn, z, "fn(z)")

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        z = self._cached()
        check_grad_out(grad_out, z.shape, self)
        if not input_grad:
            return None
        return grad_out * self._apply(self.derivative, z, "derivative(z)")  # dL/da ⊙ f'(z)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


_TEST_POINTS = np.array([-2.31, -1.17, -0.53, -0.11, 0.29, 0.87, 1.61, 2.43])


class SymbolicActivation(Activation):
    r"""An element-wise activation given by a formula in ``x``; f' is derived by sympy.

    Forward:  a = f(z)
    Backward: dL/dz = dL/da ⊙ f'(z)      (f' derived symbolically, compiled to NumPy)

    The formula's forms (``expression``, ``latex``, ``derivative_latex``, ``text``,
    ``derivative_text``, ``sympy_expr``, ``sympy_derivative``) are attributes; see
    :class:`~nnscratch.engine.layers.symbolic.Formula`.
    """

    def __init__(self, expression: str, name: str | None = None, *, check: bool = True) -> None:
        # sympy is an optional dependency (the `explain` extra): imported only when a formula is used.
        from . import symbolic

        formula = symbolic.Formula(expression)
        super().__init__(formula.fn, formula.derivative, name=name or formula.expression, kinks=formula.kinks)
        self.formula = formula
        self.expression = formula.expression
        self.sympy_expr = formula.sympy_expr
        self.sympy_derivative = formula.sympy_derivative
        self.latex, self.derivative_latex = formula.latex, formula.derivative_latex
        self.text, self.derivative_text = formula.text, formula.derivative_text
        if check:
            self.check()

    # -- display with an argument substituted (used by the worked examples) -------------------
    def latex_at(self, arg: str) -> str:
        """f(arg) in LaTeX, e.g. ``latex_at("0.95")``; wrap negative numbers in parentheses."""
        return self.formula.at(arg, latex=True)

    def text_at(self, arg: str) -> str:
        return self.formula.at(arg)

    def derivative_latex_at(self, arg: str) -> str:
        return self.formula.at(arg, derivative=True, latex=True)

    def derivative_text_at(self, arg: str) -> str:
        return self.formula.at(arg, derivative=True)

    # -- self-check ------------------------------------------------------------------------------
    def check(self, tol: float = 1e-5) -> None:
        """Gradcheck f' against central differences of f on a few points away from the kinks."""
        pts = np.array([p for p in _TEST_POINTS if all(abs(p - k) > 1e-2 for k in self.kinks)])
        with np.errstate(all="ignore"):
            f = np.asarray(self.fn(pts), dtype=np.float64) * np.ones_like(pts)
            d = np.asarray(self.derivative(pts), dtype=np.float64) * np.ones_like(pts)
            h = 1e-6
            near = np.asarray(self.fn(pts + h), dtype=np.float64) * np.asarray(
                self.fn(pts - h), dtype=np.float64
            )
        ok = np.isfinite(f) & np.isfinite(d) & np.isfinite(near)
        if not ok.any():
            raise ConfigError(
                f"activation expression {self.expression!r} is not finite at any of the test points "
                f"{_TEST_POINTS.tolist()}: it cannot be used as an activation."
            )
        report = gradcheck(self, pts[ok].reshape(1, -1), tol=tol)
        if not report.passed:
            raise ConfigError(
                f"activation expression {self.expression!r}: the derived f'(x) = {self.derivative_text} "
                f"does not match finite differences of f:\n{report}"
            )

    def _repr_latex_(self) -> str:
        return f"$f(x) = {self.latex}, \\qquad f'(x) = {self.derivative_latex}$"

    def extra_repr(self) -> str:
        return f"{self.expression!r}"
