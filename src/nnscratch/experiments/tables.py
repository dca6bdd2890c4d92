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

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.naming import NameTable
from nnscratch.engine.layers.features import FEATURE_FORMS, PLAYGROUND_FEATURES, parse_feature
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
    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_default=True, use_attribute_docstrings=True
    )


class ExperimentTable(_Table):
    """``[experiment]``: a name for the run folder, the master seed, a description for the report,
    and ``repeats``: how many seeds each setting is trained with (reported as mean ± std).

    The seed rule: a model's initial weights and its mini-batch order are a function of ``seed``
    (and the architecture) only, so every sweep point that keeps the architecture, and every CV
    fold, starts from the same weights. Repeat ``r`` uses the ``r``-th seed spawned from ``seed``.
    """

    name: str = Field("experiment", min_length=1)
    """Name of the run folder: runs/NAME for train, runs/NAME-cv and runs/NAME-sweep."""
    seed: int = Field(0, ge=0)
    """Master seed: initial weights, mini-batch order, splits and folds all derive from it."""
    repeats: int = Field(1, ge=1, le=1000)
    """Seeds each setting is trained with; numbers are reported as mean ± std over them."""
    description: str = ""
    """Free text shown at the top of the report."""
    memory_budget: float | None = Field(None, gt=0)
    """GiB a run may plan to use (model, optimizer state, a batch's activations, data), checked
    before anything is allocated; default: $NNSCRATCH_MEMORY_BUDGET, else half the machine's memory."""
    max_epochs: int = Field(1_000_000, ge=1)
    """Cap on training.epochs; raise it to train longer."""
    max_samples: int = Field(10_000_000, ge=1)
    """Cap on the samples a built-in dataset generates (data.params.n_samples); raise it for more."""

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        # the run folder is runs/NAME: a name must not lead out of runs/ nor hide characters
        bad = [c for c in v if c in "/\\" or not c.isprintable()]
        if bad or v.strip(".") == "" or ".." in v:
            raise ValueError(
                "a folder name without path separators (/ or \\), '..', NUL or control characters, "
                f"e.g. moons_2331. Received: name = {v!r}"
            )
        return v


class DataTable(_Table):
    """``[data]``: a built-in dataset with its keyword arguments, or the user's CSV / NPZ files, or an
    MNIST-style pair of IDX files ``idx = ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"]``.
    Images (from NPZ or IDX) are flattened to rows; a model starts with ``Unflatten`` to restore them.

    ``split = "random"`` (default) cuts ``test_size``, the validation split and the CV folds from
    seeded shuffles (stratified for classification); ``"ordered"`` keeps the rows in order, as a
    time series needs: the last rows test, the last training rows validate, folds are blocks.
    """

    dataset: str | None = None
    """A built-in dataset (see `nnscratch datasets list`), e.g. "moons"."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the built-in dataset, e.g. { n_samples = 500, noise = 0.3 }."""
    csv: str | None = None
    """A CSV file of features and target; the target column is `target`, else one named label/target/y/class,
    else the last."""
    y_csv: str | None = None
    """A separate CSV file holding the targets, one row per row of `csv`."""
    target: str | int | None = None
    """The target column of `csv`: its name or its 0-based index."""
    delimiter: str = Field(",", min_length=1, max_length=1)
    """The character between the cells of the CSV files, e.g. ";" or "\\t" (tab)."""
    npz: str | None = None
    """An .npz file with arrays X and y (images are flattened to rows)."""
    idx: list[str] | None = Field(None, min_length=2, max_length=2)
    """An MNIST-style pair of IDX files [images, labels] (.gz accepted)."""
    test_csv: str | None = None
    """A CSV file used as the test set (same columns as `csv`)."""
    test_y_csv: str | None = None
    """The targets of `test_csv`, when they are in their own file."""
    test_npz: str | None = None
    """An .npz file used as the test set (with `npz`)."""
    test_idx: list[str] | None = Field(None, min_length=2, max_length=2)
    """An IDX pair used as the test set (with `idx`)."""
    test_size: float = Field(0.0, ge=0.0, lt=1.0)
    """Fraction of the rows held out as the test set (0 = none); stratified for classification."""
    split: Literal["random", "ordered"] = "random"
    """How rows are split: "random" = seeded shuffles (stratified); "ordered" = in order (time series)."""
    standardize: bool = False
    """Scale every feature to zero mean and unit variance, with statistics from the training rows only."""

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
        if self.csv is None and (self.y_csv or self.target is not None or self.delimiter != ","):
            key = "y_csv" if self.y_csv else "target" if self.target is not None else "delimiter"
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

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False, use_attribute_docstrings=True)

    type: LayerTypeName
    """A layer class exported by nnscratch, e.g. "Linear" or "Conv2d"; the other keys are its arguments."""

    @model_validator(mode="after")
    def _known_layer(self) -> LayerSpec:
        registry.check_layer(self.type, dict(self.model_extra or {}))
        return self

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelTable(_Table):
    """``[model]``: the shorthand ``hidden``/``activation``/``output`` or an explicit layer list.

    ``features = ["x1", "x2", "x1^2", "x1*x2", "sin(x1)"]`` puts a
    :class:`~nnscratch.engine.layers.features.Features` layer first, before either form: the
    network then sees those functions of the data's columns (1-based: ``x1`` is the first).
    """

    features: list[str] | None = Field(None, min_length=1)
    """Input transforms of a first Features layer: 'xi', 'xi^2', 'xi*xj', 'sin(xi)', 'cos(xi)' of the
    data's columns counted from 1, e.g. ["x1", "x2", "x1^2", "x1*x2", "sin(x1)"]."""
    hidden: list[int] | None = None
    """Widths of the hidden layers of a fully connected network, e.g. [4, 4]; [] for none."""
    activation: str | list[str] = "tanh"
    """Activation of the hidden layers: one name, or one per hidden layer."""
    output: Literal["auto", "sigmoid", "softmax", "identity", "none"] = "auto"
    """Output activation; "auto" picks sigmoid (binary), softmax (multiclass) or identity (regression)."""
    outputs: int | None = Field(None, ge=1)
    """Number of output units; default from the data (1 for binary and regression, one per class)."""
    init: InitializerName = "torch"
    """Weight initialiser ("torch" = PyTorch's default for Linear)."""
    bias: bool = True
    """Whether layers have bias terms."""
    dtype: Literal["float64", "float32"] = "float64"
    """Floating-point precision of the parameters and the data."""
    layers: list[LayerSpec] | None = None
    """Explicit layers ([[model.layers]] entries: type plus keyword arguments) instead of the shorthand."""

    @field_validator("features")
    @classmethod
    def _features(cls, v: list[str] | None) -> list[str] | None:
        canonical = []
        for name in v or []:
            try:
                canonical.append(parse_feature(name).name)
            except HyperparameterError:
                raise ValueError(
                    f"features of the forms {', '.join(FEATURE_FORMS)} (i, j: the data's columns counted "
                    f"from 1), e.g. {list(PLAYGROUND_FEATURES)}. Received: {name!r}"
                ) from None
        repeated = sorted({n for n in canonical if canonical.count(n) > 1})
        if repeated:
            raise ValueError(f"each feature once. Received: {', '.join(repeated)} more than once")
        return v

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
    """``[loss]``: the loss ``name`` ("auto" or a loss of :data:`nnscratch.engine.names.LOSS_NAMES`: bce,
    bce_with_logits or bce_logits, cross_entropy or ce, mse, l2) and ``reduction`` ("mean" or "sum";
    each loss has its default)."""

    name: LossName = "auto"
    """The loss: "auto" (chosen from the task and output), bce, bce_with_logits, cross_entropy, mse or l2."""
    reduction: Literal["mean", "sum"] | None = None
    """Mean or sum over the samples; each loss has its default."""

    def canonical(self) -> str:
        """``"auto"`` or the loss's canonical name (``"bce_logits"`` -> ``"bce_with_logits"``)."""
        return self.name if self.name == "auto" else LOSS_NAMES.canonical(self.name)


class SchedulerTable(_Table):
    """``[optimizer.scheduler]``: a learning-rate schedule stepped once per epoch."""

    name: SchedulerName
    """The schedule: step, multistep, exponential or cosine."""
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

    @model_validator(mode="after")
    def _needs(self) -> SchedulerTable:
        for key in scheduler_required(self.name):
            if getattr(self, key) is None:
                raise Located(key, f"a value: the {self.name!r} schedule needs {key}")
        return self


class OptimizerTable(_Table):
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


class EarlyStoppingTable(_Table):
    """``[training.early_stopping]``: stop when ``monitor`` has not improved for ``patience`` epochs."""

    monitor: str = "val_loss"
    """The history column watched, e.g. "val_loss" or "val_accuracy"."""
    patience: int = Field(10, ge=1)
    """Epochs without improvement before stopping."""
    min_delta: float = Field(0.0, ge=0)
    """Smallest change that counts as an improvement."""
    restore_best: bool = True
    """Put back the weights of the best epoch when stopping."""


class TrainingTable(_Table):
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
    """Number of cross-validation folds (e.g. 5); omitted = no cross-validation."""
    stratified: bool = True
    """Keep the class proportions in every fold."""
    average: Literal["auto", "binary", "macro", "weighted", "micro"] = "auto"
    """How precision, recall and F1 average over classes; "auto" = binary or macro by task."""
    metrics: list[Literal["accuracy", "precision", "recall", "f1"]] = Field(
        default_factory=lambda: ["accuracy", "precision", "recall", "f1"], min_length=1
    )
    """The metrics reported, among accuracy, precision, recall and f1."""
    threshold: float = Field(0.5, gt=0, lt=1)
    """Probability above which a binary prediction is class 1."""


class ClusterTable(_Table):
    """``[cluster]``: run a sweep's points on a Dask cluster (see docs/distributed.md)."""

    address: str | None = None
    """A Dask scheduler address, e.g. "tcp://10.0.0.5:8786"; omitted = run on this machine."""
    timeout: float = Field(30.0, gt=0)
    """Seconds to wait for the scheduler."""
    retries: int = Field(0, ge=0)
    """Extra attempts for a task that raises."""


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
