"""How each activation is written: f(z) and f'(z), in symbols and with the numbers in.

One function per question ("how is f written?", "how is one entry of f computed?", "how is f'
written?"), each dispatching on the activation's type. Element-wise activations get f'(z) as
numbers from the engine itself (``trace.fprime``); Softmax's Jacobian is handled by the backward
builder.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.engine.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh

from .mathfmt import Line, Mat, T, Tex, fmt_num, latex_num, num, paren_num
from .steps import Note


def is_symbolic(act: Any) -> bool:
    """A formula activation (built by ``Activation.from_expression``), without importing sympy."""
    return isinstance(act, Activation) and hasattr(act, "latex_at") and hasattr(act, "expression")


def _latex_name(name: str) -> str:
    safe = "".join(ch if ch.isalnum() else " " for ch in name).strip() or "f"
    return r"\operatorname{" + "\\ ".join(safe.split()) + "}"


def name_of(act: Any) -> str:
    """A short plain name for headings."""
    if act is None:
        return "none"
    if is_symbolic(act):
        return act.expression
    if isinstance(act, Activation):
        return act.name
    return {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "ReLU", LeakyReLU: "LeakyReLU", Softmax: "softmax"}.get(
        type(act), "identity"
    )


def apply(act: Any, arg: Tex) -> Tex:
    """f(arg) in symbols, e.g. ``σ(z⁽¹⁾)``."""
    if act is None or isinstance(act, Identity):
        return arg
    if isinstance(act, Sigmoid):
        return Tex(r"\sigma\left(" + arg.latex + r"\right)", f"σ({arg.text})")
    if isinstance(act, Tanh):
        return Tex(r"\tanh\left(" + arg.latex + r"\right)", f"tanh({arg.text})")
    if isinstance(act, ReLU):
        return Tex(r"\max\left(0,\ " + arg.latex + r"\right)", f"max(0, {arg.text})")
    if isinstance(act, LeakyReLU):
        s = fmt_num(act.negative_slope, 6)
        return Tex(
            r"\operatorname{LeakyReLU}_{" + s + r"}\left(" + arg.latex + r"\right)",
            f"LeakyReLU_{s}({arg.text})",
        )
    if isinstance(act, Softmax):
        return Tex(r"\operatorname{softmax}\left(" + arg.latex + r"\right)", f"softmax({arg.text})")
    if is_symbolic(act):
        return Tex(act.latex_at("{" + arg.latex + "}"), act.text_at(arg.text))
    return Tex(_latex_name(act.name) + r"\left(" + arg.latex + r"\right)", f"{act.name}({arg.text})")


def definition(act: Any) -> Note | None:
    """The definition of f (and f') as a note, where it is worth stating."""
    if isinstance(act, Sigmoid):
        return Note(
            r"$\sigma(x) = \frac{1}{1 + e^{-x}}$ and $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$, "
            r"so the derivative is computed from the output $a$.",
            "σ(x) = 1/(1 + e^(−x)) and σ'(x) = σ(x)(1 − σ(x)), so the derivative is computed from the "
            "output a.",
        )
    if isinstance(act, Tanh):
        return Note(
            r"$\tanh'(x) = 1 - \tanh^2(x)$, so the derivative is computed from the output $a$.",
            "tanh'(x) = 1 − tanh²(x), so the derivative is computed from the output a.",
        )
    if isinstance(act, ReLU):
        return Note(
            r"$\operatorname{ReLU}'(x) = 1$ for $x > 0$ and $0$ for $x \le 0$ (the convention "
            r"$\operatorname{ReLU}'(0) = 0$, as in PyTorch).",
            "ReLU'(x) = 1 for x > 0 and 0 for x ≤ 0 (the convention ReLU'(0) = 0, as in PyTorch).",
        )
    if isinstance(act, LeakyReLU):
        s = fmt_num(act.negative_slope, 6)
        return Note(
            rf"LeakyReLU with slope $s = {s}$: $f(x) = x$ for $x > 0$ and $s x$ otherwise; "
            r"$f'(x) = 1$ for $x > 0$ and $s$ for $x \le 0$.",
            f"LeakyReLU with slope s = {s}: f(x) = x for x > 0 and s·x otherwise; "
            f"f'(x) = 1 for x > 0 and s for x ≤ 0.",
        )
    if isinstance(act, Softmax):
        return Note(
            r"$\operatorname{softmax}(z)_i = \frac{e^{z_i}}{\sum_j e^{z_j}}$, computed column by "
            r"column (one column per sample) after subtracting the column's maximum, which does not "
            "change the result but keeps every exponential at most 1.",
            "softmax(z)_i = e^(z_i) / Σ_j e^(z_j), computed column by column (one column per sample) after "
            "subtracting the column's maximum, which does not change the result but keeps every "
            "exponential ≤ 1.",
        )
    if is_symbolic(act):
        kinks = ", ".join(fmt_num(k, 6) for k in act.kinks)
        extra_m = (
            rf" At the kink(s) $x = {kinks}$ every step $\mathbf{{1}}[\cdot > 0]$ is taken as 0"
            r" (so $\operatorname{ReLU}'(0) = 0$)."
            if kinks
            else ""
        )
        extra_t = (
            f" At the kink(s) x = {kinks} every step 1[· > 0] is taken as 0 (so ReLU'(0) = 0)."
            if kinks
            else ""
        )
        return Note(
            rf"Custom activation $f(x) = {act.latex}$; its derivative, found by sympy, is "
            rf"$f'(x) = {act.derivative_latex}$.{extra_m}",
            f"Custom activation f(x) = {act.text}; its derivative, found by sympy, is "
            f"f'(x) = {act.derivative_text}.{extra_t}",
        )
    if isinstance(act, Activation):
        return Note(
            f"Custom activation `{act.name}`: the values of $f$ and $f'$ come from its own functions.",
            f"Custom activation {act.name!r}: the values of f and f' come from its own functions.",
        )
    return None


def entry(act: Any, z: float, decimals: int) -> Tex | None:
    """How one entry of f(z) is computed with its number in, e.g. ``1/(1 + e^(−1.7))``."""
    zl, zt = paren_num(z, decimals, latex=True), paren_num(z, decimals, latex=False)
    neg_l = latex_num(-z, decimals) if z < 0 else "-" + zl
    neg_t = fmt_num(-z, decimals) if z < 0 else "−" + zt
    if isinstance(act, Sigmoid):
        return Tex(r"\frac{1}{1 + e^{" + neg_l + "}}", f"1/(1 + e^({neg_t}))")
    if isinstance(act, Tanh):
        return Tex(r"\tanh(" + zl + ")", f"tanh({zt})")
    if isinstance(act, ReLU):
        return Tex(r"\max(0,\ " + zl + ")", f"max(0, {zt})")
    if isinstance(act, LeakyReLU):
        if z > 0:
            return num(z, decimals)
        s = fmt_num(act.negative_slope, 6)
        return Tex(s + r" \cdot " + zl, f"{s}·{zt}")
    if is_symbolic(act):
        return Tex(act.latex_at(zl), act.text_at(zt))
    return None


def derivative_symbolic(act: Any, z: Tex, a: Tex) -> Line:
    """f'(z) in symbols, written the way it is computed (from the output a where possible)."""
    if act is None or isinstance(act, Identity):
        return (T("1"),)
    if isinstance(act, Sigmoid):
        return (a, T(r" \odot \left(1 - ", " ⊙ (1 − "), a, T(r"\right)", ")"))
    if isinstance(act, Tanh):
        return (T("1 - ", "1 − "), a, T(r" \odot ", " ⊙ "), a)
    if isinstance(act, ReLU):
        return (T(r"\mathbf{1}\left[", "1["), z, T(r" > 0\right]", " > 0]"))
    if isinstance(act, LeakyReLU):
        s = fmt_num(act.negative_slope, 6)
        return (
            T(r"\left(1 \text{ if } ", "(1 if "),
            z,
            T(rf" > 0 \text{{ else }} {s}\right)", f" > 0 else {s})"),
        )
    if is_symbolic(act):
        return (
            Tex(
                act.derivative_latex_at("{" + z.latex + "}"),
                act.derivative_text_at(z.text),
            ),
        )
    return (Tex(_latex_name(act.name) + r"'\left(" + z.latex + r"\right)", f"{act.name}'({z.text})"),)


def derivative_substituted(act: Any, z: np.ndarray, a: np.ndarray, fprime: np.ndarray) -> Line:
    """f'(z) with the numbers in (display orientation), ending in the values of f'."""
    if act is None or isinstance(act, Identity):
        return (Mat(np.ones_like(z)),)
    if isinstance(act, Sigmoid):
        return (Mat(a), T(r" \odot \left(1 - ", " ⊙ (1 − "), Mat(a), T(r"\right)", ")"))
    if isinstance(act, Tanh):
        return (T("1 - ", "1 − "), Mat(a), T(r" \odot ", " ⊙ "), Mat(a))
    if isinstance(act, ReLU):
        return (T(r"\mathbf{1}\left[", "1["), Mat(z), T(r" > 0\right]", " > 0]"))
    return (Mat(fprime),)


def derivative_entry(act: Any, z: float, a: float, decimals: int) -> Tex | None:
    """One entry of f'(z) with its number in, e.g. ``0.8455 · (1 − 0.8455)``."""
    al, at = paren_num(a, decimals, latex=True), paren_num(a, decimals, latex=False)
    if isinstance(act, Sigmoid):
        return Tex(al + r" \cdot (1 - " + al + ")", f"{at}·(1 − {at})")
    if isinstance(act, Tanh):
        return Tex("1 - " + al + "^2", f"1 − {at}²")
    if is_symbolic(act):
        return Tex(
            act.derivative_latex_at(paren_num(z, decimals, latex=True)),
            act.derivative_text_at(paren_num(z, decimals, latex=False)),
        )
    return None
