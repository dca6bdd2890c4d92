"""The tables of an experiment file, one pydantic model each (``extra="forbid"``, strict types).

Validators raise :class:`~nnscratch.experiments._errors.Located` to point the error at the key
below the table that is wrong; :mod:`nnscratch.experiments.config` assembles the whole file.
Names (activations, losses, optimizers, schedulers, initializers, layer types) are checked against
:mod:`nnscratch.engine.names`: its :class:`~nnscratch.base.errors.UnknownNameError` message is
the one shown, after the file, line and key. The file keeps the spelling it was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from nnscratch.base.naming import NameTable
from nnscratch.engine.names import (
    ACTIVATION_NAMES,
    INITIALIZER_NAMES,
    LAYER_TYPE_NAMES,
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULER_NAMES,
    optimizer_options,
    scheduler_required,
)

from . import registry
from ._errors import Located


def _name_in(table: NameTable[Any], *also: str) -> Any:
    """A string type whose values must be names of ``table`` (or one of ``also``): an unknown one
    fails with the table's :class:`~nnscratch.base.errors.UnknownNameError`, placed by the loader."""

    def check(v: str) -> str:
        if v not in also:
            table.entry(v)
        return v

    return Annotated[str, AfterValidator(check)]


LayerTypeName = _name_in(LAYER_TYPE_NAMES)
InitializerName = _name_in(INITIALIZER_NAMES)
LossName = _name_in(LOSS_NAMES, "auto")
SchedulerName = _name_in(SCHEDULER_NAMES)
OptimizerName = _name_in(OPTIMIZER_NAMES)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=True)


class ExperimentTable(_Table):
    """``[experiment]``: a name for the run folder, the master seed, a description for the report,
    and ``repeats``: how many seeds each setting is trained with (reported as mean ± std).

    The seed rule: a model's initial weights and its mini-batch order are a function of ``seed``
    (and the architecture) only, so every sweep point that keeps the architecture, and every CV
    fold, starts from the same weights. Repeat ``r`` uses the ``r``-th seed spawned from ``seed``.
    """

    name: str = Field("experiment", min_length=1)
    seed: int = Field(0, ge=0)
    repeats: int = Field(1, ge=1, le=1000)
    description: str = ""


class DataTable(_Table):
    """``[data]``: a built-in dataset with its keyword arguments, or the user's CSV / NPZ files, or an
    MNIST-style pair of IDX files ``idx = ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"]``.
    Images (from NPZ or IDX) are flattened to rows; a model starts with ``Unflatten`` to restore them.

    ``split = "random"`` (default) cuts ``test_size``, the validation split and the CV folds from
    seeded shuffles (stratified for classification); ``"ordered"`` keeps the rows in order, as a
    time series needs: the last rows test, the last training rows validate, folds are blocks.
    """

    dataset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    csv: str | None = None
    y_csv: str | None = None
    target: str | int | None = None
    npz: str | None = None
    idx: list[str] | None = Field(None, min_length=2, max_length=2)
    test_csv: str | None = None
    test_y_csv: str | None = None
    test_npz: str | None = None
    test_idx: list[str] | None = Field(None, min_length=2, max_length=2)
    test_size: float = Field(0.0, ge=0.0, lt=1.0)
    split: Literal["random", "ordered"] = "random"
    standardize: bool = False

    @field_validator("target", mode="before")
    @classmethod
    def _target_type(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise ValueError(f"a column name (string) or a column index (integer). Received: target = {v!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> DataTable:
        given = [k for k in ("dataset", "csv", "npz", "idx") if getattr(self, k) is not None]
        if len(given) != 1:
            raise Located(
                "dataset",
                'exactly one data source: dataset = "moons" (built in), csv = "file.csv", '
                'npz = "file.npz" or idx = ["images.idx", "labels.idx"]. '
                f"Received: {', '.join(given) or 'none of them'}",
            )
        if self.dataset is not None:
            registry.check_dataset(self.dataset, self.params)
        elif self.params:
            raise Located("params", "params only with a built-in dataset (they are its keyword arguments)")
        if self.csv is None and (self.y_csv or self.target is not None):
            key = "y_csv" if self.y_csv else "target"
            raise Located(key, f'{key} only together with csv = "..."')
        tests = [k for k in ("test_csv", "test_npz", "test_idx") if getattr(self, k) is not None]
        if tests and self.test_size:
            raise Located("test_size", "either a test file or test_size, not both")
        if self.test_y_csv and not self.test_csv:
            raise Located("test_y_csv", "test_y_csv only together with test_csv")
        for key in ("csv", "y_csv", "npz", "test_csv", "test_y_csv", "test_npz", "idx", "test_idx"):
            value = getattr(self, key)
            for path in value if isinstance(value, list) else [value]:
                if path is not None and not Path(path).is_file():
                    raise Located(key, f"an existing file; not found: {path}")
        for test_key, key in (("test_npz", "npz"), ("test_idx", "idx")):
            if getattr(self, test_key) is not None and getattr(self, key) is None:
                raise Located(test_key, f"{test_key} only together with {key} (the training files)")
        return self


class LayerSpec(BaseModel):
    """One ``[[model.layers]]`` entry: ``type`` is a layer class exported by nnscratch, the other
    keys are its keyword arguments (checked against the class's signature)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    type: LayerTypeName

    @model_validator(mode="after")
    def _known_layer(self) -> LayerSpec:
        registry.check_layer(self.type, dict(self.model_extra or {}))
        return self

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelTable(_Table):
    """``[model]``: the shorthand ``hidden``/``activation``/``output`` or an explicit layer list."""

    hidden: list[int] | None = None
    activation: str | list[str] = "tanh"
    output: Literal["auto", "sigmoid", "softmax", "identity", "none"] = "auto"
    outputs: int | None = Field(None, ge=1)
    init: InitializerName = "torch"
    bias: bool = True
    dtype: Literal["float64", "float32"] = "float64"
    layers: list[LayerSpec] | None = None

    @field_validator("hidden")
    @classmethod
    def _widths(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(w < 1 for w in v):
            raise ValueError(f"layer widths >= 1, e.g. hidden = [3, 3]. Received: hidden = {v}")
        return v

    @field_validator("activation", mode="before")
    @classmethod
    def _activation(cls, v: Any) -> Any:
        names = v if isinstance(v, list) else [v]
        for name in names:
            if not isinstance(name, str):
                raise ValueError(
                    f'an activation name or a list of them, e.g. "tanh" or ["relu", "tanh"]. Received: {v!r}'
                )
            ACTIVATION_NAMES.entry(name)
        return v

    @model_validator(mode="after")
    def _shape(self) -> ModelTable:
        if self.layers is not None:
            fields = type(self).model_fields
            names = ("hidden", "activation", "output", "outputs", "init")
            shorthand = [k for k in names if getattr(self, k) != fields[k].default]
            if shorthand:
                raise Located(
                    shorthand[0],
                    "either the shorthand (hidden, activation, output, outputs, init) or [[model.layers]], "
                    "not both",
                )
            if not self.layers:
                raise Located("layers", "at least one [[model.layers]] entry")
        if isinstance(self.activation, list):
            n_hidden = len(self.hidden or [])
            if len(self.activation) != n_hidden:
                raise Located(
                    "activation",
                    f"one activation per hidden layer ({n_hidden}) or a single name. "
                    f"Received: {len(self.activation)} names",
                )
        return self


class LossTable(_Table):
    """``[loss]``: ``name`` ("auto" or a loss of :data:`nnscratch.engine.names.LOSS_NAMES`: bce,
    bce_with_logits or bce_logits, cross_entropy or ce, mse, l2) and ``reduction`` ("mean" or "sum";
    each loss has its default)."""

    name: LossName = "auto"
    reduction: Literal["mean", "sum"] | None = None

    def canonical(self) -> str:
        """``"auto"`` or the loss's canonical name (``"bce_logits"`` -> ``"bce_with_logits"``)."""
        return self.name if self.name == "auto" else LOSS_NAMES.canonical(self.name)


class SchedulerTable(_Table):
    """``[optimizer.scheduler]``: a learning-rate schedule stepped once per epoch."""

    name: SchedulerName
    step_size: int | None = Field(None, ge=1)
    milestones: list[int] | None = None
    gamma: float | None = Field(None, gt=0)
    T_max: int | None = Field(None, ge=1)
    eta_min: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _needs(self) -> SchedulerTable:
        for key in scheduler_required(self.name):
            if getattr(self, key) is None:
                raise Located(key, f"a value: the {self.name!r} schedule needs {key}")
        return self


class OptimizerTable(_Table):
    """``[optimizer]``: gradient descent (``sgd``/``gd``), ``momentum`` (SGD with momentum 0.9 unless
    given), ``adam``, ``adamw``, ``rmsprop``; options a chosen optimizer does not use are errors.

    ``no_decay = ["bias"]`` exempts from ``weight_decay`` every parameter whose name (as in
    ``model.named_parameters()``: ``"0.weight"``, ``"0.bias"``, ``"1.bias_ih_l0"``...) contains one
    of the strings: the optimizer gets two parameter groups, the rest with ``weight_decay`` and
    those with ``weight_decay = 0``. A string that is in no parameter's name is an error.
    """

    name: OptimizerName = "sgd"
    lr: float = Field(0.1, gt=0)
    momentum: float | None = Field(None, ge=0)
    dampening: float | None = Field(None, ge=0)
    nesterov: bool | None = None
    weight_decay: float = Field(0.0, ge=0)
    betas: list[float] | None = Field(None, min_length=2, max_length=2)
    eps: float | None = Field(None, ge=0)
    alpha: float | None = Field(None, ge=0, le=1)
    amsgrad: bool | None = None
    centered: bool | None = None
    no_decay: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    scheduler: SchedulerTable | None = None

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


class EarlyStoppingTable(_Table):
    """``[training.early_stopping]``: stop when ``monitor`` has not improved for ``patience`` epochs."""

    monitor: str = "val_loss"
    patience: int = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0)
    restore_best: bool = True


class TrainingTable(_Table):
    """``[training]``: epochs, mini-batches (``batch_size``; omitted = full batch), validation.

    ``threads`` caps the BLAS threads while training and evaluating (default: BLAS's own choice);
    on a busy machine small convolutional and recurrent models run faster on 1 thread, as their
    small matrix products gain nothing from threads that must wait for a free core.
    """

    epochs: int = Field(100, ge=1)
    batch_size: int | None = Field(None, ge=1)
    shuffle: bool = True
    validation_split: float = Field(0.0, ge=0.0, lt=1.0)
    early_stopping: bool | EarlyStoppingTable = False
    progress: bool = False
    threads: int | None = Field(None, ge=1)

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


class EvaluationTable(_Table):
    """``[evaluation]``: K-fold cross-validation (``cv = 5``) and the reported metrics."""

    cv: int | None = Field(None, ge=2)
    stratified: bool = True
    average: Literal["auto", "binary", "macro", "weighted", "micro"] = "auto"
    metrics: list[Literal["accuracy", "precision", "recall", "f1"]] = Field(
        default_factory=lambda: ["accuracy", "precision", "recall", "f1"], min_length=1
    )
    threshold: float = Field(0.5, gt=0, lt=1)


class ClusterTable(_Table):
    """``[cluster]``: reserved for distributed sweeps (a Dask scheduler address)."""

    address: str | None = None
    timeout: float = Field(30.0, gt=0)  # seconds to wait for the scheduler (docs/distributed.md)
    retries: int = Field(0, ge=0)  # extra attempts for a task that raises


__all__ = [
    "ClusterTable",
    "DataTable",
    "EarlyStoppingTable",
    "EvaluationTable",
    "ExperimentTable",
    "LayerSpec",
    "LossTable",
    "ModelTable",
    "OptimizerTable",
    "SchedulerTable",
    "TrainingTable",
]
