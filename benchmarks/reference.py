"""A plain hand-written NumPy MLP training step, in the style of the course notebooks.

Weights are stored as the notebooks store them, ``W`` of shape (in, out) and ``z = h @ W + b``;
the output delta is the fused ``p - t`` (sigmoid + BCE, softmax + cross-entropy) divided by the
batch size, and hidden deltas are ``(delta @ W.T) * f'(a)``. Vectorised over the batch, no
buffers, no validation: the floor a library's overhead is measured against.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable form: no overflow in exp


ACTIVATIONS = {
    "tanh": (np.tanh, lambda a: 1.0 - a * a),
    "sigmoid": (_sigmoid, lambda a: a * (1.0 - a)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: a > 0),
}


class NumpyMLP:
    """Training steps of an MLP with ``weights = [(W (in, out), b (out,)), ...]``."""

    def __init__(self, weights, hidden: str, binary: bool, lr: float, momentum: float = 0.0) -> None:
        self.W = [np.array(w, copy=True) for w, _ in weights]
        self.b = [np.array(b, copy=True) for _, b in weights]
        self.f, self.df = ACTIVATIONS[hidden]
        self.binary = binary
        self.lr = lr
        self.momentum = momentum
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.first = True

    def step(self, X: np.ndarray, t: np.ndarray) -> float:
        """One step on inputs ``X`` (N, in) and targets ``t``: (N, 1) floats or (N, C) one-hot."""
        W, b = self.W, self.b
        n = X.shape[0]
        # forward
        hs = [X]
        for l in range(len(W) - 1):
            hs.append(self.f(hs[-1] @ W[l] + b[l]))
        z = hs[-1] @ W[-1] + b[-1]
        tiny = np.finfo(z.dtype).tiny
        if self.binary:
            p = _sigmoid(z)
            loss = -np.mean(t * np.log(np.maximum(p, tiny)) + (1.0 - t) * np.log(np.maximum(1.0 - p, tiny)))
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
            loss = -np.sum(t * np.log(np.maximum(p, tiny))) / n
        # backward: delta = dL/dz, layer by layer
        delta = (p - t) / n
        dW = [None] * len(W)
        db = [None] * len(W)
        for l in reversed(range(len(W))):
            dW[l] = hs[l].T @ delta
            db[l] = delta.sum(axis=0)
            if l > 0:
                delta = (delta @ W[l].T) * self.df(hs[l])
        # SGD (with torch.optim.SGD's momentum: v = mu v + g, W -= lr v; v = g on the first step)
        lr, mu = self.lr, self.momentum
        for l in range(len(W)):
            if mu:
                if self.first:
                    self.vW[l][...] = dW[l]
                    self.vb[l][...] = db[l]
                else:
                    self.vW[l] = mu * self.vW[l] + dW[l]
                    self.vb[l] = mu * self.vb[l] + db[l]
                W[l] -= lr * self.vW[l]
                b[l] -= lr * self.vb[l]
            else:
                W[l] -= lr * dW[l]
                b[l] -= lr * db[l]
        self.first = False
        return float(loss)
