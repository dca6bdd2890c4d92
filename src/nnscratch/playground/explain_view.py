"""The worked computation behind one clicked weight or bias, from ``nnscratch.explain``.

The page gets plain text in which the numbers about the clicked parameter are wrapped in \\x01
markers (the page turns them into highlights): first a focused derivation of that one entry —
∂L/∂W_ij = δ_i · a_j and the update — then the whole worked example of the engine, for one
training sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.engine.layers import Linear
from nnscratch.worked import explain

from .session import Session

MARK = "\x01"


def _int(body: dict[str, Any], key: str, low: int, high: int) -> int:
    value = body.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
        raise HyperparameterError(
            f"{key} must be an integer in [{low}, {high - 1}]. Received: {key}={value!r}"
        )
    return value


def explain_parameter(session: Session, body: dict[str, Any]) -> dict[str, Any]:
    """Explain ``W[layer][i, j]`` (``kind="weight"``) or ``b[layer][i]`` (``kind="bias"``)."""
    linears = [m for m in session.model.layers if isinstance(m, Linear)]
    kind = body.get("kind", "weight")
    if kind not in ("weight", "bias"):
        raise HyperparameterError(f"kind must be 'weight' or 'bias'. Received: kind={kind!r}")
    layer = _int(body, "layer", 0, len(linears))
    W = linears[layer].weight.data
    i = _int(body, "i", 0, W.shape[0])
    j = _int(body, "j", 0, W.shape[1]) if kind == "weight" else 0
    sample = _int(body, "sample", 0, len(session.X_train))
    x = session.X_train[sample : sample + 1]
    y = session._targets(session.y_train[sample : sample + 1])
    c = session.config
    lr = c.lr
    worked = explain(session.model, x, y, loss=session.loss, lr=lr, decimals=4)
    n = layer + 1  # the explain feature numbers layers from 1
    delta = np.ravel(worked.step(f"delta{n}").value)
    prev = np.ravel(worked.step("x" if n == 1 else f"a{n - 1}").value)

    def d4(v: float) -> str:
        return f"{float(v):.4f}"

    def factor(v: float) -> str:  # a negative factor in a product gets parentheses
        return f"({d4(v)})" if v < 0 else d4(v)

    label = int(session.y_train[sample])
    lines = [f"Sample {sample}: x = ({d4(x[0, 0])}, {d4(x[0, 1])}), label {label}", ""]
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
    if c.optimizer != "sgd" or c.l2:
        lines.append(
            f"  (training itself uses {c.optimizer} with L2 = {c.l2:g}; the step above is plain SGD)"
        )
    lines += ["", "The whole worked example for this sample:", "", worked.to_text()]
    return {"text": "\n".join(lines), "key": f"{'dW' if kind == 'weight' else 'db'}{n}"}
