"""Learning-rate schedules, as in ``torch.optim.lr_scheduler``: ``step()`` once per epoch.

A schedule sets the learning rate of every parameter group, each from its own starting rate (as
PyTorch's ``base_lrs``): groups at 0.1 and 0.01 under ``StepLR(gamma=0.5)`` go on at 0.05 and 0.005.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from nnscratch.base.errors import DTypeError, HyperparameterError, StateDictError, StateError
from nnscratch.base.validation import check_positive, check_positive_int

from .optimizers import Optimizer


class LRScheduler:
    """Base class: ``step()`` once per epoch sets each parameter group's
    ``lr = base_lr · factor(epoch)``, ``base_lr`` being the group's rate when the schedule was made.

    ``base_lrs`` holds them, one per group; ``base_lr`` is the first group's.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise DTypeError(f"a scheduler needs an nnscratch Optimizer. Received: {optimizer!r}")
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.last_epoch = 0

    @property
    def base_lr(self) -> float:
        """The first group's starting rate."""
        return self.base_lrs[0]

    def factor(self, epoch: int) -> float:
        raise NotImplementedError

    def lr_of(self, base_lr: float) -> float:
        """The rate at ``last_epoch`` of a group that started at ``base_lr``."""
        return base_lr * self.factor(self.last_epoch)

    def get_lr(self) -> list[float]:
        """Each group's rate at ``last_epoch``, as ``torch``'s ``get_lr``."""
        return [self.lr_of(base_lr) for base_lr in self.base_lrs]

    def get_last_lr(self) -> list[float]:
        """Each group's current rate, as ``torch``'s ``get_last_lr``."""
        return [group["lr"] for group in self.optimizer.param_groups]

    def _set_lrs(self) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr

    def step(self) -> None:
        groups = len(self.optimizer.param_groups)
        if groups != len(self.base_lrs):
            raise StateError(
                f"the optimizer has {groups} parameter groups, but this schedule was made for "
                f"{len(self.base_lrs)}: make the schedule after add_param_group."
            )
        self.last_epoch += 1
        self._set_lrs()

    def state_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "base_lrs": list(self.base_lrs), "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load :meth:`state_dict`'s output (or an older one with a single ``base_lr``)."""
        base_lrs = state["base_lrs"] if "base_lrs" in state else [state["base_lr"]]
        groups = len(self.optimizer.param_groups)
        if not isinstance(base_lrs, list) or len(base_lrs) != groups:
            raise StateDictError(
                f"scheduler state must hold one starting learning rate per parameter group ({groups}). "
                f"Received: base_lrs={base_lrs!r:.80}"
            )
        self.base_lrs = [float(lr) for lr in base_lrs]
        self.last_epoch = int(state["last_epoch"])
        self._set_lrs()


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

    def lr_of(self, base_lr: float) -> float:
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return self.eta_min + (base_lr - self.eta_min) * cos

    def factor(self, epoch: int) -> float:
        """The first group's rate at ``epoch`` over its starting rate."""
        cos = (1 + math.cos(math.pi * epoch / self.T_max)) / 2
        return (self.eta_min + (self.base_lr - self.eta_min) * cos) / self.base_lr if self.base_lr else 1.0


class WarmupCosineLR(LRScheduler):
    """A linear warm-up, then a cosine decay: the usual schedule for transformers.

    epoch < warmup:   lr = base_lr · (epoch + 1) / warmup
    epoch ≥ warmup:   lr = eta_min + (base_lr − eta_min)(1 + cos(π·t)) / 2,
                      t = min(1, (epoch − warmup) / (T_max − warmup))

    Starting small lets Adam's moment estimates settle before full-size steps (attention logits
    are unstable early); the cosine then anneals to ``eta_min`` at epoch ``T_max`` and stays there.
    """

    def __init__(self, optimizer: Optimizer, warmup: int, T_max: int, eta_min: float = 0.0) -> None:
        self.warmup = check_positive_int(warmup, "warmup")
        self.T_max = check_positive_int(T_max, "T_max")
        if self.T_max <= self.warmup:
            raise HyperparameterError(
                "T_max must be greater than warmup (the warm-up comes first). "
                f"Received: warmup={warmup}, T_max={T_max}"
            )
        self.eta_min = check_positive(eta_min, "eta_min", allow_zero=True)
        super().__init__(optimizer)
        self._set_lrs()  # the first epoch already runs warmed up by 1/warmup

    def _rate(self, base_lr: float, epoch: int) -> float:
        if epoch < self.warmup:
            return base_lr * (epoch + 1) / self.warmup
        t = min(1.0, (epoch - self.warmup) / (self.T_max - self.warmup))
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t)) / 2

    def lr_of(self, base_lr: float) -> float:
        return self._rate(base_lr, self.last_epoch)

    def factor(self, epoch: int) -> float:
        """The first group's rate at ``epoch`` over its starting rate."""
        return self._rate(self.base_lr, epoch) / self.base_lr if self.base_lr else 1.0


__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "MultiStepLR", "StepLR", "WarmupCosineLR"]
