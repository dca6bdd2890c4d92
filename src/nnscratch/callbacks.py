"""Training callbacks: hooks that ``fit`` calls at the start, after every epoch, and at the end.

A callback sees the whole :class:`FitState` (model, optimizer, history, random generator, epoch)
and can stop training by setting ``state.stop_training = True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .losses import Loss
    from .module import Module
    from .optim import Optimizer
    from .train import History


@dataclass
class FitState:
    """What a training run is made of, handed to every callback."""

    model: Module
    optimizer: Optimizer
    loss: Loss
    history: History
    rng: np.random.Generator
    epochs: int
    epoch: int = 0
    stop_training: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Callback:
    """Base class; override the hooks you need."""

    def on_train_begin(self, state: FitState) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        """Called after every epoch with that epoch's record (``loss``, ``val_loss``...)."""

    def on_train_end(self, state: FitState) -> None:
        """Called once after the last epoch (also after early stopping)."""


class LambdaCallback(Callback):
    """Wrap a plain function ``fn(state, logs)`` as an end-of-epoch callback."""

    def __init__(self, on_epoch_end: Callable[[FitState, dict[str, float]], Any]) -> None:
        self._fn = on_epoch_end

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        self._fn(state, logs)


def as_callback(cb: Callback | Callable[[FitState, dict[str, float]], Any]) -> Callback:
    """Accept a Callback or a plain function ``fn(state, logs)``."""
    from .errors import DTypeError

    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return LambdaCallback(cb)
    raise DTypeError(f"callbacks must be Callback instances or functions fn(state, logs). Received: {cb!r}")


__all__ = ["Callback", "FitState", "LambdaCallback", "as_callback"]
