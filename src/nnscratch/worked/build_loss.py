"""The loss: its value, its gradient w.r.t. the network's output, and the fused shortcuts.

Scale factors follow the engine (and PyTorch): ``reduction="mean"`` divides by the number of
entries ``n`` for MSE and the binary cross-entropies, by the number of samples ``N`` for the L2
(homework) loss and the cross-entropy; ``"sum"`` divides by nothing.
"""

from __future__ import annotations

import numpy as np

from nnscratch.engine.layers.activations import Sigmoid, Softmax
from nnscratch.engine.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss, MSELoss

from .build_forward import logits_loss
from .mathfmt import Line, Mat, T, Tex, num, paren_num
from .notation import Notation
from .steps import Note, Section, Step, line
from .trace import Trace

MAX_DETAIL = 8


#: Each loss in words: (class, step title, Markdown description, text description). One table
#: for the description and the title, so the two never disagree.
_LOSS_WORDS: list[tuple[type[Loss], str, str, str]] = [
    (MSELoss, "Mean squared error", "mean squared error", "mean squared error"),
    (L2Loss, "L2 loss", "L2 loss $\\frac{1}{2}\\sum(\\hat{y} - y)^2$", "L2 loss ½·Σ(ŷ − y)²"),
    (
        BCEWithLogitsLoss,
        "Binary cross-entropy on logits",
        "binary cross-entropy on logits",
        "binary cross-entropy on logits",
    ),
    (BCELoss, "Binary cross-entropy", "binary cross-entropy", "binary cross-entropy"),
    (CrossEntropyLoss, "Cross-entropy", "cross-entropy", "cross-entropy"),
]


def _words(loss: Loss) -> tuple[str, str, str] | None:
    for cls, title, markdown, text in _LOSS_WORDS:
        if isinstance(loss, cls):
            return title, markdown, text
    return None


def describe_loss(loss: Loss) -> tuple[str, str]:
    """(Markdown, text) one-line description of the loss."""
    name = type(loss).__name__
    words = _words(loss)
    if words is None:
        return (f"`{name}`", name)
    _, markdown, text = words
    settings = f"reduction={loss.reduction!r}"
    if isinstance(loss, CrossEntropyLoss):
        source = "logits" if loss.from_logits else "probabilities"
        markdown, text = f"{markdown} on {source}", f"{text} on {source}"
        settings = f"from_logits={loss.from_logits}, {settings}"
    return (f"{markdown} (`{name}`, {settings})", f"{text} ({name}, {settings})")


def _loss_title(loss: Loss) -> str:
    """The loss step's title: the loss's own name, so it does not repeat the section's "Loss"."""
    words = _words(loss)
    return words[0] if words is not None else f"Value of {type(loss).__name__}"


def _count(trace: Trace) -> tuple[str, int]:
    """The symbol and value the mean divides by: ("n", entries) or ("N", samples); 1 for sum."""
    loss, pred = trace.loss_fn, trace.output
    if loss.reduction == "sum":
        return "", 1
    if isinstance(loss, (L2Loss, CrossEntropyLoss)):
        return "N", pred.shape[0]
    return "n", pred.size


def _factor(coef: int, trace: Trace, *, sign: str = "") -> tuple[Tex, Tex]:
    """(symbolic, numeric) prefix such as ``-\\frac{1}{N}`` / ``-\\frac{1}{4}``; empty when 1."""
    letter, n = _count(trace)
    if n == 1 or not letter:
        text = "" if coef == 1 else str(coef)
        return Tex(sign + text + (" " if text else ""), sign.replace("-", "−") + text), Tex(
            sign + text + (" " if text else ""), sign.replace("-", "−") + text
        )
    sym_ = Tex(sign + rf"\frac{{{coef}}}{{{letter}}} ", sign.replace("-", "−") + f"({coef}/{letter})")
    val = Tex(sign + rf"\frac{{{coef}}}{{{n}}} ", sign.replace("-", "−") + f"({coef}/{n})")
    return sym_, val


def _count_note(trace: Trace) -> list[Note]:
    letter, n = _count(trace)
    if not letter or n == 1:
        return []
    what = "entries of the output" if letter == "n" else "samples"
    return [
        Note(
            f"${letter} = {n}$ is the number of {what} (reduction='mean').",
            f"{letter} = {n} is the number of {what} (reduction='mean').",
        )
    ]


def _yhat_value(trace: Trace) -> np.ndarray:
    """The predicted probabilities / values, engine orientation."""
    out = trace.output
    if isinstance(trace.loss_fn, BCEWithLogitsLoss):
        return 0.5 * (1.0 + np.tanh(0.5 * out))
    if isinstance(trace.loss_fn, CrossEntropyLoss) and trace.loss_fn.from_logits:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    return out


def loss_section(trace: Trace, nt: Notation, decimals: int) -> Section:
    sec = Section("Loss")
    loss = trace.loss_fn
    yhat = _yhat_value(trace)
    Y, P = Mat(nt.cols(trace.target_onehot)), Mat(nt.cols(yhat))
    aL = nt.a(nt.L)
    if logits_loss(trace):
        is_bce = isinstance(loss, BCEWithLogitsLoss)
        fn_l, fn_t = (r"\sigma", "σ") if is_bce else (r"\operatorname{softmax}", "softmax")
        sec.add(
            Step(
                "yhat",
                "Predicted probabilities (inside the loss)",
                nt.yhat,
                nt.cols(yhat),
                (Tex(fn_l + r"\left(" + aL.latex + r"\right)", f"{fn_t}({aL.text})"),),
                (Tex(fn_l + r"\left(", f"{fn_t}("), Mat(nt.cols(trace.output)), T(r"\right)", ")")),
                notes=[
                    Note(
                        f"`{type(loss).__name__}` takes the logits $a^{{({nt.L})}}$ and applies "
                        f"${fn_l}$ itself, in a numerically stable form.",
                        f"{type(loss).__name__} takes the logits {aL.text} and applies {fn_t} itself, "
                        "in a numerically stable form.",
                    )
                ],
            )
        )
    scalar = yhat.size == 1
    dot_l, dot_t = (r" \cdot ", "·") if scalar else (r" \odot ", " ⊙ ")
    sum_l, sum_t = ("", "") if scalar else (r"\sum ", "Σ ")
    fs, fv = _factor(
        1, trace, sign="-" if isinstance(loss, (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss)) else ""
    )
    yh, y = nt.yhat, nt.y
    if isinstance(loss, (MSELoss, L2Loss)):
        half = isinstance(loss, L2Loss)
        fs, fv = _factor(1, trace)
        h_l, h_t = (r"\frac{1}{2} ", "½ ") if half else ("", "")
        symbolic = (
            fs,
            T(h_l, h_t),
            T(sum_l, sum_t),
            T(r"\left(", "("),
            yh,
            T(" - ", " − "),
            y,
            T(r"\right)^{2}", ")²"),
        )
        substituted = (
            fv,
            T(h_l, h_t),
            T(sum_l, sum_t),
            T(r"\left(", "("),
            P,
            T(" - ", " − "),
            Y,
            T(r"\right)^{2}", ")²"),
        )
    elif isinstance(loss, (BCELoss, BCEWithLogitsLoss)):
        symbolic = (
            fs,
            T(sum_l, sum_t),
            T(r"\left[", "["),
            y,
            T(dot_l, dot_t),
            T(r"\log ", "log "),
            yh,
            T(" + (1 - ", " + (1 − "),
            y,
            T(")" + dot_l + r"\log(1 - ", ")" + dot_t + "log(1 − "),
            yh,
            T(r")\right]", ")]"),
        )
        substituted = (
            fv,
            T(sum_l, sum_t),
            T(r"\left[", "["),
            Y,
            T(dot_l, dot_t),
            T(r"\log ", "log "),
            P,
            T(" + (1 - ", " + (1 − "),
            Y,
            T(")" + dot_l + r"\log(1 - ", ")" + dot_t + "log(1 − "),
            P,
            T(r")\right]", ")]"),
        )
    else:  # cross-entropy
        symbolic = (fs, T(r"\sum ", "Σ "), y, T(r" \odot \log ", " ⊙ log "), yh)
        substituted = (fv, T(r"\sum ", "Σ "), Y, T(r" \odot \log ", " ⊙ log "), P)
    step = sec.add(
        Step(
            "loss",
            _loss_title(loss),
            nt.loss,
            np.asarray(trace.loss),
            symbolic,
            substituted,
            notes=_count_note(trace),
        )
    )
    if not scalar:
        step.notes.append(
            Note(
                "The sum runs over every entry; $\\log$, squares and $\\odot$ act entry by entry.",
                "The sum runs over every entry; log, squares and ⊙ act entry by entry.",
            )
        )
    if not scalar and yhat.size <= MAX_DETAIL:
        step.details.append(_loss_entries(trace, yhat, decimals))
    return sec


def _loss_entries(trace: Trace, yhat: np.ndarray, decimals: int) -> Line:
    """The loss written out over every entry, e.g. ``−(1·log(0.4) + 0·log(0.6))``."""
    loss, target = trace.loss_fn, trace.target_onehot
    _, fv = _factor(
        1, trace, sign="-" if isinstance(loss, (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss)) else ""
    )
    terms_l, terms_t = [], []
    for p, t in zip(yhat.T.reshape(-1), target.T.reshape(-1), strict=True):
        pl, pt = paren_num(p, decimals, latex=True), paren_num(p, decimals, latex=False)
        tl, tt = paren_num(t, decimals, latex=True), paren_num(t, decimals, latex=False)
        if isinstance(loss, (MSELoss, L2Loss)):
            terms_l.append(f"({pl} - {tl})^2")
            terms_t.append(f"({pt} − {tt})²")
        elif isinstance(loss, CrossEntropyLoss):
            terms_l.append(rf"{tl} \cdot \log({pl})")
            terms_t.append(f"{tt}·log({pt})")
        else:
            terms_l.append(rf"{tl} \cdot \log({pl}) + (1 - {tl}) \cdot \log(1 - {pl})")
            terms_t.append(f"{tt}·log({pt}) + (1 − {tt})·log(1 − {pt})")
    half = (r"\frac{1}{2} ", "½·") if isinstance(loss, L2Loss) else ("", "")
    body = Tex(
        half[0] + r"\left(" + " + ".join(terms_l) + r"\right)", half[1] + "(" + " + ".join(terms_t) + ")"
    )
    return (T("L"), T(" = "), fv, body, T(" = "), num(trace.loss, decimals))


def loss_gradient_step(trace: Trace, nt: Notation, decimals: int) -> Step:
    """∂L/∂a⁽ᴸ⁾: the gradient the loss sends into the network's output."""
    loss = trace.loss_fn
    yhat = _yhat_value(trace)
    Y, P = Mat(nt.cols(trace.target_onehot)), Mat(nt.cols(yhat))
    yh, y = nt.yhat, nt.y
    L = nt.L
    notes = _count_note(trace)
    if isinstance(loss, MSELoss):
        fs, fv = _factor(2, trace)
        symbolic: Line = (fs, T(r"\left(", "("), yh, T(" - ", " − "), y, T(r"\right)", ")"))
        substituted: Line = (fv, T(r"\left(", "("), P, T(" - ", " − "), Y, T(r"\right)", ")"))
    elif isinstance(loss, L2Loss):
        fs, fv = _factor(1, trace)
        symbolic = (
            (fs, yh, T(" - ", " − "), y)
            if not fs.latex
            else (fs, T(r"\left(", "("), yh, T(" - ", " − "), y, T(r"\right)", ")"))
        )
        substituted = (
            (fv, P, T(" - ", " − "), Y)
            if not fv.latex
            else (fv, T(r"\left(", "("), P, T(" - ", " − "), Y, T(r"\right)", ")"))
        )
    elif isinstance(loss, BCEWithLogitsLoss) or (isinstance(loss, CrossEntropyLoss) and loss.from_logits):
        fs, fv = _factor(1, trace)
        general = isinstance(loss, CrossEntropyLoss) and not np.allclose(trace.target_onehot.sum(axis=1), 1.0)
        if general:
            S = Mat(np.broadcast_to(trace.target_onehot.sum(axis=1), yhat.T.shape))
            symbolic = (fs, T(r"\left(", "("), yh, T(r" \odot s - ", " ⊙ s − "), y, T(r"\right)", ")"))
            substituted = (
                fv,
                T(r"\left(", "("),
                P,
                T(r" \odot ", " ⊙ "),
                S,
                T(" - ", " − "),
                Y,
                T(r"\right)", ")"),
            )
            notes.append(
                Note(
                    "$s$ holds each sample's target total $\\sum_k y_k$ (not 1 here).",
                    "s holds each sample's target total Σ_k y_k (not 1 here).",
                )
            )
        else:
            symbolic = (fs, T(r"\left(", "("), yh, T(" - ", " − "), y, T(r"\right)", ")"))
            substituted = (fv, T(r"\left(", "("), P, T(" - ", " − "), Y, T(r"\right)", ")"))
        notes.append(fused_note(trace))
    elif isinstance(loss, BCELoss):
        fs, fv = _factor(1, trace)
        symbolic = (
            fs,
            T(r"\left(", "("),
            yh,
            T(" - ", " − "),
            y,
            T(r"\right) \oslash \left(", ") ⊘ ("),
            yh,
            T(r" \odot (1 - ", " ⊙ (1 − "),
            yh,
            T(r")\right)", "))"),
        )
        substituted = (
            fv,
            T(r"\left(", "("),
            P,
            T(" - ", " − "),
            Y,
            T(r"\right) \oslash \left(", ") ⊘ ("),
            P,
            T(r" \odot (1 - ", " ⊙ (1 − "),
            P,
            T(r")\right)", "))"),
        )
        notes.append(Note("$\\oslash$ is entry-by-entry division.", "⊘ is entry-by-entry division."))
    elif isinstance(loss, CrossEntropyLoss):
        fs, fv = _factor(1, trace, sign="-")
        symbolic = (fs, y, T(r" \oslash ", " ⊘ "), yh)
        substituted = (fv, Y, T(r" \oslash ", " ⊘ "), P)
        notes.append(Note("$\\oslash$ is entry-by-entry division.", "⊘ is entry-by-entry division."))
    else:  # a loss without a written rule: the engine's numbers only
        symbolic, substituted = (Tex(r"\nabla_{\hat{y}} L", "∇_ŷ L"),), ()
    title = "Gradient of the loss w.r.t. the network output"
    return Step(f"dL_da{L}", title, nt.dA(L), nt.cols(trace.dL_dout), symbolic, substituted, notes=notes)


def fused_case(trace: Trace) -> str | None:
    """ "sigmoid_bce" or "softmax_ce" when the output activation and the loss fuse to δ = ŷ − y."""
    act = trace.layers[-1].activation
    loss = trace.loss_fn
    if isinstance(act, Sigmoid) and type(loss) is BCELoss:
        return "sigmoid_bce"
    if (
        isinstance(act, Softmax)
        and isinstance(loss, CrossEntropyLoss)
        and not loss.from_logits
        and np.allclose(trace.target_onehot.sum(axis=1), 1.0)
    ):
        return "softmax_ce"
    return None


def fused_note(trace: Trace) -> Note:
    """Why the output error term is simply ŷ − y."""
    loss = trace.loss_fn
    if isinstance(loss, (BCELoss, BCEWithLogitsLoss)):
        return Note(
            r"Why $\hat{y} - y$: with $\hat{y} = \sigma(z)$ and binary cross-entropy, "
            r"$\frac{\partial L}{\partial \hat{y}} = \frac{\hat{y} - y}{\hat{y}(1 - \hat{y})}$ and "
            r"$\sigma'(z) = \hat{y}(1 - \hat{y})$; the product cancels to $\hat{y} - y$ "
            "(times the 1/n of the mean). This is why the sigmoid output and the cross-entropy loss "
            "are fused in practice: no division by a tiny $\\hat{y}(1 - \\hat{y})$.",
            "Why ŷ − y: with ŷ = σ(z) and binary cross-entropy, ∂L/∂ŷ = (ŷ − y)/(ŷ(1 − ŷ)) and "
            "σ'(z) = ŷ(1 − ŷ); the product cancels to ŷ − y (times the 1/n of the mean). This is why the "
            "sigmoid output and the cross-entropy loss are fused in practice: no division by a "
            "tiny ŷ(1 − ŷ).",
        )
    return Note(
        r"Why $\hat{y} - y$: with $\hat{y} = \operatorname{softmax}(z)$ the Jacobian is "
        r"$\partial \hat{y}_k / \partial z_j = \hat{y}_k(\delta_{kj} - \hat{y}_j)$ and "
        r"$\partial L / \partial \hat{y}_k = -y_k / \hat{y}_k$, so "
        r"$\partial L / \partial z_j = \sum_k -y_k(\delta_{kj} - \hat{y}_j)"
        r" = \hat{y}_j \sum_k y_k - y_j = \hat{y}_j - y_j$ "
        "because the target column sums to 1 (times the 1/N of the mean).",
        "Why ŷ − y: with ŷ = softmax(z) the Jacobian is ∂ŷ_k/∂z_j = ŷ_k(δ_kj − ŷ_j) and "
        "∂L/∂ŷ_k = −y_k/ŷ_k, so "
        "∂L/∂z_j = Σ_k −y_k(δ_kj − ŷ_j) = ŷ_j·Σ_k y_k − y_j = ŷ_j − y_j because the target column sums to 1 "
        "(times the 1/N of the mean).",
    )


def fused_delta_lines(trace: Trace, nt: Notation) -> tuple[Line, Line]:
    """δ⁽ᴸ⁾ = (1/n)(ŷ − y): symbolic and substituted."""
    fs, fv = _factor(1, trace)
    P, Y = Mat(nt.cols(trace.output)), Mat(nt.cols(trace.target_onehot))
    open_l, close_l = (T(r"\left(", "("), T(r"\right)", ")")) if fs.latex else (T(""), T(""))
    return (
        line(fs, open_l, nt.yhat, T(" - ", " − "), nt.y, close_l),
        line(fv, open_l, P, T(" - ", " − "), Y, close_l),
    )


__all__ = [
    "describe_loss",
    "fused_case",
    "fused_delta_lines",
    "fused_note",
    "loss_gradient_step",
    "loss_section",
]
