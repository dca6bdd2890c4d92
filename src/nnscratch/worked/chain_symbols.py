"""Symbols and quantity names of a worked LayerNorm model, one row per sample.

Module ``m`` (1-based) maps ``h⁽ᵐ⁻¹⁾`` to ``h⁽ᵐ⁾``, with ``h⁽⁰⁾ = X`` and the last output ``Ŷ``.
A LayerNorm on its own needs no module numbers: ``X``, ``μ``, ``σ²``, ``x̂``, ``Ŷ``.
"""

from __future__ import annotations

from .chain_trace import ChainTrace
from .mathfmt import Tex, sym
from .row_steps import YHAT


class ChainSymbols:
    def __init__(self, tr: ChainTrace) -> None:
        self.L = len(tr.modules)
        self.single = self.L == 1

    def sfx(self, m: int) -> str:
        """The module number in quantity names (``mu2``), none for a lone LayerNorm (``mu``)."""
        return "" if self.single else str(m)

    def of(self, latex: str, text: str, m: int) -> Tex:
        """A per-module symbol: ``μ⁽²⁾``, or ``μ`` for a lone LayerNorm."""
        return sym(latex, text, None if self.single else m)

    def h(self, m: int) -> Tex:
        """The output of module m (``X`` for m = 0, ``Ŷ`` for the last)."""
        if m == 0:
            return Tex("X", "X")
        return YHAT if m == self.L else sym("h", "h", m)

    def out_key(self, m: int) -> str:
        return "yhat" if m == self.L else f"h{m}"

    @staticmethod
    def in_grad_key(m: int) -> str:
        """The name of ∂L/∂(input of module m)."""
        return "dx" if m == 1 else f"dh{m - 1}"

    def out_grad_key(self, m: int) -> str:
        return "dL_dyhat" if m == self.L else f"dh{m}"

    def name(self, m: int, what: str) -> str:
        """``module 2 (LayerNorm)`` in titles, nothing for a lone LayerNorm."""
        return "" if self.single else f" of module {m} ({what})"


__all__ = ["ChainSymbols"]
