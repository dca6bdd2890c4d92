"""``explain(LayerNorm(D), x, y, loss=...)``, also inside a Sequential with Linear layers and
element-wise activations: the forward and backward pass written with one row per sample.

Linear: ``h⁽ᵐ⁾ = h⁽ᵐ⁻¹⁾ Wᵀ + b``, backward ``∂L/∂W = Gᵀ h⁽ᵐ⁻¹⁾``, ``∂L/∂b = Σ_rows G``,
``∂L/∂h⁽ᵐ⁻¹⁾ = G W``. Activation: ``h⁽ᵐ⁾ = f(h⁽ᵐ⁻¹⁾)``, backward ``G ⊙ f'(h⁽ᵐ⁻¹⁾)``. LayerNorm: see
:mod:`nnscratch.worked.layernorm_steps`.
"""

from __future__ import annotations

from typing import Any

from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.layers.smooth_activations import GELU, SiLU
from nnscratch.engine.module import Module

from . import activation_rules as act_rules
from .build_forward import apply_to
from .chain_symbols import ChainSymbols
from .chain_trace import ChainTrace, ModuleTrace, run_chain
from .layernorm_steps import backward_steps, forward_steps, given_steps
from .mathfmt import Mat, T, Tex, sym
from .row_steps import TARGET, answers, grad, loss_steps, row
from .steps import Note, Section, Step
from .worked import WorkedExample

TT = T(r"^{\top}", "ᵀ")
PARAM_GRADS = ("dW", "db", "dgamma", "dbeta")
SUM_ROWS = T(r"\textstyle\sum_{\text{rows}} ", "Σ_rows ")


def _describe(m: Module) -> str:
    if isinstance(m, Linear):
        return f"Linear({m.in_features}→{m.out_features})"
    if hasattr(m, "normalized_shape"):
        return f"LayerNorm({m.normalized_shape[0]})"
    return _act_name(m)


def _act_name(m: Module) -> str:
    return type(m).__name__ if isinstance(m, (GELU, SiLU)) else act_rules.name_of(m)


def _apply(m: Module, arg: Tex) -> Tex:
    if isinstance(m, (GELU, SiLU)):
        name = type(m).__name__
        return Tex(rf"\operatorname{{{name}}}\left(" + arg.latex + r"\right)", f"{name}({arg.text})")
    return act_rules.apply(m, arg)


def _apply_to(m: Module, arg: Mat) -> tuple:
    """f(matrix) with the numbers in."""
    if isinstance(m, (GELU, SiLU)):
        name = type(m).__name__
        return (T(rf"\operatorname{{{name}}}\left(", f"{name}("), arg, T(r"\right)", ")"))
    return apply_to(m, arg)


def _given(tr: ChainTrace, cs: ChainSymbols) -> Section:
    sec = Section("Given")
    sec.add(Step("x", "Input, one row per sample", cs.h(0), tr.x))
    for mt in tr.modules:
        m = mt.index
        if mt.kind == "linear":
            lin: Linear = mt.module  # type: ignore[assignment]
            sec.add(
                Step(
                    f"W{m}",
                    f"Weights of module {m} (Linear), shape (out, in)",
                    sym("W", "W", m),
                    lin.weight.data,
                )
            )
            if lin.bias is not None:
                sec.add(Step(f"b{m}", f"Bias of module {m} (Linear)", sym("b", "b", m), row(lin.bias.data)))
        elif mt.kind == "layernorm":
            for step in given_steps(mt, cs):
                sec.add(step)
    sec.add(Step("y", "Target", TARGET, tr.target))
    return sec


def _linear_forward(mt: ModuleTrace, cs: ChainSymbols) -> Step:
    lin: Linear = mt.module  # type: ignore[assignment]
    m = mt.index
    symbolic = (cs.h(m - 1), T(" "), sym("W", "W", m, transpose=True))
    substituted = (Mat(mt.x), T(" "), Mat(lin.weight.data), TT)
    if lin.bias is not None:
        symbolic += (T(" + "), sym("b", "b", m))
        substituted += (T(" + "), Mat(row(lin.bias.data)))
    return Step(cs.out_key(m), f"Module {m} (Linear)", cs.h(m), mt.out, symbolic, substituted)


def _activation_forward(mt: ModuleTrace, cs: ChainSymbols) -> Step:
    m = mt.index
    step = Step(
        cs.out_key(m),
        f"Module {m} ({_act_name(mt.module)})",
        cs.h(m),
        mt.out,
        (_apply(mt.module, cs.h(m - 1)),),
        _apply_to(mt.module, Mat(mt.x)),
    )
    note = act_rules.definition(mt.module)
    if note is not None:
        step.notes.append(note)
    return step


def _linear_backward(mt: ModuleTrace, cs: ChainSymbols) -> list[Step]:
    lin: Linear = mt.module  # type: ignore[assignment]
    m = mt.index
    G, dG = Mat(mt.g_out), grad(cs.h(m))
    out = [
        Step(
            f"dW{m}",
            f"Gradient of the weights of module {m}",
            grad(sym("W", "W", m)),
            mt.grads["weight"],
            (dG, TT, T(" "), cs.h(m - 1)),
            (G, TT, T(" "), Mat(mt.x)),
        )
    ]
    if lin.bias is not None:
        out.append(
            Step(
                f"db{m}",
                f"Gradient of the bias of module {m}",
                grad(sym("b", "b", m)),
                row(mt.grads["bias"]),
                (SUM_ROWS, dG),
                (SUM_ROWS, G),
            )
        )
    out.append(
        Step(
            cs.in_grad_key(m),
            f"Gradient at the input of module {m}",
            grad(cs.h(m - 1)),
            mt.g_in,
            (dG, T(" "), sym("W", "W", m)),
            (G, T(" "), Mat(lin.weight.data)),
        )
    )
    return out


def _activation_backward(mt: ModuleTrace, cs: ChainSymbols) -> Step:
    m = mt.index
    fprime = Tex("f'(" + cs.h(m - 1).latex + ")", f"f'({cs.h(m - 1).text})")
    return Step(
        cs.in_grad_key(m),
        f"Gradient at the input of module {m} ({_act_name(mt.module)})",
        grad(cs.h(m - 1)),
        mt.g_in,
        (grad(cs.h(m)), T(r" \odot ", " ⊙ "), fprime),
        (Mat(mt.g_out), T(r" \odot ", " ⊙ "), Mat(mt.fprime)),
        notes=[
            Note("$f'$ computed by the engine, entry by entry.", "f' computed by the engine, entry by entry.")
        ],
    )


def _header(tr: ChainTrace, decimals: int) -> list[Note]:
    arch = " → ".join(_describe(mt.module) for mt in tr.modules)
    n = tr.x.shape[0]
    samples = "one sample (one row)" if n == 1 else f"a batch of {n} samples, one row per sample"
    md_arch = f"`{arch}`" if len(tr.modules) == 1 else arch
    prec = (
        f"Computed in float64 by the nnscratch engine; shown rounded to {decimals} decimals "
        "(intermediate values are not rounded)."
    )
    return [
        Note(f"Model: {md_arch}; input: {samples}.", f"Model: {arch}; input: {samples}."),
        Note(
            "Notation: weights as PyTorch stores them, (out, in); a row vector (bias, γ, β) is added to "
            "every row, a column vector (μ, σ̂) applies across its row.".replace("γ", "$\\gamma$")
            .replace("β", "$\\beta$")
            .replace("μ", "$\\mu$")
            .replace("σ̂", "$\\hat{\\sigma}$"),
            "Notation: weights as PyTorch stores them, (out, in); a row vector (bias, γ, β) is added to "
            "every row, a column vector (μ, σ̂) applies across its row.",
        ),
        Note(prec, prec),
    ]


def explain_chain(
    model: Any, x: Any, y: Any, *, loss: Any, decimals: int, title: str | None = None
) -> WorkedExample:
    """The worked example of a LayerNorm model (see :func:`nnscratch.explain`)."""
    tr = run_chain(model, x, y, loss=loss)
    cs = ChainSymbols(tr)
    forward = Section("Forward pass")
    backward = Section("Backward pass")
    for mt in tr.modules:
        if mt.kind == "layernorm":
            forward.steps.extend(forward_steps(mt, cs, decimals))
        elif mt.kind == "linear":
            forward.add(_linear_forward(mt, cs))
        else:
            forward.add(_activation_forward(mt, cs))
    for mt in reversed(tr.modules):
        if mt.kind == "layernorm":
            backward.steps.extend(backward_steps(mt, cs))
        elif mt.kind == "linear":
            backward.steps.extend(_linear_backward(mt, cs))
        else:
            backward.add(_activation_backward(mt, cs))
    sections = [
        _given(tr, cs),
        forward,
        loss_steps(tr.loss_fn, tr.output, tr.target, tr.loss, tr.dL_dy),
        backward,
    ]
    grads = [s.key for s in backward.steps if s.key and (s.key == "dx" or s.key.startswith(PARAM_GRADS))]
    sections.append(answers(sections, ["yhat", "loss", *grads]))
    arch = " → ".join(_describe(mt.module) for mt in tr.modules)
    topics = ["layernorm", "chain"] + (["linear"] if any(mt.kind == "linear" for mt in tr.modules) else [])
    return WorkedExample(
        title or f"Worked example: {arch}",
        _header(tr, decimals),
        sections,
        decimals=decimals,
        layout="out_in",
        aliases={"output": "yhat", "X": "x", "dL_dx": "dx", "dL_dy": "dL_dyhat", "target": "y"},
        topics=topics,
        trace=tr,
    )


__all__ = ["explain_chain"]
