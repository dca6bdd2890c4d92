"""The "Given" and "Forward pass" sections of a worked attention head.

One row per position: X is (T, E), ``Q = X W_Qᵀ + b_Q`` (and K, V alike: the three blocks of
``in_proj_weight``), then for the head shown ``S = Q_h K_hᵀ``, ``S/√d``, the mask, ``A =
softmax(S)`` row by row, ``O_h = A V_h``, the heads side by side ``O``, and ``Ŷ = O W_outᵀ + b_out``.
"""

from __future__ import annotations

import numpy as np

from .attention_trace import AttentionTrace
from .mathfmt import Line, Mat, T, Tex, latex_num, num, paren_num
from .row_steps import TARGET, YHAT, row
from .steps import Note, Section, Step

TT = T(r"^{\top}", "ᵀ")
DETAIL_T = 4  # entry-by-entry lines only for sequences and heads this small
DETAIL_D = 4
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
NAMES = ("Q", "K", "V")
SOFTMAX = Note(
    r"$A_{ij} = e^{s_{ij}} / \sum_k e^{s_{ik}}$: each row sums to 1 (the engine subtracts the "
    "row's maximum first, which changes nothing but keeps every exponential at most 1).",
    "A_ij = e^(s_ij) / Σ_k e^(s_ik): each row sums to 1 (the engine subtracts the row's maximum "
    "first, which changes nothing but keeps every exponential ≤ 1).",
)
WORDS = ("query", "key", "value")


def sub(name: str, index: int | str) -> Tex:
    """``Q_{0}`` / ``Q₀`` for a number, ``W_{Q}`` / ``W_Q`` for a letter, ``W_{\\text{out}}`` / ``W_out``."""
    idx = str(index)
    if idx.isdigit():
        return Tex(f"{name}_{{{idx}}}", name + idx.translate(_SUB))
    latex = idx if len(idx) == 1 else r"\text{" + idx + "}"
    return Tex(f"{name}_{{{latex}}}", f"{name}_{idx}")


class Symbols:
    """The symbols of one worked head: per-head ones carry the head's index when H > 1."""

    def __init__(self, tr: AttentionTrace) -> None:
        self.tr = tr
        self.multi = tr.num_heads > 1
        self.X = Tex("X", "X")
        self.O = Tex("O", "O")
        self.M = Tex("M", "M")
        self.S = self.head("S")
        self.A = self.head("A")

    def head(self, name: str) -> Tex:
        """``name_h`` for several heads, ``name`` for one."""
        return sub(name, self.tr.head) if self.multi else Tex(name, name)

    @staticmethod
    def W(name: str) -> Tex:
        return sub("W", name)

    @staticmethod
    def b(name: str) -> Tex:
        return sub("b", name)

    def sqrt_d(self) -> Tex:
        return Tex(rf"\sqrt{{{self.tr.d}}}", f"√{self.tr.d}")


def given_section(tr: AttentionTrace, sy: Symbols) -> Section:
    sec = Section("Given")
    E = tr.E
    sec.add(Step("x", "Input sequence, one row per position", sy.X, tr.x))
    for i, (name, word) in enumerate(zip(NAMES, WORDS, strict=True)):
        rows = f"rows {i * E + 1}–{(i + 1) * E} of in_proj_weight"
        sec.add(
            Step(
                f"W_{name}",
                f"{word.capitalize()} weights ({rows}), shape (out, in)",
                sy.W(name),
                tr.block(tr.W_in, i),
            )
        )
    if tr.b_in is not None:
        for i, (name, word) in enumerate(zip(NAMES, WORDS, strict=True)):
            sec.add(
                Step(
                    f"b_{name}",
                    f"{word.capitalize()} bias (part {i + 1} of in_proj_bias)",
                    sy.b(name),
                    row(tr.block(tr.b_in, i)),
                )
            )
    sec.add(Step("W_out", "Output projection weights (out_proj.weight)", sy.W("out"), tr.W_out))
    if tr.b_out is not None:
        sec.add(Step("b_out", "Output projection bias (out_proj.bias)", sy.b("out"), row(tr.b_out)))
    sec.add(Step("y", "Target", TARGET, tr.target))
    if tr.mask is not None:
        mask = tr.mask[tr.head]
        sec.add(
            Step(
                "M",
                f"Attention mask ({tr.mask_kind})",
                sy.M,
                mask,
                notes=[
                    Note(
                        r"Added to the scores: $0$ where query $i$ (row) may attend to key $j$ (column), "
                        r"$-\infty$ where it may not, so that key gets weight $e^{-\infty} = 0$.",
                        "Added to the scores: 0 where query i (row) may attend to key j (column), −∞ where "
                        "it may not, so that key gets weight e^(−∞) = 0.",
                    )
                ],
            )
        )
    return sec


def _projection(tr: AttentionTrace, sy: Symbols, i: int) -> Step:
    name, word = NAMES[i], WORDS[i]
    lhs = Tex(name, name)
    symbolic: Line = (sy.X, T(" "), sy.W(name), TT)
    substituted: Line = (Mat(tr.x), T(" "), Mat(tr.block(tr.W_in, i)), TT)
    if tr.b_in is not None:
        symbolic += (T(" + "), sy.b(name))
        substituted += (T(" + "), Mat(row(tr.block(tr.b_in, i))))
    value = AttentionTrace.joined((tr.Q, tr.K, tr.V)[i])
    step = Step(name, f"{word.capitalize()} projection", lhs, value, symbolic, substituted)
    if tr.b_in is not None:
        step.notes.append(Note(f"$b_{{{name}}}$ is added to every row.", f"b_{name} is added to every row."))
    return step


def _head_columns(tr: AttentionTrace, sy: Symbols, name: str, value: np.ndarray, key: str) -> Step:
    cols = tr.cols(tr.head)
    first, last = cols.start + 1, cols.stop
    return Step(
        key,
        f"Head {tr.head}'s part of {name}: columns {first}–{last}",
        sy.head(name),
        value,
        (Tex(name, name), T(rf"_{{[:,\,{first}:{last}]}}", f"[:, {first}…{last}]")),
        (),
    )


def _score_details(tr: AttentionTrace, decimals: int) -> list[Line]:
    q, k = tr.Q[tr.head], tr.K[tr.head]
    out: list[Line] = []
    for i in range(q.shape[0]):
        for j in range(k.shape[0]):
            terms_l = " + ".join(
                f"{paren_num(a, decimals, latex=True)} \\cdot {paren_num(b, decimals, latex=True)}"
                for a, b in zip(q[i], k[j], strict=True)
            )
            terms_t = " + ".join(
                f"{paren_num(a, decimals, latex=False)}·{paren_num(b, decimals, latex=False)}"
                for a, b in zip(q[i], k[j], strict=True)
            )
            lhs = Tex(f"S_{{{i + 1}{j + 1}}}", f"S[{i + 1},{j + 1}]")
            out.append((lhs, T(" = "), Tex(terms_l, terms_t), T(" = "), num(tr.S[tr.head][i, j], decimals)))
    return out


def _softmax_details(tr: AttentionTrace, decimals: int) -> list[Line]:
    s, a = tr.S_masked[tr.head], tr.A[tr.head]
    out: list[Line] = []
    for i in range(s.shape[0]):
        kept = [v for v in s[i] if np.isfinite(v)]  # a masked key (−∞) adds e^(−∞) = 0 to the sum
        denom_l = " + ".join(f"e^{{{latex_num(v, decimals)}}}" for v in kept)
        denom_t = " + ".join(f"e^{paren_num(v, decimals, latex=False)}" for v in kept)
        for j, v in enumerate(s[i]):
            lhs = Tex(f"A_{{{i + 1}{j + 1}}}", f"A[{i + 1},{j + 1}]")
            if not np.isfinite(v):
                out.append((lhs, T(" = "), Tex(r"0 \quad \text{(masked)}", "0 (masked)")))
                continue
            frac = Tex(
                r"\frac{e^{" + latex_num(v, decimals) + "}}{" + denom_l + "}",
                f"e^{paren_num(v, decimals, latex=False)} / ({denom_t})",
            )
            out.append((lhs, T(" = "), frac, T(" = "), num(a[i, j], decimals)))
    return out


def forward_section(tr: AttentionTrace, sy: Symbols, decimals: int) -> Section:
    sec = Section("Forward pass")
    h, multi = tr.head, sy.multi
    for i in range(3):
        sec.add(_projection(tr, sy, i))
    if multi:
        for name, arr in zip(NAMES, (tr.Q, tr.K, tr.V), strict=True):
            sec.add(_head_columns(tr, sy, name, arr[h], f"{name}_head"))
    Qh, Kh, Vh = sy.head("Q"), sy.head("K"), sy.head("V")
    small = tr.x.shape[0] <= DETAIL_T and tr.d <= DETAIL_D
    step = sec.add(
        Step(
            "S",
            "Attention scores (query row · key row)",
            sy.S,
            tr.S[h],
            (Qh, T(" "), Kh, TT),
            (Mat(tr.Q[h]), T(" "), Mat(tr.K[h]), TT),
        )
    )
    if small:
        step.details.extend(_score_details(tr, decimals))
    scaled = Tex(sy.S.latex + r"/\sqrt{d}", sy.S.text + "/√d")
    sec.add(
        Step(
            "S_scaled",
            f"Scaled scores (d = E/H = {tr.d})",
            scaled,
            tr.S_scaled[h],
            (sy.S, T(" / "), sy.sqrt_d()),
            (Mat(tr.S[h]), T(" / "), sy.sqrt_d()),
            notes=[
                Note(
                    r"Dividing by $\sqrt{d}$ keeps the scores' spread independent of the head size.",
                    "Dividing by √d keeps the scores' spread independent of the head size.",
                )
            ],
        )
    )
    softmax_arg = scaled
    if tr.mask is not None:
        masked = Tex(scaled.latex + " + M", scaled.text + " + M")
        sec.add(
            Step(
                "S_masked",
                "Masked scores",
                masked,
                tr.S_masked[h],
                (),
                (Mat(tr.S_scaled[h]), T(" + "), Mat(tr.mask[h])),
            )
        )
        softmax_arg = masked
    a_step = sec.add(
        Step(
            "A",
            "Attention weights (softmax of each row)",
            sy.A,
            tr.A[h],
            (
                T(r"\operatorname{softmax}_{\text{row}}\left(", "softmax_row("),
                softmax_arg,
                T(r"\right)", ")"),
            ),
            (
                T(r"\operatorname{softmax}_{\text{row}}\left(", "softmax_row("),
                Mat(tr.S_masked[h]),
                T(r"\right)", ")"),
            ),
            notes=[SOFTMAX],
        )
    )
    if tr.mask is not None:
        a_step.notes.append(
            Note("Masked entries get weight exactly 0.", "Masked entries get weight exactly 0.")
        )
    if tr.x.shape[0] <= DETAIL_T:
        a_step.details.extend(_softmax_details(tr, decimals))
    Oh = sy.head("O") if multi else sy.O
    O_head = (tr.A @ tr.V)[h]
    sec.add(
        Step(
            "O_head" if multi else "O",
            "Weighted sum of the values",
            Oh,
            O_head,
            (sy.A, T(" "), Vh),
            (Mat(tr.A[h]), T(" "), Mat(tr.V[h])),
        )
    )
    if multi:
        heads = ", ".join(str(i) for i in range(tr.num_heads))
        others = f"The other heads are computed exactly like head {h}, each from its own columns of Q, K, V."
        parts = [sub("O", i) for i in range(tr.num_heads)]
        joined = Tex(
            r"\left[" + r"\ ".join(p.latex for p in parts) + r"\right]",
            "[" + " ".join(p.text for p in parts) + "]",
        )
        sec.add(
            Step(
                "O",
                f"All heads side by side (heads {heads})",
                sy.O,
                tr.O,
                (joined,),
                (),
                notes=[Note(others, others)],
            )
        )
    symbolic: Line = (sy.O, T(" "), sy.W("out"), TT)
    substituted: Line = (Mat(tr.O), T(" "), Mat(tr.W_out), TT)
    if tr.b_out is not None:
        symbolic += (T(" + "), sy.b("out"))
        substituted += (T(" + "), Mat(row(tr.b_out)))
    sec.add(Step("yhat", "Output projection (out_proj)", YHAT, tr.y, symbolic, substituted))
    return sec


def header(tr: AttentionTrace, decimals: int) -> list[Note]:
    T_, E, H = tr.x.shape[0], tr.E, tr.num_heads
    bias = "with biases" if tr.b_in is not None else "without biases"
    notes = [
        Note(
            f"Layer: `MultiheadAttention(embed_dim={E}, num_heads={H})`, {bias}; input: one sequence of "
            f"$T = {T_}$ positions, one row per position.",
            f"Layer: MultiheadAttention(embed_dim={E}, num_heads={H}), {bias}; input: one sequence of "
            f"T = {T_} positions, one row per position.",
        )
    ]
    if H > 1:
        others = ", ".join(str(i) for i in range(H) if i != tr.head)
        msg = (
            f"Head shown: head {tr.head} of {H} (heads are numbered from 0), using columns "
            f"{tr.cols(tr.head).start + 1}–{tr.cols(tr.head).stop} of Q, K and V; the other heads "
            f"({others}) are computed alike and enter O, the output and the gradients."
        )
        notes.append(Note(msg, msg))
    if tr.mask is not None:
        msg = f"Mask: {tr.mask_kind}" + (
            " (query i attends to keys j ≤ i)." if "causal" in tr.mask_kind else "."
        )
        notes.append(Note(msg.replace("≤", r"$\le$"), msg))
    notes += [
        Note(
            f"Notation: weights as PyTorch stores them, (out, in); $d = E/H = {tr.d}$ the head size.",
            f"Notation: weights as PyTorch stores them, (out, in); d = E/H = {tr.d} the head size.",
        ),
        Note(
            f"Computed in float64 by the nnscratch engine; shown rounded to {decimals} decimals "
            "(intermediate values are not rounded).",
            f"Computed in float64 by the nnscratch engine; shown rounded to {decimals} decimals "
            "(intermediate values are not rounded).",
        ),
    ]
    return notes


__all__ = ["NAMES", "TT", "Symbols", "forward_section", "given_section", "header", "sub"]
