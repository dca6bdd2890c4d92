"""Math tokens shared by every renderer: text fragments with a LaTeX and a plain form, and arrays.

A formula line is a sequence of tokens. :class:`Tex` is a fragment written twice, once in LaTeX
(``z^{(1)}``) and once in Unicode for the terminal (``z⁽¹⁾``); :class:`Mat` is a numeric array
shown as a bracketed matrix (``bmatrix`` in LaTeX, a bracket block in text) with its entries
rounded for display only — the values themselves keep full precision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

_SUPERSCRIPT = str.maketrans("0123456789-()lLT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁽⁾ˡᴸᵀ")


@dataclass(frozen=True)
class Tex:
    """A formula fragment: ``latex`` for Markdown/LaTeX output, ``text`` for the terminal."""

    latex: str
    text: str

    def __add__(self, other: Tex) -> Tex:
        return Tex(self.latex + other.latex, self.text + other.text)


@dataclass(frozen=True, eq=False)
class Mat:
    """A numeric array displayed as a matrix: 2-D as is, 1-D as a column, 0-D as a number."""

    value: np.ndarray

    def __init__(self, value: Any) -> None:
        object.__setattr__(self, "value", np.asarray(value, dtype=np.float64))


Token = Tex | Mat
Line = tuple[Token, ...]


def T(latex: str, text: str | None = None) -> Tex:
    """Shorthand for a fragment whose plain form defaults to its LaTeX form."""
    return Tex(latex, latex if text is None else text)


def sup(index: int | str) -> str:
    """``(1)`` as Unicode superscript: ``⁽¹⁾``."""
    return f"({index})".translate(_SUPERSCRIPT)


def sym(name_latex: str, name_text: str, layer: int | str | None = None, *, transpose: bool = False) -> Tex:
    """A layer-indexed symbol such as ``W^{(2)\\top}`` / ``W⁽²⁾ᵀ``."""
    lt, tt = name_latex, name_text
    if layer is not None:
        lt += "^{(" + str(layer) + ")" + (r"\top" if transpose else "") + "}"
        tt += sup(layer) + ("ᵀ" if transpose else "")
    elif transpose:
        lt += r"^{\top}"
        tt += "ᵀ"
    return Tex(lt, tt)


def fmt_num(v: float, decimals: int) -> str:
    """Round ``v`` for display: ``0.8221``, ``0.0260`` (rounded values keep all ``decimals``
    digits), ``0.4`` and ``1`` (values exact at this precision, such as given data, lose their
    trailing zeros), ``3.1e-05`` for values too small to show (never a misleading 0)."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v != 0 and abs(v) < 0.5 * 10.0**-decimals:
        return f"{v:.{max(decimals - 2, 1)}e}"
    if abs(v) >= 1e9:
        return f"{v:.{decimals}e}"
    rounded = round(v, decimals)
    s = f"{rounded:.{decimals}f}"
    if "." in s and abs(rounded - v) <= 1e-12 * max(1.0, abs(v)):
        s = s.rstrip("0").rstrip(".")  # exact at this precision (given data): no padding zeros
    return "0" if s.strip("-0.") == "" else s


def latex_num(v: float, decimals: int) -> str:
    """:func:`fmt_num` in LaTeX: ``3.1 \\times 10^{-5}`` instead of ``3.1e-05``."""
    s = fmt_num(v, decimals)
    if "e" in s and s not in ("inf", "-inf"):
        mantissa, exponent = s.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    if s in ("inf", "-inf"):
        return s.replace("inf", r"\infty")
    return s


def paren_num(v: float, decimals: int, *, latex: bool) -> str:
    """A number to substitute into a product: negative values in parentheses, ``(-0.5)``."""
    s = latex_num(v, decimals) if latex else fmt_num(v, decimals)
    return f"({s})" if s.startswith("-") else s


def num(v: float, decimals: int, *, paren: bool = False) -> Tex:
    """A scalar as a fragment (optionally parenthesised when negative)."""
    if paren:
        return Tex(paren_num(v, decimals, latex=True), paren_num(v, decimals, latex=False))
    return Tex(latex_num(v, decimals), fmt_num(v, decimals))


def as_display_2d(value: np.ndarray) -> np.ndarray:
    """The 2-D table a value is shown as: 1-D arrays become columns."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    if arr.ndim == 1:
        return arr.reshape(-1, 1)
    return arr.reshape(arr.shape[0], -1)


def latex_matrix(value: np.ndarray, decimals: int) -> str:
    """A ``bmatrix`` (or a bare number for a 0-D value)."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return latex_num(float(arr), decimals)
    rows = as_display_2d(arr)
    body = r" \\ ".join(" & ".join(latex_num(v, decimals) for v in row) for row in rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def text_matrix(value: np.ndarray, decimals: int) -> list[str]:
    """A matrix as lines of text with bracket characters, columns right-aligned."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return [fmt_num(float(arr), decimals)]
    rows = as_display_2d(arr)
    cells = [[fmt_num(v, decimals) for v in row] for row in rows]
    widths = [max(len(r[j]) for r in cells) for j in range(rows.shape[1])]
    body = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    if len(body) == 1:
        return [f"[{body[0]}]"]
    out = []
    for i, line in enumerate(body):
        left, right = ("⎡", "⎤") if i == 0 else ("⎣", "⎦") if i == len(body) - 1 else ("⎢", "⎥")
        out.append(f"{left}{line}{right}")
    return out


def inline_array(value: Any, decimals: int) -> str:
    """``[1.7, 2.5]ᵀ`` for a column, ``[[a, b], [c, d]]`` for a matrix, a number for a scalar."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0 or arr.size == 1:
        return fmt_num(float(arr.reshape(-1)[0]), decimals)
    rows = as_display_2d(arr)
    if rows.shape[1] == 1:
        return "[" + ", ".join(fmt_num(v, decimals) for v in rows[:, 0]) + "]ᵀ"
    return "[" + ", ".join("[" + ", ".join(fmt_num(v, decimals) for v in r) + "]" for r in rows) + "]"


_SCALAR_OPS = {r"\odot": r"\cdot", "⊙": "·", r"\oslash": "/", "⊘": "/"}


def scalarize(tokens: Line) -> Line:
    """For a line whose arrays are all single numbers: ⊙ → ·, ⊘ → /, and no transposes."""
    if any(isinstance(t, Mat) and t.value.size != 1 for t in tokens):
        return tokens
    out: list[Token] = []
    for tok in tokens:
        if isinstance(tok, Tex):
            if tok.text == "ᵀ":
                continue
            latex, text = tok.latex, tok.text
            for old, new in _SCALAR_OPS.items():
                latex, text = latex.replace(old, new), text.replace(old, new)
            tok = Tex(latex, text)
        out.append(tok)
    return tuple(out)
