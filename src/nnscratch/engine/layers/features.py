"""Input feature transforms: the TensorFlow Playground's column of inputs, as a layer.

``Features(["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])`` maps each input row
(x1, x2) to those seven numbers; the network after it sees them as its inputs. No parameters:
the layer only computes fixed functions, and its backward pass gives dL/dx through them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.base.validation import check_positive_int, describe

from ..module import Module, check_grad_out

#: The forms a feature may take; i and j are 1-based input columns (x1 is column 0).
FEATURE_FORMS = ("xi", "xi^2", "xi*xj", "sin(xi)", "cos(xi)")
PLAYGROUND_FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")

_PATTERNS = (
    ("x", re.compile(r"x(\d+)")),
    ("square", re.compile(r"x(\d+)\^2")),
    ("product", re.compile(r"x(\d+)\*?x(\d+)")),
    ("sin", re.compile(r"sin\(x(\d+)\)")),
    ("cos", re.compile(r"cos\(x(\d+)\)")),
)


class Term(NamedTuple):
    """One parsed feature: its kind and the 0-based input columns it reads."""

    kind: str  # "x", "square", "product", "sin" or "cos"
    cols: tuple[int, ...]

    @property
    def name(self) -> str:
        """The canonical spelling (``"x1^2"``, ``"x1*x2"``, ``"sin(x1)"``), 1-based."""
        a = f"x{self.cols[0] + 1}"
        if self.kind == "product":
            return f"{a}*x{self.cols[1] + 1}"
        return {"x": a, "square": f"{a}^2", "sin": f"sin({a})", "cos": f"cos({a})"}[self.kind]


def parse_feature(name: object) -> Term:
    """Parse one feature name, ignoring case and spaces; ``**`` and ``²`` are read as ``^2``."""
    if not isinstance(name, str):
        raise HyperparameterError(
            f"a feature is a string such as 'x1', 'x1^2', 'x1*x2' or 'sin(x1)'. Received: {name!r}"
        )
    key = name.lower().replace(" ", "").replace("**", "^").replace("²", "^2")
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(key)
        if match:
            cols = tuple(int(g) - 1 for g in match.groups())
            if min(cols) < 0:
                break  # x0: columns count from 1 here, as x₁, x₂ in the formulas
            return Term(kind, tuple(sorted(cols)))
    raise HyperparameterError(
        f"unknown feature {name!r}: expected one of the forms {', '.join(FEATURE_FORMS)}, with i, j "
        "the 1-based input columns (x1 is the first column), e.g. "
        f"{list(PLAYGROUND_FEATURES)}. Received: {name!r}"
    )


class Features(Module):
    r"""Fixed feature transforms of the input, the TensorFlow Playground's input column.

    Each output column k is one function f_k of the input row x = (x1, x2, ...):

    ==========  =================  ==========================================
    feature     forward f_k        backward: ∂f_k/∂x (non-zero entries)
    ==========  =================  ==========================================
    "xi"        x_i                ∂f/∂x_i = 1
    "xi^2"      x_i²               ∂f/∂x_i = 2·x_i
    "xi*xj"     x_i·x_j            ∂f/∂x_i = x_j,  ∂f/∂x_j = x_i   (i = j: 2·x_i)
    "sin(xi)"   sin(x_i)           ∂f/∂x_i = cos(x_i)
    "cos(xi)"   cos(x_i)           ∂f/∂x_i = -sin(x_i)
    ==========  =================  ==========================================

    Backward (chain rule over the columns): dL/dx_i = Σ_k dL/df_k · ∂f_k/∂x_i.
    Shapes: input (..., in_features), output (..., len(features)).

    Parameters
    ----------
    features : sequence of str
        The feature names in output order, 1-based (``"x1"`` is the input's first column), case
        and spaces ignored; kept in canonical spelling (``"X1 * X2"`` -> ``"x1*x2"``).
    in_features : int, optional
        Input columns; by default the largest column the features read.
    """

    def __init__(self, features: Sequence[str] = PLAYGROUND_FEATURES, in_features: int | None = None) -> None:
        super().__init__()
        if isinstance(features, str) or not isinstance(features, Sequence) or not features:
            raise HyperparameterError(
                f"features must be a non-empty list of feature names, e.g. {list(PLAYGROUND_FEATURES)}. "
                f"Received: features={features!r}"
            )
        self.terms = [parse_feature(f) for f in features]
        names = [t.name for t in self.terms]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise HyperparameterError(f"features must not repeat a feature. Received: {repeated} twice")
        needed = max(c for t in self.terms for c in t.cols) + 1
        if in_features is None:
            in_features = needed
        self.in_features = check_positive_int(in_features, "in_features")
        if needed > self.in_features:
            raise HyperparameterError(
                f"feature 'x{needed}' reads input column {needed}, but in_features={self.in_features}. "
                f"Received: features={names}"
            )
        self.features = tuple(names)

    @property
    def out_features(self) -> int:
        return len(self.features)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"Features(in_features={self.in_features}) expects input of shape (..., {self.in_features}). "
                f"Received: {describe(x)}"
            )
        out = np.empty((*x.shape[:-1], len(self.terms)), dtype=x.dtype)
        for k, (kind, cols) in enumerate(self.terms):
            xi = x[..., cols[0]]
            if kind == "x":
                out[..., k] = xi
            elif kind == "square":
                out[..., k] = xi * xi
            elif kind == "product":
                out[..., k] = xi * x[..., cols[1]]
            elif kind == "sin":
                out[..., k] = np.sin(xi)
            else:  # cos
                out[..., k] = np.cos(xi)
        self._cache = x
        return out

    def backward(self, grad_out: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        x = self._cached()
        g = check_grad_out(grad_out, (*x.shape[:-1], len(self.terms)), self)
        if not input_grad:
            return None
        dx = np.zeros_like(x, dtype=np.result_type(x, g))
        for k, (kind, cols) in enumerate(self.terms):
            i, gk = cols[0], g[..., k]  # dL/df_k
            xi = x[..., i]
            if kind == "x":
                dx[..., i] += gk  # ∂x_i/∂x_i = 1
            elif kind == "square":
                dx[..., i] += gk * (2.0 * xi)  # ∂x_i²/∂x_i = 2 x_i
            elif kind == "product":
                j = cols[1]
                dx[..., i] += gk * x[..., j]  # ∂(x_i x_j)/∂x_i = x_j
                dx[..., j] += gk * xi  # ∂(x_i x_j)/∂x_j = x_i   (both terms when i = j: 2 x_i)
            elif kind == "sin":
                dx[..., i] += gk * np.cos(xi)  # ∂sin(x_i)/∂x_i = cos(x_i)
            else:
                dx[..., i] -= gk * np.sin(xi)  # ∂cos(x_i)/∂x_i = -sin(x_i)
        return dx

    def extra_repr(self) -> str:
        return f"{list(self.features)}, in_features={self.in_features}"


__all__ = ["FEATURE_FORMS", "PLAYGROUND_FEATURES", "Features", "Term", "parse_feature"]
