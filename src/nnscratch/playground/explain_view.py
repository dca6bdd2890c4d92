"""The worked computation behind one clicked weight or bias, from ``nnscratch.explain``.

The page gets plain text in which the numbers about the clicked parameter are wrapped in \\x01
markers (the page turns them into highlights): first a focused derivation of that one entry —
∂L/∂W_ij = δ_i · a_j and the update — then the whole worked example of the engine, for one
training sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.engine.layers import Features, Sequential
from nnscratch.worked import explain

from . import fields as F
from .edit import parameter_target
from .session import Session

MARK = "\x01"


def explain_parameter(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """Explain ``W[layer][i, j]`` (``kind="weight"``) or ``b[layer][i]`` (``kind="bias"``)."""
    linears = session.linears()
    layer, kind, i, j = parameter_target(session, body)
    W = linears[layer].weight.data
    sample = F.integer("sample", body.get("sample", 0), 0, len(session.X_train) - 1)
    x = session.X_train[sample : sample + 1]
    y = session._targets(session.y_train[sample : sample + 1])
    c = session.config
    lr = c.lr
    net, inputs = session.model, x
    first = net.layers[0]
    if isinstance(first, Features):  # explain works on Linear + activation pairs: feed it the features
        net, inputs = Sequential(*net.layers[1:]), first.forward(x)
    worked = explain(net, inputs, y, loss=session.loss, lr=lr, decimals=4)
    n = layer + 1  # the explain feature numbers layers from 1
    delta = np.ravel(worked.step(f"delta{n}").value)
    prev = np.ravel(worked.step("x" if n == 1 else f"a{n - 1}").value)

    def d4(v: float) -> str:
        return f"{float(v):.4f}"

    def factor(v: float) -> str:  # a negative factor in a product gets parentheses
        return f"({d4(v)})" if v < 0 else d4(v)

    target = session.y_train[sample]
    label = f"target {d4(target)}" if session.task == "regression" else f"label {int(target)}"
    lines = [f"Sample {sample}: x = ({d4(x[0, 0])}, {d4(x[0, 1])}), {label}"]
    if inputs is not x:
        shown = ", ".join(f"{n} = {d4(v)}" for n, v in zip(c.features, inputs[0], strict=True))
        lines.append(f"  input features: {shown}")
    lines.append("")
    if kind == "weight":
        grad = np.asarray(worked.step(f"dW{n}").value)[i, j]
        new = W[i, j] - lr * grad
        lines += [
            f"Weight W⁽{n}⁾[{i},{j}] connects unit {j} of layer {n - 1} to unit {i} of layer {n}.",
            f"  W⁽{n}⁾[{i},{j}] = {MARK}{d4(W[i, j])}{MARK}",
            f"  ∂L/∂W⁽{n}⁾[{i},{j}] = δ⁽{n}⁾_{i} · a⁽{n - 1}⁾_{j} = {factor(delta[i])} · {factor(prev[j])}"
            f" = {MARK}{d4(grad)}{MARK}",
            f"  plain gradient step: W − η ∂L/∂W = {d4(W[i, j])} − {lr:g}·{factor(grad)}"
            f" = {MARK}{d4(new)}{MARK}",
        ]
    else:
        b = linears[layer].bias.data
        grad = np.ravel(worked.step(f"db{n}").value)[i]
        lines += [
            f"Bias b⁽{n}⁾[{i}] of unit {i} in layer {n}.",
            f"  b⁽{n}⁾[{i}] = {MARK}{d4(b[i])}{MARK}",
            f"  ∂L/∂b⁽{n}⁾[{i}] = δ⁽{n}⁾_{i} = {MARK}{d4(grad)}{MARK}",
            f"  plain gradient step: b − η ∂L/∂b = {d4(b[i])} − {lr:g}·{factor(grad)}"
            f" = {MARK}{d4(b[i] - lr * grad)}{MARK}",
        ]
    if c.optimizer != "sgd" or c.l2 or c.l1:
        lines.append(
            f"  (training itself uses {c.optimizer} with L2 = {c.l2:g}, L1 = {c.l1:g}; "
            "the step above is plain SGD)"
        )
    lines += ["", "The whole worked example for this sample:", "", worked.to_text()]
    return {"text": "\n".join(lines), "key": f"{'dW' if kind == 'weight' else 'db'}{n}"}
