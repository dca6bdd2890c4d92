"""The "Backward pass" section of a worked attention head: every gradient back to the input.

With G = ∂L/∂Ŷ: ∂L/∂O = G W_out (and ∂L/∂W_out = Gᵀ O, ∂L/∂b_out = Σ rows of G); for the head
shown ∂L/∂A = ∂L/∂O_h V_hᵀ, ∂L/∂V_h = Aᵀ ∂L/∂O_h, the softmax Jacobian row by row
∂L/∂S = A ⊙ (∂L/∂A − rowsum(∂L/∂A ⊙ A)), ∂L/∂Q_h = ∂L/∂S K_h / √d, ∂L/∂K_h = ∂L/∂Sᵀ Q_h / √d;
then the heads side by side, ∂L/∂W_Q = ∂L/∂Qᵀ X (K and V alike), ∂L/∂b_Q = Σ rows of ∂L/∂Q and
∂L/∂X = ∂L/∂Q W_Q + ∂L/∂K W_K + ∂L/∂V W_V.
"""

from __future__ import annotations

from .attention_steps import NAMES, TT, Symbols, sub
from .attention_trace import AttentionTrace
from .mathfmt import Mat, T, Tex
from .row_steps import DYHAT, grad, row
from .steps import Note, Section, Step

ODOT = T(r" \odot ", " ⊙ ")
SUM_ROWS = (T(r"\textstyle\sum_{\text{rows}} ", "Σ_rows "),)
JACOBIAN = Note(
    r"The softmax Jacobian of each row, "
    r"$\partial A_{ij}/\partial s_{ik} = A_{ij}(\delta_{jk} - A_{ik})$, gives "
    r"$\frac{\partial L}{\partial s_{ik}} = A_{ik}\left(\frac{\partial L}{\partial A_{ik}} - "
    r"\sum_j \frac{\partial L}{\partial A_{ij}} A_{ij}\right)$; $r$ is subtracted from every column.",
    "The softmax Jacobian of each row, ∂A_ij/∂s_ik = A_ij(δ_jk − A_ik), gives ∂L/∂s_ik = "
    "A_ik(∂L/∂A_ik − Σ_j ∂L/∂A_ij·A_ij); r is subtracted from every column.",
)
KEY_BIAS = Note(
    "This is 0 up to rounding: adding one vector to every key adds the same number to every score of a "
    "row, and the softmax ignores that.",
    "This is 0 up to rounding: adding one vector to every key adds the same number to every score of a "
    "row, and the softmax ignores that.",
)


def _column_sum_note(what: Tex) -> Note:
    return Note(
        f"A bias is added to every row, so its gradient is the sum of the rows of ${what.latex}$.",
        f"A bias is added to every row, so its gradient is the sum of the rows of {what.text}.",
    )


def _output_projection(tr: AttentionTrace, sy: Symbols, sec: Section) -> None:
    G = Mat(tr.dL_dy)
    sec.add(
        Step(
            "dO",
            "Gradient at the heads' output O",
            grad(sy.O),
            tr.dO,
            (DYHAT, T(" "), sy.W("out")),
            (G, T(" "), Mat(tr.W_out)),
        )
    )
    sec.add(
        Step(
            "dW_out",
            "Gradient of the output projection weights",
            grad(sy.W("out")),
            tr.dW_out,
            (DYHAT, TT, T(" "), sy.O),
            (G, TT, T(" "), Mat(tr.O)),
        )
    )
    if tr.db_out is not None:
        sec.add(
            Step(
                "db_out",
                "Gradient of the output projection bias",
                grad(sy.b("out")),
                row(tr.db_out),
                (*SUM_ROWS, DYHAT),
                (*SUM_ROWS, G),
                notes=[_column_sum_note(DYHAT)],
            )
        )


def _head_steps(tr: AttentionTrace, sy: Symbols, sec: Section) -> None:
    h, multi = tr.head, sy.multi
    Qh, Kh, Vh, Oh = sy.head("Q"), sy.head("K"), sy.head("V"), sy.head("O") if multi else sy.O
    dO_h = tr.dO[:, tr.cols(h)]
    if multi:
        c = tr.cols(h)
        sec.add(
            Step(
                "dO_head",
                f"Head {h}'s part of ∂L/∂O: columns {c.start + 1}–{c.stop}",
                grad(Oh),
                dO_h,
                (grad(sy.O), T(rf"_{{[:,\,{c.start + 1}:{c.stop}]}}", f"[:, {c.start + 1}…{c.stop}]")),
                (),
            )
        )
    dA, dS = grad(sy.A), grad(sy.S)
    sec.add(
        Step(
            "dA",
            "Gradient at the attention weights",
            dA,
            tr.dA[h],
            (grad(Oh), T(" "), Vh, TT),
            (Mat(dO_h), T(" "), Mat(tr.V[h]), TT),
        )
    )
    sec.add(
        Step(
            "dV_head" if multi else "dV",
            "Gradient at the values",
            grad(Vh),
            tr.dV[h],
            (sy.A, TT, T(" "), grad(Oh)),
            (Mat(tr.A[h]), TT, T(" "), Mat(dO_h)),
        )
    )
    r = Tex("r", "r")
    sec.add(
        Step(
            "rowsum",
            "Softmax backward, part 1: each row's sum of ∂L/∂A ⊙ A",
            r,
            tr.rowsum[h],
            (T(r"\operatorname{rowsum}\left(", "rowsum("), dA, ODOT, sy.A, T(r"\right)", ")")),
            (
                T(r"\operatorname{rowsum}\left(", "rowsum("),
                Mat(tr.dA[h]),
                ODOT,
                Mat(tr.A[h]),
                T(r"\right)", ")"),
            ),
        )
    )
    step = sec.add(
        Step(
            "dS",
            "Softmax backward, part 2: gradient at the scores",
            dS,
            tr.dS[h],
            (sy.A, ODOT, T(r"\left(", "("), dA, T(" - "), r, T(r"\right)", ")")),
            (
                Mat(tr.A[h]),
                ODOT,
                T(r"\left(", "("),
                Mat(tr.dA[h]),
                T(" - "),
                Mat(tr.rowsum[h]),
                T(r"\right)", ")"),
            ),
            notes=[JACOBIAN],
        )
    )
    if tr.mask is not None:
        step.notes.append(
            Note(
                "Masked entries have $A = 0$, so their score gradient is 0: the mask (a constant) gets none.",
                "Masked entries have A = 0, so their score gradient is 0: the mask (a constant) gets none.",
            )
        )
    scale = Note(
        rf"The scores were ${Qh.latex} {Kh.latex}^{{\top}} / \sqrt{{d}}$, so the factor $1/\sqrt{{d}}$ "
        "comes back here.",
        f"The scores were {Qh.text} {Kh.text}ᵀ / √d, so the factor 1/√d comes back here.",
    )
    sq = sy.sqrt_d()
    sec.add(
        Step(
            "dQ_head" if multi else "dQ",
            "Gradient at the queries",
            grad(Qh),
            tr.dQ[h],
            (dS, T(" "), Kh, T(" / "), sq),
            (Mat(tr.dS[h]), T(" "), Mat(tr.K[h]), T(" / "), sq),
            notes=[scale],
        )
    )
    sec.add(
        Step(
            "dK_head" if multi else "dK",
            "Gradient at the keys",
            grad(Kh),
            tr.dK[h],
            (dS, TT, T(" "), Qh, T(" / "), sq),
            (Mat(tr.dS[h]), TT, T(" "), Mat(tr.Q[h]), T(" / "), sq),
            notes=[scale],
        )
    )


def _all_heads(tr: AttentionTrace, sec: Section) -> None:
    """∂L/∂Q, ∂L/∂K, ∂L/∂V of all heads side by side (several heads only)."""
    for name, per_head in zip(NAMES, (tr.dQ, tr.dK, tr.dV), strict=True):
        parts = [grad(sub(name, i)) for i in range(tr.num_heads)]
        joined = Tex(
            r"\left[" + r"\ ".join(p.latex for p in parts) + r"\right]",
            "[" + " ".join(p.text for p in parts) + "]",
        )
        msg = f"The other heads' columns are computed exactly like head {tr.head}'s."
        sec.add(
            Step(
                f"d{name}",
                f"Gradient at {name}, all heads side by side",
                grad(Tex(name, name)),
                AttentionTrace.joined(per_head),
                (joined,),
                (),
                notes=[Note(msg, msg)],
            )
        )


def _projection_grads(tr: AttentionTrace, sy: Symbols, sec: Section) -> None:
    X = Mat(tr.x)
    full = [AttentionTrace.joined(a) for a in (tr.dQ, tr.dK, tr.dV)]
    for i, name in enumerate(NAMES):
        dZ = grad(Tex(name, name))
        sec.add(
            Step(
                f"dW_{name}",
                f"Gradient of the {name} weights (block {i + 1} of in_proj_weight.grad)",
                grad(sy.W(name)),
                tr.block(tr.dW_in, i),
                (dZ, TT, T(" "), sy.X),
                (Mat(full[i]), TT, T(" "), X),
            )
        )
    if tr.db_in is not None:
        for i, name in enumerate(NAMES):
            dZ = grad(Tex(name, name))
            sec.add(
                Step(
                    f"db_{name}",
                    f"Gradient of the {name} bias (part {i + 1} of in_proj_bias.grad)",
                    grad(sy.b(name)),
                    row(tr.block(tr.db_in, i)),
                    (*SUM_ROWS, dZ),
                    (*SUM_ROWS, Mat(full[i])),
                    notes=[KEY_BIAS] if name == "K" else [],
                )
            )
    symbolic: list = []
    substituted: list = []
    for i, name in enumerate(NAMES):
        if i:
            symbolic.append(T(" + "))
            substituted.append(T(" + "))
        symbolic += [grad(Tex(name, name)), T(" "), sy.W(name)]
        substituted += [Mat(full[i]), T(" "), Mat(tr.block(tr.W_in, i))]
    sec.add(
        Step(
            "dx",
            "Gradient at the input",
            grad(sy.X),
            tr.dx,
            tuple(symbolic),
            tuple(substituted),
            notes=[
                Note(
                    "X feeds Q, K and V, so the three paths add up.",
                    "X feeds Q, K and V, so the three paths add up.",
                )
            ],
        )
    )


def backward_section(tr: AttentionTrace, sy: Symbols) -> Section:
    sec = Section("Backward pass")
    _output_projection(tr, sy, sec)
    _head_steps(tr, sy, sec)
    if sy.multi:
        _all_heads(tr, sec)
    _projection_grads(tr, sy, sec)
    return sec


__all__ = ["backward_section"]
