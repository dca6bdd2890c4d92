"""The ``[optimizer]`` (with ``[optimizer.scheduler]``) and ``[training]`` (with
``[training.early_stopping]``) tables of an experiment file."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from nnscratch.engine.names import (
    optimizer_options,
    scheduler_required,
)

from ._errors import Located
from .table_base import OptimizerName, SchedulerName, Table


class SchedulerTable(Table):
    """``[optimizer.scheduler]``: a learning-rate schedule stepped once per epoch."""

    name: SchedulerName
    """The schedule: step, multistep, exponential, cosine or warmup_cosine."""
    step_size: int | None = Field(None, ge=1)
    """Epochs between learning-rate drops (step)."""
    milestones: list[int] | None = None
    """Epochs at which the learning rate drops (multistep)."""
    gamma: float | None = Field(None, gt=0)
    """Factor applied to the learning rate at each drop (step, multistep, exponential)."""
    T_max: int | None = Field(None, ge=1)
    """Epochs of one cosine half-period (cosine)."""
    eta_min: float | None = Field(None, ge=0)
    """Lowest learning rate of the cosine schedule."""
    warmup: int | None = Field(None, ge=1)
    """Epochs of linear warm-up before the cosine decay (warmup_cosine)."""

    @model_validator(mode="after")
    def _needs(self) -> SchedulerTable:
        for key in scheduler_required(self.name):
            if getattr(self, key) is None:
                raise Located(key, f"a value: the {self.name!r} schedule needs {key}")
        return self


class OptimizerTable(Table):
    """``[optimizer]``: gradient descent (``sgd``/``gd``), ``momentum`` (SGD with momentum 0.9 unless
    given), ``adam``, ``adamw``, ``rmsprop``; options a chosen optimizer does not use are errors.

    Regularisation: ``weight_decay`` = λ₂ is L2 (adds λ₂·θ to each gradient: the penalty
    (λ₂/2)·‖θ‖²), ``l1`` = λ₁ is L1 (adds λ₁·sign(θ): the penalty λ₁·Σ|θ|); both may be given.

    ``no_decay = ["bias"]`` exempts from ``weight_decay`` and ``l1`` every parameter whose name (as
    in ``model.named_parameters()``: ``"0.weight"``, ``"0.bias"``, ``"1.bias_ih_l0"``...) contains
    one of the strings: the optimizer gets two parameter groups, the rest with ``weight_decay`` and
    ``l1`` and those with both 0. A string that is in no parameter's name is an error.
    """

    name: OptimizerName = "sgd"
    """The optimizer: sgd (or gd), momentum, adam, adamw or rmsprop."""
    lr: float = Field(0.1, gt=0)
    """Learning rate."""
    momentum: float | None = Field(None, ge=0)
    """Momentum factor (sgd, momentum, rmsprop); "momentum" uses 0.9 unless given."""
    dampening: float | None = Field(None, ge=0)
    """Dampening of the momentum (sgd)."""
    nesterov: bool | None = None
    """Nesterov momentum (sgd)."""
    weight_decay: float = Field(0.0, ge=0)
    """L2 regularisation strength λ: adds λ·w to every gradient (decoupled in adamw)."""
    l1: float = Field(0.0, ge=0)
    """L1 regularisation strength λ₁: adds λ₁·sign(w) to every gradient (penalty λ₁·Σ|w|; sign(0) = 0)."""
    betas: list[float] | None = Field(None, min_length=2, max_length=2)
    """Adam's decay rates of the first and second moment estimates, e.g. [0.9, 0.999]."""
    eps: float | None = Field(None, ge=0)
    """Term added to the denominator for numerical stability (adam, adamw, rmsprop)."""
    alpha: float | None = Field(None, ge=0, le=1)
    """Smoothing constant of RMSprop's squared-gradient average."""
    amsgrad: bool | None = None
    """Use the AMSGrad variant (adam, adamw)."""
    centered: bool | None = None
    """Centred RMSprop (normalise by the gradient's variance)."""
    no_decay: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Parameter-name parts exempt from weight_decay and l1, e.g. ["bias"]."""
    scheduler: SchedulerTable | None = None
    """A learning-rate schedule, the [optimizer.scheduler] table."""

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(0.0 <= b < 1.0 for b in v):
            raise ValueError(f"two numbers in [0, 1), e.g. betas = [0.9, 0.999]. Received: betas = {v}")
        return v

    @model_validator(mode="after")
    def _applicable(self) -> OptimizerTable:
        allowed = set(optimizer_options(self.name)) | {"name", "lr", "scheduler", "no_decay"}
        for key in sorted(self.model_fields_set - allowed):
            if getattr(self, key) is not None:
                raise Located(
                    key,
                    f"only options of the {self.name!r} optimizer ({', '.join(sorted(allowed))}); "
                    f"{key} belongs to another optimizer",
                )
        return self


class EarlyStoppingTable(Table):
    """``[training.early_stopping]``: stop when ``monitor`` has not improved for ``patience`` epochs."""

    monitor: str = "val_loss"
    """The history column watched, e.g. "val_loss" or "val_accuracy"."""
    patience: int = Field(10, ge=1)
    """Epochs without improvement before stopping."""
    min_delta: float = Field(0.0, ge=0)
    """Smallest change that counts as an improvement."""
    restore_best: bool = True
    """Put back the weights of the best epoch when stopping."""


class TrainingTable(Table):
    """``[training]``: epochs, mini-batches (``batch_size``; omitted = full batch), validation.

    ``threads`` caps the BLAS threads while training and evaluating (default: BLAS's own choice);
    on a busy machine small convolutional and recurrent models run faster on 1 thread, as their
    small matrix products gain nothing from threads that must wait for a free core.
    """

    epochs: int = Field(100, ge=1)
    """Passes over the training data."""
    batch_size: int | None = Field(None, ge=1)
    """Samples per gradient step; omitted = the whole training set (full-batch GD)."""
    shuffle: bool = True
    """Reshuffle the rows every epoch (seeded)."""
    validation_split: float = Field(0.0, ge=0.0, lt=1.0)
    """Fraction of the training rows held out to compute val_loss every epoch."""
    early_stopping: bool | EarlyStoppingTable = False
    """Stop when the validation loss stops improving: true, false, or a [training.early_stopping] table."""
    progress: bool = False
    """Show a progress bar (tqdm) while training."""
    threads: int | None = Field(None, ge=1)
    """Cap on BLAS threads while training and evaluating; default: BLAS's own choice."""
    clip_grad_norm: float | None = Field(None, gt=0)
    """Before every step, scale all gradients so that their joint 2-norm is at most this (as
    torch.nn.utils.clip_grad_norm_); default: no clipping."""

    @field_validator("early_stopping", mode="before")
    @classmethod
    def _early(cls, v: Any) -> Any:
        if not isinstance(v, (bool, dict, EarlyStoppingTable)):
            raise ValueError(f"true, false or a table {{ patience = 10 }}. Received: early_stopping = {v!r}")
        return v

    @model_validator(mode="after")
    def _needs_validation(self) -> TrainingTable:
        stop = self.early_stopping_config()
        if stop is not None and stop.monitor.startswith("val_") and not self.validation_split:
            raise Located(
                "validation_split",
                f"a validation_split > 0: early stopping monitors {stop.monitor!r}",
            )
        return self

    def early_stopping_config(self) -> EarlyStoppingTable | None:
        if self.early_stopping is True:
            return EarlyStoppingTable()
        return self.early_stopping or None


__all__ = ["EarlyStoppingTable", "OptimizerTable", "SchedulerTable", "TrainingTable"]
