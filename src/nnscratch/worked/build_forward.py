"""The "Given" and "Forward pass" sections of a worked example."""

from __future__ import annotations

from nnscratch.engine.losses import BCEWithLogitsLoss, CrossEntropyLoss

from . import activation_rules as act_rules
from .mathfmt import Line, Mat, T, Tex, latex_num, num, paren_num
from .notation import Notation
from .steps import Note, Section, Step, line
from .trace import LayerTrace, Trace

MAX_DETAIL = 8  # entry-by-entry lines only for layers this small (and a single sample)


def logits_loss(trace: Trace) -> bool:
    """Whether the loss applies the output nonlinearity itself (the network outputs logits)."""
    loss = trace.loss_fn
    return isinstance(loss, BCEWithLogitsLoss) or (isinstance(loss, CrossEntropyLoss) and loss.from_logits)


def output_symbol(nt: Notation, trace: Trace) -> Tex:
    """``ŷ = a⁽ᴸ⁾`` when the network's output is the prediction, ``a⁽ᴸ⁾`` for logits."""
    a = nt.a(nt.L)
    if logits_loss(trace):
        return a
    return Tex(nt.yhat.latex + " = " + a.latex, nt.yhat.text + " = " + a.text)


def given_section(trace: Trace, nt: Notation, lr_note: Note | None) -> Section:
    sec = Section("Given")
    sec.add(Step("x", "Input", Tex(nt.a(0).latex + " = x", nt.a(0).text + " = x"), nt.cols(trace.x)))
    for lt in trace.layers:
        l = lt.index
        shape = "(out, in)" if nt.layout == "out_in" else "(in, out)"
        sec.add(Step(f"W{l}", f"Weights of {nt.layer_name(l)}, shape {shape}", nt.Wsym(l), nt.W(lt.W)))
        if lt.b is not None:
            sec.add(Step(f"b{l}", f"Bias of {nt.layer_name(l)}", nt.b(l), nt.col(lt.b)))
    y_note = []
    if trace.target_onehot is not trace.target:
        y_note.append(
            Note(
                "The class indices are written as one-hot columns.",
                "The class indices are written as one-hot columns.",
            )
        )
    sec.add(Step("y", "Target", nt.y, nt.cols(trace.target_onehot), notes=y_note))
    if lr_note is not None:
        sec.notes.append(lr_note)
    return sec


def _z_step(lt: LayerTrace, nt: Notation, decimals: int, single: bool) -> Step:
    l = lt.index
    out_in = nt.layout == "out_in"
    W_sym = nt.Wsym(l, transpose=not out_in)
    W_mat: tuple = (Mat(nt.W(lt.W)),) if out_in else (Mat(nt.W(lt.W)), T(r"^{\top}", "ᵀ"))
    symbolic: Line = (W_sym, T(" "), nt.a(l - 1))
    substituted: Line = line(W_mat, T(" "), Mat(nt.cols(lt.a_prev)))
    if lt.b is not None:
        symbolic += (T(" + "), nt.b(l))
        substituted += (T(" + "), Mat(nt.col(lt.b)))
    step = Step(
        f"z{l}", f"Pre-activation of {nt.layer_name(l)}", nt.z(l), nt.cols(lt.z), symbolic, substituted
    )
    if not single and lt.b is not None:
        step.notes.append(
            Note(
                f"The bias $b^{{({l})}}$ is added to every column (one column per sample).",
                f"The bias b{nt.superscript(l)} is added to every column (one column per sample).",
            )
        )
    n_out, n_in = lt.W.shape
    if single and n_in <= MAX_DETAIL and n_out <= MAX_DETAIL and n_in > 1:
        for j in range(n_out):
            terms_l, terms_t = [], []
            for i in range(n_in):
                w, a = lt.W[j, i], lt.a_prev[0, i]
                terms_l.append(
                    f"{paren_num(w, decimals, latex=True)} \\cdot {paren_num(a, decimals, latex=True)}"
                )
                terms_t.append(f"{paren_num(w, decimals, latex=False)}·{paren_num(a, decimals, latex=False)}")
            if lt.b is not None:
                terms_l.append(paren_num(lt.b[j], decimals, latex=True))
                terms_t.append(paren_num(lt.b[j], decimals, latex=False))
            lhs = Tex(f"z^{{({l})}}_{{{j + 1}}}", f"z{nt.superscript(l)}_{j + 1}")
            terms = Tex(" + ".join(terms_l), " + ".join(terms_t))
            step.details.append((lhs, T(" = "), terms, T(" = "), num(lt.z[0, j], decimals)))
    return step


def _a_step(lt: LayerTrace, nt: Notation, trace: Trace, decimals: int, single: bool) -> Step:
    l = lt.index
    act = lt.activation
    lhs = output_symbol(nt, trace) if l == nt.L else nt.a(l)
    title = f"Activation of {nt.layer_name(l)} ({act_rules.name_of(act)})"
    if act is None:
        return Step(
            f"a{l}",
            title,
            lhs,
            nt.cols(lt.a),
            (nt.z(l),),
            (),
            notes=[Note("No activation: $a = z$.", "No activation: a = z.")],
        )
    step = Step(
        f"a{l}",
        title,
        lhs,
        nt.cols(lt.a),
        (act_rules.apply(act, nt.z(l)),),
        apply_to(act, Mat(nt.cols(lt.z))),
    )
    note = act_rules.definition(act)
    if note is not None:
        step.notes.append(note)
    if single and lt.z.shape[1] <= MAX_DETAIL:
        step.details.extend(_a_details(lt, nt, decimals))
    return step


def apply_to(act: object, arg: Mat) -> Line:
    """f(matrix): f written around a placeholder, split there, and the matrix put in each gap."""
    marker = "\x00"
    applied = act_rules.apply(act, Tex(marker, marker))
    parts_l, parts_t = applied.latex.split(marker), applied.text.split(marker)
    if len(parts_l) != len(parts_t):  # the two printers placed x differently: keep one gap
        parts_l, parts_t = [parts_l[0], parts_l[-1]], [parts_t[0], parts_t[-1]]
    out: list = []
    for i, (pl, pt) in enumerate(zip(parts_l, parts_t, strict=True)):
        if pl or pt:
            out.append(Tex(pl, pt))
        if i < len(parts_l) - 1:
            out.append(arg)
    return tuple(out)


def _a_details(lt: LayerTrace, nt: Notation, decimals: int) -> list[Line]:
    l = lt.index
    act = lt.activation
    out: list[Line] = []
    z = lt.z[0]
    if isinstance(act, act_rules.Softmax):
        denom_l = " + ".join(f"e^{{{latex_num(v, decimals)}}}" for v in z)
        denom_t = " + ".join(f"e^{paren_num(v, decimals, latex=False)}" for v in z)
        for j, v in enumerate(z):
            lhs = Tex(f"a^{{({l})}}_{{{j + 1}}}", f"a{nt.superscript(l)}_{j + 1}")
            frac = Tex(
                r"\frac{e^{" + latex_num(v, decimals) + "}}{" + denom_l + "}",
                f"e^{paren_num(v, decimals, latex=False)} / ({denom_t})",
            )
            out.append((lhs, T(" = "), frac, T(" = "), num(lt.a[0, j], decimals)))
        return out
    for j, v in enumerate(z):
        expansion = act_rules.entry(act, float(v), decimals)
        if expansion is None:
            continue
        lhs = Tex(f"a^{{({l})}}_{{{j + 1}}}", f"a{nt.superscript(l)}_{j + 1}")
        out.append((lhs, T(" = "), expansion, T(" = "), num(lt.a[0, j], decimals)))
    return out


def forward_section(trace: Trace, nt: Notation, decimals: int) -> Section:
    sec = Section("Forward pass")
    single = trace.n_samples == 1
    for lt in trace.layers:
        sec.add(_z_step(lt, nt, decimals, single))
        sec.add(_a_step(lt, nt, trace, decimals, single))
    return sec


__all__ = ["apply_to", "forward_section", "given_section", "logits_loss", "output_symbol"]
