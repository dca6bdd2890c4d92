"""The "Backward pass" section: error terms δ⁽ˡ⁾ and the gradients of every weight and bias.

For the output layer the loss gives ∂L/∂a⁽ᴸ⁾; each layer then turns ∂L/∂a⁽ˡ⁾ into
δ⁽ˡ⁾ = ∂L/∂a⁽ˡ⁾ ⊙ f'(z⁽ˡ⁾) (Softmax: its Jacobian), ∂L/∂W⁽ˡ⁾ = δ⁽ˡ⁾ a⁽ˡ⁻¹⁾ᵀ (out_in) or
a⁽ˡ⁻¹⁾ δ⁽ˡ⁾ᵀ (in_out), ∂L/∂b⁽ˡ⁾ = δ⁽ˡ⁾ summed over samples, and sends
∂L/∂a⁽ˡ⁻¹⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁾ (out_in; W⁽ˡ⁾ δ⁽ˡ⁾ in in_out) to the layer below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.engine.layers.activations import Softmax

from . import activation_rules as act_rules
from .build_forward import logits_loss
from .build_loss import fused_case, fused_delta_lines, fused_note, loss_gradient_step
from .mathfmt import Line, Mat, T, Tex, num
from .notation import Notation
from .steps import Note, Section, Step, line
from .trace import LayerTrace, Trace

MAX_DETAIL = 8


def _delta_step(lt: LayerTrace, nt: Notation, trace: Trace, decimals: int) -> Step:
    l, act = lt.index, lt.activation
    title = f"Error term of {nt.layer_name(l)}, δ = ∂L/∂z"
    value = nt.cols(lt.delta)
    dA, dA_mat = nt.dA(l), Mat(nt.cols(lt.dL_da))
    z_mat, a_mat = nt.cols(lt.z), nt.cols(lt.a)
    if l == nt.L and fused_case(trace) is not None:
        symbolic, substituted = fused_delta_lines(trace, nt)
        chain = Note(
            "Fused shortcut: the general rule $\\delta = \\frac{\\partial L}{\\partial a} \\odot f'(z)$ "
            "gives the same numbers.",
            "Fused shortcut: the general rule δ = ∂L/∂a ⊙ f'(z) gives the same numbers.",
        )
        return Step(
            f"delta{l}", title, nt.delta(l), value, symbolic, substituted, notes=[fused_note(trace), chain]
        )
    if act is None or isinstance(act, act_rules.Identity):
        return Step(
            f"delta{l}",
            title,
            nt.delta(l),
            value,
            (dA,),
            (dA_mat,),
            notes=[
                Note(
                    "No activation, so $\\delta = \\partial L / \\partial a$.", "No activation, so δ = ∂L/∂a."
                )
            ],
        )
    if isinstance(act, Softmax):
        return _softmax_delta(lt, nt, title)
    symbolic = line(
        dA,
        T(r" \odot ", " ⊙ "),
        T(r"\left(", "("),
        act_rules.derivative_symbolic(act, nt.z(l), nt.a(l)),
        T(r"\right)", ")"),
    )
    substituted = line(
        dA_mat,
        T(r" \odot ", " ⊙ "),
        T(r"\left(", "("),
        act_rules.derivative_substituted(act, z_mat, a_mat, nt.cols(lt.fprime)),
        T(r"\right)", ")"),
    )
    step = Step(f"delta{l}", title, nt.delta(l), value, symbolic, substituted)
    if (
        isinstance(act, (act_rules.ReLU, act_rules.LeakyReLU))
        or act_rules.is_symbolic(act)
        or (isinstance(act, act_rules.Activation))
    ):
        note = act_rules.definition(act)
        if note is not None:
            step.notes.append(note)
    if trace.n_samples == 1 and 1 < lt.z.shape[1] <= MAX_DETAIL:
        step.details.extend(_delta_details(lt, nt, decimals))
    return step


def _delta_details(lt: LayerTrace, nt: Notation, decimals: int) -> list[Line]:
    out: list[Line] = []
    for j in range(lt.z.shape[1]):
        expansion = act_rules.derivative_entry(lt.activation, float(lt.z[0, j]), float(lt.a[0, j]), decimals)
        g = num(lt.dL_da[0, j], decimals, paren=True)
        fp = expansion if expansion is not None else num(lt.fprime[0, j], decimals, paren=True)
        lhs = Tex(f"\\delta^{{({lt.index})}}_{{{j + 1}}}", f"δ{nt.superscript(lt.index)}_{j + 1}")
        body = line(g, T(r" \cdot ", "·"), T(r"\left(", "("), fp, T(r"\right)", ")"))
        out.append(line(lhs, T(" = "), body, T(" = "), num(lt.delta[0, j], decimals)))
    return out


def _softmax_delta(lt: LayerTrace, nt: Notation, title: str) -> Step:
    l = lt.index
    a, g = nt.cols(lt.a), nt.cols(lt.dL_da)
    s = (a * g).sum(axis=0, keepdims=True) * np.ones_like(a)
    symbolic = line(nt.a(l), T(r" \odot \left(", " ⊙ ("), nt.dA(l), T(" - s\\right)", " − s)"))
    substituted = line(
        Mat(a), T(r" \odot \left(", " ⊙ ("), Mat(g), T(" - ", " − "), Mat(s), T(r"\right)", ")")
    )
    note = Note(
        r"Softmax mixes its inputs, so its Jacobian $\partial a_k/\partial z_j = a_k(\delta_{kj} - a_j)$ "
        r"is not diagonal: $\delta_j = a_j\left(g_j - s\right)$ with $g = \partial L/\partial a$ and "
        r"$s = \sum_k a_k g_k$ (one $s$ per sample, repeated down its column).",
        "Softmax mixes its inputs, so its Jacobian ∂a_k/∂z_j = a_k(δ_kj − a_j) is not diagonal: "
        "δ_j = a_j(g_j − s) with g = ∂L/∂a and s = Σ_k a_k g_k (one s per sample, repeated down its column).",
    )
    return Step(f"delta{l}", title, nt.delta(l), nt.cols(lt.delta), symbolic, substituted, notes=[note])


def _grad_steps(lt: LayerTrace, nt: Notation, single: bool) -> list[Step]:
    l = lt.index
    delta = Mat(nt.cols(lt.delta))
    a_prev = Mat(nt.cols(lt.a_prev))
    if nt.layout == "out_in":
        symbolic = (nt.delta(l), T(" "), nt.a(l - 1, transpose=True))
        substituted = (delta, T(" "), a_prev, T(r"^{\top}", "ᵀ"))
    else:
        symbolic = (nt.a(l - 1), T(" "), nt.delta(l, transpose=True))
        substituted = (a_prev, T(" "), delta, T(r"^{\top}", "ᵀ"))
    notes = []
    if not single:
        notes.append(
            Note(
                "The product sums the per-sample outer products over the batch.",
                "The product sums the per-sample outer products over the batch.",
            )
        )
    steps = [
        Step(
            f"dW{l}",
            f"Gradient of the weights of {nt.layer_name(l)}",
            nt.dW(l),
            nt.W(lt.dW),
            symbolic,
            substituted,
            notes=notes,
        )
    ]
    if lt.db is not None:
        formula: tuple[Any, ...] = ((nt.delta(l),),)
        notes: list[Note] = []
        if not single:  # a batch: db = δ 1, the sum of δ over the samples
            ones = Mat(np.ones((lt.delta.shape[0], 1)))
            formula = ((nt.delta(l), T(r" \mathbf{1}", " 1")), (delta, T(" "), ones))
            notes = [
                Note(
                    "Multiplying by a column of ones sums $\\delta$ over the samples.",
                    "Multiplying by a column of ones sums δ over the samples.",
                )
            ]
        title = f"Gradient of the bias of {nt.layer_name(l)}"
        steps.append(Step(f"db{l}", title, nt.db(l), nt.col(lt.db), *formula, notes=notes))
    return steps


def _propagate_step(lt: LayerTrace, nt: Notation) -> Step:
    """∂L/∂a⁽ˡ⁻¹⁾ from layer l's δ: the error sent back through the weights."""
    l = lt.index
    W = Mat(nt.W(lt.W))
    delta = Mat(nt.cols(lt.delta))
    if nt.layout == "out_in":
        symbolic = (nt.Wsym(l, transpose=True), T(" "), nt.delta(l))
        substituted = (W, T(r"^{\top}", "ᵀ"), T(" "), delta)
    else:
        symbolic = (nt.Wsym(l), T(" "), nt.delta(l))
        substituted = (W, T(" "), delta)
    return Step(
        f"dL_da{l - 1}",
        f"Error sent back to {nt.layer_name(l - 1)}",
        nt.dA(l - 1),
        nt.cols(lt.dL_da_prev),
        symbolic,
        substituted,
    )


def backward_section(trace: Trace, nt: Notation, decimals: int) -> Section:
    sec = Section("Backward pass")
    single = trace.n_samples == 1
    last = trace.layers[-1]
    skip_output_grad = logits_loss(trace) and last.activation is None
    if skip_output_grad:  # the loss hands δ⁽ᴸ⁾ over directly
        step = loss_gradient_step(trace, nt, decimals)
        step.key, step.lhs = f"delta{nt.L}", nt.delta(nt.L)
        step.title = "Error term of the output layer, δ = ∂L/∂z (from the loss)"
        sec.add(step)
    else:
        sec.add(loss_gradient_step(trace, nt, decimals))
    for lt in reversed(trace.layers):
        if lt.index < nt.L:
            sec.add(_propagate_step(trace.layers[lt.index], nt))
        if not (skip_output_grad and lt.index == nt.L):
            sec.add(_delta_step(lt, nt, trace, decimals))
        for step in _grad_steps(lt, nt, single):
            sec.add(step)
    return sec


__all__ = ["backward_section"]
