"""An independent reference for the explain tests: forward and backward written from the textbook
formulas in column convention (samples as columns, W as (out, in)), sharing no code with the
engine. Softmax is differentiated through its explicit Jacobian matrix, sample by sample."""

from __future__ import annotations

import numpy as np


def act_forward(name, z, slope=0.01):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "relu_sin":
        return np.where(z > 0, z, 0.0) + np.sin(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=0))
        return e / e.sum(axis=0)
    if name in ("identity", None):
        return z
    raise ValueError(name)


def act_derivative(name, z, slope=0.01):
    """f'(z) entry by entry (not for softmax)."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, slope)
    if name == "relu_sin":
        return (z > 0).astype(float) + np.cos(z)
    if name in ("identity", None):
        return np.ones_like(z)
    raise ValueError(name)


def loss_value_and_grad(loss, out, Y, reduction="mean"):
    """(L, dL/d out) for the network output ``out`` (columns) and target ``Y`` (columns)."""
    N = out.shape[1]
    n = out.size
    if loss == "l2":
        s = 1.0 / N if reduction == "mean" else 1.0
        return s * 0.5 * np.sum((out - Y) ** 2), s * (out - Y)
    if loss == "mse":
        s = 1.0 / n if reduction == "mean" else 1.0
        return s * np.sum((out - Y) ** 2), s * 2 * (out - Y)
    if loss == "bce":
        s = 1.0 / n if reduction == "mean" else 1.0
        L = -s * np.sum(Y * np.log(out) + (1 - Y) * np.log(1 - out))
        return L, s * (-Y / out + (1 - Y) / (1 - out))
    if loss == "bce_logits":
        s = 1.0 / n if reduction == "mean" else 1.0
        p = 1.0 / (1.0 + np.exp(-out))
        L = -s * np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p))
        return L, s * (p - Y)
    if loss == "ce_logits":
        s = 1.0 / N if reduction == "mean" else 1.0
        p = act_forward("softmax", out)
        return -s * np.sum(Y * np.log(p)), s * (p - Y)
    if loss == "ce_probs":
        s = 1.0 / N if reduction == "mean" else 1.0
        return -s * np.sum(Y * np.log(out)), -s * Y / out
    raise ValueError(loss)


def reference(layers, x, Y, loss, lr, reduction="mean", slope=0.01):
    """layers: list of (W (out, in), b (out,), activation name). x: (N, in). Y: columns (k, N).

    Returns every quantity of the worked example, as columns, with SGD updates.
    """
    out = {}
    a = np.asarray(x, dtype=float).T
    out["x"] = a
    cache = []
    for l, (W, b, act) in enumerate(layers, start=1):
        z = W @ a + b[:, None]
        a_new = act_forward(act, z, slope)
        out[f"z{l}"], out[f"a{l}"] = z, a_new
        cache.append((W, b, act, a, z, a_new))
        a = a_new
    L, g = loss_value_and_grad(loss, a, Y, reduction)
    out["loss"] = L
    n_layers = len(layers)
    for l in range(n_layers, 0, -1):
        W, b, act, a_prev, z, a_l = cache[l - 1]
        out[f"dL_da{l}"] = g
        if act == "softmax":  # explicit Jacobian per sample: J[k, j] = a_k (δ_kj - a_j)
            delta = np.empty_like(g)
            for col in range(g.shape[1]):
                s = a_l[:, col]
                J = np.diag(s) - np.outer(s, s)
                delta[:, col] = J.T @ g[:, col]
        else:
            delta = g * act_derivative(act, z, slope)
        out[f"delta{l}"] = delta
        out[f"dW{l}"] = delta @ a_prev.T
        out[f"db{l}"] = delta.sum(axis=1, keepdims=True)
        out[f"W{l}_new"] = W - lr * out[f"dW{l}"]
        out[f"b{l}_new"] = (b - lr * delta.sum(axis=1)).reshape(-1, 1)
        g = W.T @ delta
    return out


def numeric_param_grads(layers, x, Y, loss, reduction="mean", h=1e-6, slope=0.01):
    """Central differences of the loss w.r.t. every weight and bias (independent of any backward)."""

    def value(ls):
        a = np.asarray(x, dtype=float).T
        for W, b, act in ls:
            a = act_forward(act, W @ a + b[:, None], slope)
        return loss_value_and_grad(loss, a, Y, reduction)[0]

    grads = {}
    for l, (W, b, _) in enumerate(layers, start=1):
        for name, P in (("dW", W), ("db", b)):
            G = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                old = P[idx]
                P[idx] = old + h
                up = value(layers)
                P[idx] = old - h
                down = value(layers)
                P[idx] = old
                G[idx] = (up - down) / (2 * h)
            grads[f"{name}{l}"] = G if name == "dW" else G.reshape(-1, 1)
    return grads


#: Every step of a two-layer worked example, in computation order.
TWO_LAYER_KEYS = (
    "z1", "a1", "z2", "a2", "loss", "dL_da2", "delta2", "dW2", "db2",
    "dL_da1", "delta1", "dW1", "db1", "W1_new", "b1_new", "W2_new", "b2_new",
)  # fmt: skip
