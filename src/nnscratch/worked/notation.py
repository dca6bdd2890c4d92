"""Symbols of a worked example and the display orientation of arrays.

Conventions (those of the seeds): ``a⁽⁰⁾ = x``, ``z⁽ˡ⁾`` the pre-activation of layer ``l``,
``a⁽ˡ⁾ = f_l(z⁽ˡ⁾)``, ``ŷ = a⁽ᴸ⁾``, ``δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾``, learning rate ``η``. Vectors are columns;
a batch is a matrix with one column per sample. ``layout="out_in"`` shows W as (out, in) with
``z = W a + b``; ``layout="in_out"`` shows it as (in, out) with ``z = Wᵀ a + b`` (``w_ij`` joins
node i of the previous layer to node j).
"""

from __future__ import annotations

import numpy as np

from nnscratch.base.validation import check_choice

from .mathfmt import Tex, sup, sym

LAYOUTS = ("out_in", "in_out")


class Notation:
    """Symbol factory for one layout."""

    def __init__(self, layout: str, n_layers: int) -> None:
        self.layout = check_choice(layout, "layout", LAYOUTS)
        self.L = n_layers

    # -- arrays in display orientation ------------------------------------------------------------
    def W(self, weight: np.ndarray) -> np.ndarray:
        """An engine weight (out, in) as the user writes it."""
        return weight if self.layout == "out_in" else weight.T

    @staticmethod
    def cols(batch: np.ndarray) -> np.ndarray:
        """Engine rows (N, k) as columns (k, N), one column per sample."""
        arr = np.asarray(batch, dtype=np.float64)
        return arr.reshape(-1, 1) if arr.ndim == 1 else arr.T

    @staticmethod
    def col(vector: np.ndarray) -> np.ndarray:
        return np.asarray(vector, dtype=np.float64).reshape(-1, 1)

    # -- symbols -----------------------------------------------------------------------------------
    def z(self, l: int) -> Tex:
        return sym("z", "z", l)

    def a(self, l: int, *, transpose: bool = False) -> Tex:
        return sym("a", "a", l, transpose=transpose)

    def Wsym(self, l: int, *, transpose: bool = False) -> Tex:
        return sym("W", "W", l, transpose=transpose)

    def b(self, l: int) -> Tex:
        return sym("b", "b", l)

    def delta(self, l: int, *, transpose: bool = False) -> Tex:
        return sym(r"\delta", "δ", l, transpose=transpose)

    @staticmethod
    def partial(of: Tex) -> Tex:
        return Tex(r"\frac{\partial L}{\partial " + of.latex + "}", f"∂L/∂{of.text}")

    def dW(self, l: int) -> Tex:
        return self.partial(self.Wsym(l))

    def db(self, l: int) -> Tex:
        return self.partial(self.b(l))

    def dA(self, l: int) -> Tex:
        return self.partial(self.a(l))

    def new(self, of: Tex) -> Tex:
        return Tex(of.latex + r"_{\text{new}}", of.text + "_new")

    yhat = Tex(r"\hat{y}", "ŷ")
    y = Tex("y", "y")
    eta = Tex(r"\eta", "η")
    loss = Tex("L", "L")

    def layer_name(self, l: int) -> str:
        return "output layer" if l == self.L else f"layer {l}"

    @staticmethod
    def superscript(l: int) -> str:
        return sup(l)
