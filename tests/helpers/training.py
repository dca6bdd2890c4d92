"""The training step every engine test takes by hand: forward, loss, zero_grad, backward, step."""

from __future__ import annotations

from typing import Any

import numpy as np


def train_steps(model: Any, opt: Any, X: np.ndarray, y: np.ndarray, loss: Any, steps: int) -> None:
    """``steps`` full-batch steps of ``opt`` on ``model`` with ``loss`` (as ``fit`` takes them)."""
    for _ in range(steps):
        loss(model(X), y)  # __call__ checks and shapes the target, as fit's preparation does
        opt.zero_grad()
        model.backward(loss.backward(), input_grad=False)
        opt.step()
