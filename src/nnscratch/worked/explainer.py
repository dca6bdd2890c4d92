"""``explain(model, x, y, loss=..., lr=...)``: a worked forward/backward pass and one update."""

from __future__ import annotations

from typing import Any

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.validation import check_choice, check_positive_int
from nnscratch.engine.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnscratch.engine.layers.attention import MultiheadAttention
from nnscratch.engine.losses import BCEWithLogitsLoss, CrossEntropyLoss
from nnscratch.engine.names import LOSS_NAMES

from . import activation_rules as act_rules
from .attention_explain import explain_attention
from .build_backward import backward_section
from .build_forward import forward_section, given_section, logits_loss
from .build_loss import describe_loss, loss_section
from .build_update import describe_optimizer, update_section
from .chain_explain import explain_chain
from .chain_trace import is_layernorm_model
from .mathfmt import fmt_num
from .notation import LAYOUTS, Notation
from .row_steps import check_options
from .steps import Note, Section, Step
from .trace import Trace, run_trace
from .worked import WorkedExample

_TOPIC = {
    Sigmoid: "sigmoid",
    Tanh: "tanh",
    ReLU: "relu",
    LeakyReLU: "relu",
    Softmax: "softmax",
    Identity: "identity",
}


def _architecture(trace: Trace) -> str:
    parts = [str(trace.layers[0].W.shape[1])]
    for lt in trace.layers:
        parts.append(f"{lt.W.shape[0]} ({act_rules.name_of(lt.activation)})")
    return " → ".join(parts)


def _header(trace: Trace, nt: Notation, decimals: int) -> list[Note]:
    arch = _architecture(trace)
    loss_md, loss_txt = describe_loss(trace.loss_fn)
    opt_md, opt_txt = describe_optimizer(trace.optimizer)
    if nt.layout == "out_in":
        lay_md = r"weights written as (out, in): $z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}$"
        lay_txt = "weights written as (out, in): z⁽ˡ⁾ = W⁽ˡ⁾ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾"
    else:
        lay_md = (
            r"weights written as (in, out), $w_{ij}$ joining node $i$ to node $j$: "
            r"$z^{(l)} = W^{(l)\top} a^{(l-1)} + b^{(l)}$"
        )
        lay_txt = "weights written as (in, out), w_ij joining node i to node j: z⁽ˡ⁾ = W⁽ˡ⁾ᵀ a⁽ˡ⁻¹⁾ + b⁽ˡ⁾"
    n = trace.n_samples
    samples = "one sample" if n == 1 else f"a batch of {n} samples (one column per sample)"
    notes = [
        Note(f"Network: {arch}; input: {samples}.", f"Network: {arch}; input: {samples}."),
        Note(f"Loss: {loss_md}.", f"Loss: {loss_txt}."),
        Note(f"Optimizer: {opt_md}.", f"Optimizer: {opt_txt}."),
        Note(
            f"Notation: {lay_md}; $a^{{(0)}} = x$, $\\delta^{{(l)}} = \\partial L / \\partial z^{{(l)}}$.",
            f"Notation: {lay_txt}; a⁽⁰⁾ = x, δ⁽ˡ⁾ = ∂L/∂z⁽ˡ⁾.",
        ),
        Note(
            f"Computed in float64 by the nnscratch engine; shown rounded to {decimals} decimals "
            "(intermediate values are not rounded).",
            f"Computed in float64 by the nnscratch engine; shown rounded to {decimals} decimals "
            "(intermediate values are not rounded).",
        ),
    ]
    warning = _mismatch_warning(trace)
    if warning is not None:
        notes.append(warning)
    return notes


def _mismatch_warning(trace: Trace) -> Note | None:
    """Say so when the loss re-applies the output activation (a classic bug)."""
    act, loss = trace.layers[-1].activation, trace.loss_fn
    if isinstance(act, Softmax) and isinstance(loss, CrossEntropyLoss) and loss.from_logits:
        msg = (
            "Warning: the network ends in Softmax but CrossEntropyLoss(from_logits=True) "
            "applies softmax again; "
            "use CrossEntropyLoss(from_logits=False) after a Softmax layer."
        )
        return Note(
            msg.replace("CrossEntropyLoss(from_logits=True)", "`CrossEntropyLoss(from_logits=True)`"), msg
        )
    if isinstance(act, Sigmoid) and isinstance(loss, BCEWithLogitsLoss):
        msg = (
            "Warning: the network ends in Sigmoid but BCEWithLogitsLoss applies the sigmoid again; "
            "use BCELoss."
        )
        return Note(msg, msg)
    return None


def _answers(ex_sections: list[Section], trace: Trace, nt: Notation) -> Section:
    """The final numbers only: output, loss, gradients, updated parameters."""
    wanted = [f"a{nt.L}", "yhat", "loss"]
    for lt in trace.layers:
        wanted += [f"dW{lt.index}", f"db{lt.index}"]
    for lt in trace.layers:
        wanted += [f"W{lt.index}_new", f"b{lt.index}_new"]
    found = {s.key: s for sec in ex_sections for s in sec.steps if s.key}
    # a loss on logits has both the raw output and the probabilities it computes: name them apart
    both = f"a{nt.L}" in found and "yhat" in found
    titles = {
        f"a{nt.L}": "Network output (logits)" if both else "Network output",
        "yhat": "Predicted probabilities" if both else "Network output",
        "loss": "Loss",
    }
    sec = Section("Answers")
    for key in wanted:
        if key in found:
            s = found[key]
            sec.add(Step(None, titles.get(key, s.title), s.lhs, s.value))
    return sec


def _topics(trace: Trace) -> list[str]:
    topics = ["chain", "linear"]
    for lt in trace.layers:
        act = lt.activation
        name = "custom_activation" if isinstance(act, Activation) else _TOPIC.get(type(act), "identity")
        if act is None:
            name = "identity"
        if name not in topics:
            topics.append(name)
    topics.append(LOSS_NAMES.name_of(type(trace.loss_fn)) or "mse")  # a loss's page is its canonical name
    return topics


def explain(
    model: Any,
    x: Any,
    y: Any,
    loss: Any,
    lr: float | None = None,
    optimizer: Any = None,
    decimals: int = 4,
    layout: str = "out_in",
    title: str | None = None,
    *,
    head: int | None = None,
    attn_mask: Any = None,
    key_padding_mask: Any = None,
    is_causal: bool = False,
) -> WorkedExample:
    """Work one forward pass, backward pass and parameter update out step by step.

    Runs the real engine — forward, loss, backward, one optimizer step — on a float64 copy of
    ``model`` (the model, loss and optimizer passed in are never modified) and writes every
    quantity as formula, formula with numbers, and result.

    Parameters
    ----------
    model : Sequential, MultiheadAttention or LayerNorm
        A dense network: Linear layers, each optionally followed by one activation (Sigmoid,
        Tanh, ReLU, LeakyReLU, Softmax, Identity, or a custom / symbolic ``Activation``).
        Or a ``MultiheadAttention`` layer: one head worked on one sequence, rows as positions,
        forward and backward (no update). Or a ``LayerNorm``, alone or in a Sequential of Linear
        layers, element-wise activations and LayerNorms, rows as samples (no update).
    x : array_like, shape (n_features,) or (N, n_features)
        One sample (a column (n_features, 1) is accepted too) or a small batch (N <= 16). For
        attention one sequence (T, E) or (1, T, E), T and E at most 8.
    y : array_like
        The target: a number or row for one sample, or what the loss takes for a batch
        (class indices or one-hot rows for the cross-entropy).
    loss : Loss or str
        Any nnscratch loss, or a name: ``"mse"``, ``"l2"``, ``"bce"``, ``"bce_with_logits"`` (or
        ``"bce_logits"``), ``"cross_entropy"`` (or ``"ce"``; after a Softmax layer the name means
        ``from_logits=False``).
    lr : float, optional
        Learning rate for the default SGD or a named optimizer (0.1 if not given).
    optimizer : None, str, Optimizer or callable
        ``None`` for plain SGD; a name (``"sgd"``, ``"momentum"``, ``"adam"``...); an optimizer built on
        ``model.parameters()`` (its type, settings and state are copied); or a factory
        ``params -> Optimizer``.
    decimals : int
        Digits shown after the decimal point.
    layout : {"out_in", "in_out"}
        ``"out_in"``: W is (out, in) and z = W a + b (PyTorch's layout). ``"in_out"``: W is
        (in, out), ``w_ij`` joins node i to node j, and z = Wᵀ a + b.
    title : str, optional
    head : int, optional
        Attention only: the head worked out (0 to num_heads - 1; default 0). The other heads are
        computed alike; their outputs enter O, the output and every gradient.
    attn_mask, key_padding_mask, is_causal
        Attention only: the masks, as ``MultiheadAttention.forward`` takes them.

    Returns
    -------
    WorkedExample
    """
    decimals = check_positive_int(decimals, "decimals", allow_zero=True)
    if decimals > 12:
        raise HyperparameterError(f"decimals must be at most 12. Received: decimals={decimals}")
    check_choice(layout, "layout", LAYOUTS)
    if isinstance(model, MultiheadAttention):
        check_options(lr, optimizer, layout, "an attention layer")
        return explain_attention(
            model,
            x,
            y,
            loss=loss,
            decimals=decimals,
            title=title,
            head=head,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
        )
    given = {"head": head, "attn_mask": attn_mask, "key_padding_mask": key_padding_mask}
    extra = [f"{k}={v!r}" for k, v in given.items() if v is not None]
    extra += ["is_causal=True"] if is_causal else []
    if extra:
        raise HyperparameterError(
            "head, attn_mask, key_padding_mask and is_causal are for a MultiheadAttention layer. "
            f"Received: {', '.join(extra)} for a {type(model).__name__}"
        )
    if is_layernorm_model(model):
        check_options(lr, optimizer, layout, "a LayerNorm model")
        return explain_chain(model, x, y, loss=loss, decimals=decimals, title=title)
    trace = run_trace(model, x, y, loss=loss, lr=lr, optimizer=optimizer)
    nt = Notation(layout, len(trace.layers))
    lr_note = Note(
        f"Learning rate $\\eta = {fmt_num(trace.optimizer.lr, 10)}$.",
        f"Learning rate η = {fmt_num(trace.optimizer.lr, 10)}.",
    )
    sections = [
        given_section(trace, nt, lr_note),
        forward_section(trace, nt, decimals),
        loss_section(trace, nt, decimals),
        backward_section(trace, nt, decimals),
        update_section(trace, nt),
    ]
    sections.append(_answers(sections, trace, nt))
    L = nt.L
    aliases = {"output": f"a{L}", "x": "x", "dL_dyhat": f"dL_da{L}", f"a{0}": "x"}
    aliases["yhat"] = "yhat" if logits_loss(trace) else f"a{L}"
    if logits_loss(trace) and trace.layers[-1].activation is None:
        aliases[f"dL_da{L}"] = f"delta{L}"
        aliases["dL_dyhat"] = f"delta{L}"
    for lt in trace.layers:
        l = lt.index
        aliases[f"dL_dW{l}"] = f"dW{l}"
        aliases[f"dL_db{l}"] = f"db{l}"
    aliases = {k: v for k, v in aliases.items() if k != v}
    default_title = f"Worked example: {_architecture(trace)} network"
    return WorkedExample(
        title or default_title,
        _header(trace, nt, decimals),
        sections,
        decimals=decimals,
        layout=layout,
        aliases=aliases,
        topics=_topics(trace),
        trace=trace,
    )
