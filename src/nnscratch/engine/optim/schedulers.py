"""Learning-rate schedules, as in ``torch.optim.lr_scheduler``: ``step()`` once per epoch."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from nnscratch.base.errors import DTypeError, HyperparameterError
from nnscratch.base.validation import check_positive, check_positive_int

from .optimizers import Optimizer


class LRScheduler:
    """Base class: ``step()`` once per epoch sets ``optimizer.lr = base_lr · factor(epoch)``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise DTypeError(f"a scheduler needs an nnscratch Optimizer. Received: {optimizer!r}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def factor(self, epoch: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> float:
        return self.base_lr * self.factor(self.last_epoch)

    def step(self) -> None:
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr()

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr = float(state["base_lr"])
        self.last_epoch = int(state["last_epoch"])
        self.optimizer.lr = self.get_lr()


class StepLR(LRScheduler):
    """lr = base_lr · gamma^⌊epoch / step_size⌋, as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_positive(gamma, "gamma")

    def factor(self, epoch: int) -> float:
        return self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr · gamma^(number of milestones <= epoch)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        if not isinstance(milestones, Iterable):
            raise HyperparameterError(
                "milestones must be a list of epoch numbers, e.g. [30, 80]. "
                f"Received: milestones={milestones!r}"
            )
        self.milestones = sorted(check_positive_int(m, "milestones") for m in milestones)
        self.gamma = check_positive(gamma, "gamma")

    def factor(self, epoch: int) -> float:
        return self.gamma ** sum(1 for m in self.milestones if m <= epoch)


class ExponentialLR(LRScheduler):
    """lr = base_lr · gamma^epoch, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = check_positive(gamma, "gamma")

    def factor(self, epoch: int) -> float:
        return self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min)(1 + cos(π·epoch / T_max)) / 2."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = check_positive_int(T_max, "T_max")
        self.eta_min = check_positive(eta_min, "eta_min", allow_zero=True)

    def get_lr(self) -> float:
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return self.eta_min + (self.base_lr - self.eta_min) * cos

    def factor(self, epoch: int) -> float:
        return self.get_lr() / self.base_lr if self.base_lr else 1.0


__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "MultiStepLR", "StepLR"]
