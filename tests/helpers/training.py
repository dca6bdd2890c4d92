"""The training step every engine test takes by hand: forward, loss, zero_grad, backward, step."""

from __future__ import annotations

from typing import Any

import numpy as np

import nnscratch as ns


def train_steps(model: Any, opt: Any, X: np.ndarray, y: np.ndarray, loss: Any, steps: int) -> None:
    """``steps`` full-batch steps of ``opt`` on ``model`` with ``loss`` (as ``fit`` takes them)."""
    for _ in range(steps):
        loss(model(X), y)  # __call__ checks and shapes the target, as fit's preparation does
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()


def trajectory(make_opt: Any, theta0: np.ndarray, grads: list[np.ndarray]) -> list[np.ndarray]:
    """Apply ``grads`` one per step to a single parameter starting at ``theta0`` (the optimizer is
    ``make_opt([param])``); return θ after every step."""
    p = ns.Parameter(theta0.copy())
    opt = make_opt([p])
    out = []
    for g in grads:
        opt.zero_grad()
        p.grad += g
        opt.step()
        out.append(p.data.copy())
    return out
