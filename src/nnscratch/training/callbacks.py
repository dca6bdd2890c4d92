"""Training callbacks: hooks that ``fit`` calls at the start, after every epoch, and at the end.

A callback sees the whole :class:`FitState` (model, optimizer, history, random generator, epoch)
and can stop training by setting ``state.stop_training = True``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError, MissingDependencyError
from nnscratch.base.validation import check_choice, check_positive, check_positive_int
from nnscratch.engine.optim.schedulers import LRScheduler

if TYPE_CHECKING:
    from nnscratch.engine.history import History
    from nnscratch.engine.losses import Loss
    from nnscratch.engine.module import Module
    from nnscratch.engine.optim.optimizers import Optimizer


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


_MAXIMISED = ("accuracy", "precision", "recall", "f1", "exact_match")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; keep the best weights.

    Parameters
    ----------
    monitor : str
        A key of the epoch record: ``"val_loss"`` (needs ``validation_data``), ``"loss"``,
        ``"val_accuracy"``, ``"val_f1"``...
    patience : int
        Epochs without improvement tolerated before stopping (0: stop at the first).
    min_delta : float
        An improvement must beat the best value by more than this.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; "auto" maximises accuracy/precision/recall/f1 and
        minimises everything else.
    restore_best_weights : bool
        At the end of training (stopped early or not), load the weights of the best epoch.

    Notes
    -----
    After training, ``best``, ``best_epoch`` and ``stopped_epoch`` (0 if it never stopped) say
    what happened; they are also stored in ``state.extra["early_stopping"]``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        self.monitor = str(monitor)
        self.patience = check_positive_int(patience, "patience", allow_zero=True)
        self.min_delta = check_positive(min_delta, "min_delta", allow_zero=True)
        mode = check_choice(mode, "mode", ("auto", "min", "max"))
        if mode == "auto":
            mode = "max" if self.monitor.removeprefix("val_") in _MAXIMISED else "min"
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self._best_state: dict[str, np.ndarray] | None = None

    def on_train_begin(self, state: FitState) -> None:
        self._reset()

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            hint = " (pass validation_data to fit)" if self.monitor.startswith("val_") else ""
            raise HyperparameterError(
                f"EarlyStopping monitors {self.monitor!r}, which this run does not record{hint}. "
                f"Recorded: {', '.join(logs)}. Received: monitor={self.monitor!r}"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, state.epoch, 0
            if self.restore_best_weights:
                self._best_state = state.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = state.epoch
                state.stop_training = True
        state.extra["early_stopping"] = {
            "monitor": self.monitor,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
        }

    def on_train_end(self, state: FitState) -> None:
        if self.restore_best_weights and self._best_state is not None and self.best_epoch != state.epoch:
            state.model.load_state_dict(self._best_state)


class LRSchedulerCallback(Callback):
    """Step an :mod:`nnscratch.engine.optim` scheduler (``StepLR``, ``ExponentialLR``...) after every epoch.

    ``fit(..., scheduler=sched)`` adds one for you; the learning rate each epoch used is then
    recorded in the history under ``"lr"``.
    """

    def __init__(self, scheduler: Any) -> None:
        if not isinstance(scheduler, LRScheduler):
            raise DTypeError(
                "LRSchedulerCallback needs an nnscratch LRScheduler such as ns.StepLR(opt, 10). "
                f"Received: {scheduler!r}"
            )
        self.scheduler = scheduler

    def on_train_begin(self, state: FitState) -> None:
        if self.scheduler.optimizer is not state.optimizer:
            raise HyperparameterError(
                "the scheduler was built on a different optimizer than the one fit trains with: "
                "build it on the same one (ns.StepLR(opt, ...) with fit(..., optimizer=opt)), or pass "
                "scheduler=lambda opt: ns.StepLR(opt, ...)."
            )

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        self.scheduler.step()


def tqdm_class() -> Any:
    """``tqdm.auto.tqdm``: a widget in Jupyter (with ipywidgets), a text bar elsewhere."""
    try:
        with warnings.catch_warnings():
            # Without ipywidgets, tqdm.auto warns once and falls back to the text bar, which
            # Jupyter shows just as well: no need to alarm the reader.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
    except ImportError as exc:  # tqdm is an optional dependency (the "experiments" extra)
        raise MissingDependencyError(
            "progress bars need tqdm: pip install 'nnscratch[experiments]' (or pass progress=False)."
        ) from exc
    return tqdm


class ProgressBar(Callback):
    """A ``tqdm.auto`` progress bar over epochs (a widget in Jupyter, text in a terminal).

    The postfix shows the epoch record (loss, accuracy, validation values...). ``fit(progress=True)``
    adds one; ``file`` redirects it (default: stderr) and ``disable=True`` silences it.
    """

    def __init__(
        self,
        *,
        desc: str = "training",
        leave: bool = True,
        file: Any = None,
        mininterval: float = 0.1,
        disable: bool = False,
    ) -> None:
        self.desc, self.leave, self.file = desc, leave, file
        self.mininterval, self.disable = mininterval, disable
        self.bar: Any = None

    def on_train_begin(self, state: FitState) -> None:
        tqdm = tqdm_class()
        self.close()
        self.bar = tqdm(
            total=state.epochs,
            initial=state.epoch,
            desc=self.desc,
            unit="epoch",
            leave=self.leave,
            file=self.file,
            mininterval=self.mininterval,
            disable=self.disable,
            dynamic_ncols=True,
        )

    def on_epoch_end(self, state: FitState, logs: dict[str, float]) -> None:
        if self.bar is not None:
            # refresh=False: tqdm redraws at most every `mininterval` seconds, not every epoch.
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items()}, refresh=False)
            self.bar.update(1)

    def on_train_end(self, state: FitState) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def as_callback(cb: Callback | Callable[[FitState, dict[str, float]], Any]) -> Callback:
    """Accept a Callback or a plain function ``fn(state, logs)``."""
    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return LambdaCallback(cb)
    raise DTypeError(f"callbacks must be Callback instances or functions fn(state, logs). Received: {cb!r}")


__all__ = [
    "Callback",
    "EarlyStopping",
    "FitState",
    "LRSchedulerCallback",
    "LambdaCallback",
    "ProgressBar",
    "as_callback",
]
