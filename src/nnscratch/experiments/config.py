"""The experiment-file schema: TOML tables validated with pydantic, with located errors.

An experiment file has the tables ``[experiment]``, ``[data]``, ``[model]``, ``[loss]``,
``[optimizer]``, ``[training]``, ``[evaluation]``, ``[sweep]`` and ``[cluster]``; only ``[data]``
is required. Unknown keys, wrong types and impossible values raise :class:`ConfigError` naming the
file, line, dotted key, the expectation and what was received. See ``examples/*.toml``.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError
from . import _toml, registry
from ._errors import Located, to_config_error
from .overrides import flatten_sweep, parse_set, with_overrides

MAX_SWEEP_POINTS = 10_000


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=True)


class ExperimentTable(_Table):
    """``[experiment]``: a name for the run folder, the master seed, a description for the report."""

    name: str = Field("experiment", min_length=1)
    seed: int = Field(0, ge=0)
    description: str = ""


class DataTable(_Table):
    """``[data]``: a built-in dataset with its keyword arguments, or the user's CSV / NPZ files."""

    dataset: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    csv: str | None = None
    y_csv: str | None = None
    target: str | int | None = None
    npz: str | None = None
    test_csv: str | None = None
    test_y_csv: str | None = None
    test_npz: str | None = None
    test_size: float = Field(0.0, ge=0.0, lt=1.0)
    standardize: bool = False

    @field_validator("target", mode="before")
    @classmethod
    def _target_type(cls, v: Any) -> Any:
        if v is not None and (isinstance(v, bool) or not isinstance(v, (str, int))):
            raise ValueError(f"a column name (string) or a column index (integer). Received: target = {v!r}")
        return v

    @model_validator(mode="after")
    def _one_source(self) -> DataTable:
        given = [k for k in ("dataset", "csv", "npz") if getattr(self, k) is not None]
        if len(given) != 1:
            raise Located(
                "dataset",
                'exactly one data source: dataset = "moons" (built in), csv = "file.csv" or '
                f'npz = "file.npz". Received: {", ".join(given) or "none of them"}',
            )
        if self.dataset is not None:
            registry.check_dataset(self.dataset, self.params)
        elif self.params:
            raise Located("params", "params only with a built-in dataset (they are its keyword arguments)")
        if self.csv is None and (self.y_csv or self.target is not None):
            key = "y_csv" if self.y_csv else "target"
            raise Located(key, f'{key} only together with csv = "..."')
        tests = [k for k in ("test_csv", "test_npz") if getattr(self, k) is not None]
        if tests and self.test_size:
            raise Located("test_size", "either a test file or test_size, not both")
        if self.test_y_csv and not self.test_csv:
            raise Located("test_y_csv", "test_y_csv only together with test_csv")
        for key in ("csv", "y_csv", "npz", "test_csv", "test_y_csv", "test_npz"):
            path = getattr(self, key)
            if path is not None and not Path(path).is_file():
                raise Located(key, f"an existing file; not found: {path}")
        return self


class LayerSpec(BaseModel):
    """One ``[[model.layers]]`` entry: ``type`` is a layer class exported by nnscratch, the other
    keys are its keyword arguments (checked against the class's signature)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False)

    type: str

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
    init: str = "torch"
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
            registry.check_activation(name)
        return v

    @field_validator("init")
    @classmethod
    def _init(cls, v: str) -> str:
        registry.check_init(v)
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


LossName = Literal["auto", "bce", "bce_logits", "cross_entropy", "mse", "l2"]


class LossTable(_Table):
    """``[loss]``: ``name`` and ``reduction`` ("mean" or "sum"; each loss has its default)."""

    name: LossName = "auto"
    reduction: Literal["mean", "sum"] | None = None


class SchedulerTable(_Table):
    """``[optimizer.scheduler]``: a learning-rate schedule stepped once per epoch."""

    name: Literal["step", "multistep", "exponential", "cosine"]
    step_size: int | None = Field(None, ge=1)
    milestones: list[int] | None = None
    gamma: float | None = Field(None, gt=0)
    T_max: int | None = Field(None, ge=1)
    eta_min: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _needs(self) -> SchedulerTable:
        need = {
            "step": ["step_size"],
            "multistep": ["milestones"],
            "exponential": ["gamma"],
            "cosine": ["T_max"],
        }
        for key in need[self.name]:
            if getattr(self, key) is None:
                raise Located(key, f"a value: the {self.name!r} schedule needs {key}")
        return self


_OPTIMIZER_KEYS = {
    "sgd": {"momentum", "dampening", "nesterov", "weight_decay"},
    "momentum": {"momentum", "dampening", "nesterov", "weight_decay"},
    "adam": {"betas", "eps", "weight_decay", "amsgrad"},
    "rmsprop": {"alpha", "eps", "weight_decay", "momentum", "centered"},
}
_OPTIMIZER_KEYS["gd"] = _OPTIMIZER_KEYS["sgd"]
_OPTIMIZER_KEYS["adamw"] = _OPTIMIZER_KEYS["adam"]


class OptimizerTable(_Table):
    """``[optimizer]``: gradient descent (``sgd``/``gd``), ``momentum`` (SGD with momentum 0.9 unless
    given), ``adam``, ``adamw``, ``rmsprop``; options a chosen optimizer does not use are errors."""

    name: Literal["sgd", "gd", "momentum", "adam", "adamw", "rmsprop"] = "sgd"
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
    scheduler: SchedulerTable | None = None

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and not all(0.0 <= b < 1.0 for b in v):
            raise ValueError(f"two numbers in [0, 1), e.g. betas = [0.9, 0.999]. Received: betas = {v}")
        return v

    @model_validator(mode="after")
    def _applicable(self) -> OptimizerTable:
        allowed = _OPTIMIZER_KEYS[self.name] | {"name", "lr", "scheduler"}
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
    """``[training]``: epochs, mini-batches (``batch_size``; omitted = full batch), validation."""

    epochs: int = Field(100, ge=1)
    batch_size: int | None = Field(None, ge=1)
    shuffle: bool = True
    validation_split: float = Field(0.0, ge=0.0, lt=1.0)
    early_stopping: bool | EarlyStoppingTable = False
    progress: bool = False

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


class ExperimentConfig(_Table):
    """A whole experiment file."""

    experiment: ExperimentTable = Field(default_factory=ExperimentTable)
    data: DataTable
    model: ModelTable = Field(default_factory=ModelTable)
    loss: LossTable = Field(default_factory=LossTable)
    optimizer: OptimizerTable = Field(default_factory=OptimizerTable)
    training: TrainingTable = Field(default_factory=TrainingTable)
    evaluation: EvaluationTable = Field(default_factory=EvaluationTable)
    sweep: dict[str, list[Any]] = Field(default_factory=dict)
    cluster: ClusterTable = Field(default_factory=ClusterTable)

    @field_validator("sweep", mode="before")
    @classmethod
    def _flatten(cls, v: Any) -> Any:
        return flatten_sweep(v)

    @field_validator("sweep")
    @classmethod
    def _grid(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if key.split(".")[0] in ("sweep", "cluster") or key == "experiment.name":
                raise Located(key, f"a key outside [sweep], [cluster] and experiment.name. Received: {key!r}")
            if not values:
                raise Located(key, "a non-empty list of values")
        if math.prod(len(x) for x in v.values()) > MAX_SWEEP_POINTS:
            raise ValueError(f"at most {MAX_SWEEP_POINTS} grid points")
        return v

    @model_validator(mode="after")
    def _cv_uses_all_data(self) -> ExperimentConfig:
        if self.evaluation.cv and (self.data.test_size or self.data.test_csv or self.data.test_npz):
            raise Located(
                "evaluation.cv",
                "cross-validation without a held-out test set: every fold is tested in turn, so "
                "remove data.test_size / the test file (or evaluation.cv)",
            )
        return self

    @model_validator(mode="after")
    def _loss_matches_output(self) -> ExperimentConfig:
        if self.model.layers is not None:
            return self
        loss, out = self.loss.name, self.model.output
        clash = {
            (
                "bce_logits",
                "sigmoid",
            ): 'bce_logits applies the sigmoid itself: use output = "none" (or loss bce)',
            (
                "cross_entropy",
                "sigmoid",
            ): 'cross_entropy needs softmax outputs or raw scores (output = "none")',
            ("bce", "softmax"): 'bce needs one sigmoid output: use output = "sigmoid"',
            ("bce", "none"): 'bce needs probabilities: use output = "sigmoid" (or loss bce_logits)',
            ("bce", "identity"): 'bce needs probabilities: use output = "sigmoid" (or loss bce_logits)',
        }
        if (loss, out) in clash:
            raise Located(
                "model.output", f"an output that fits the loss: {clash[loss, out]}. Received: {out!r}"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain JSON types (every default filled in, ``None`` kept)."""
        return self.model_dump(mode="json")


# -- loading -----------------------------------------------------------------------------------
_PATH_KEYS = ("csv", "y_csv", "npz", "test_csv", "test_y_csv", "test_npz")


def _resolve_paths(raw: dict[str, Any], base_dir: Path) -> None:
    """Make the data paths absolute, relative to the experiment file's folder."""
    data = raw.get("data")
    if isinstance(data, dict):
        for key in _PATH_KEYS:
            if isinstance(data.get(key), str):
                data[key] = str((base_dir / Path(data[key]).expanduser()).resolve())


def validate(
    raw: dict[str, Any],
    *,
    source: str = "<config>",
    text: str | None = None,
    overrides: dict[str, Any] | None = None,
    prefix: str = "",
) -> ExperimentConfig:
    """Validate a config dict, raising a located :class:`ConfigError`."""
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        raise to_config_error(exc, ExperimentConfig, source, text, overrides, prefix) from None


def load_config(
    source: str | Path | dict[str, Any],
    overrides: list[str] | dict[str, Any] | None = None,
    *,
    base_dir: str | Path | None = None,
) -> ExperimentConfig:
    """Read, override and validate an experiment file (or dict).

    Parameters
    ----------
    source : path or dict
        A TOML experiment file, or its content as a dict.
    overrides : list of "key=value" strings or dict
        ``--set`` overrides: dotted keys, values parsed as TOML literals.
    base_dir : path, optional
        Folder that relative data paths are resolved from (default: the file's folder, or the
        current directory for a dict).
    """
    if isinstance(source, dict):
        raw, text, name = dict(source), None, "<config>"
        folder = Path(base_dir or ".")
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise ConfigError(f"experiment file not found: {path}")
        text = path.read_text(encoding="utf-8")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{name}: not valid TOML: {exc}") from None
        folder = Path(base_dir) if base_dir is not None else path.parent
    if isinstance(overrides, dict):
        sets = dict(overrides)
    else:
        sets = dict(parse_set(item) for item in overrides or [])
    raw = with_overrides(raw, sets)
    _resolve_paths(raw, folder)
    config = validate(raw, source=name, text=text, overrides=sets)
    _check_sweep_points(config, name, text)
    return config


def grid_points(sweep: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the ``[sweep]`` grid, in the file's key order (last key fastest)."""
    keys = list(sweep)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(sweep[k] for k in keys))]


def point_config(config: ExperimentConfig | dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    """The plain config dict of one sweep point: the grid values applied, the grid removed."""
    base = config.to_dict() if isinstance(config, ExperimentConfig) else config
    out = with_overrides(base, point)
    out["sweep"] = {}
    return out


def _check_sweep_points(config: ExperimentConfig, source: str, text: str | None) -> None:
    """Validate every grid point, so a bad value fails now and not halfway through a sweep."""
    if not config.sweep:
        return
    for point in grid_points(config.sweep):
        try:
            ExperimentConfig.model_validate(point_config(config, point))
        except ValidationError as exc:
            where = ", ".join(f"{k} = {_toml._value(v)}" for k, v in point.items())
            raise to_config_error(
                exc, ExperimentConfig, source, text, point, prefix=f"in sweep point ({where}): ", sweep=True
            ) from None


__all__ = [
    "ClusterTable",
    "DataTable",
    "EarlyStoppingTable",
    "EvaluationTable",
    "ExperimentConfig",
    "ExperimentTable",
    "LayerSpec",
    "LossTable",
    "ModelTable",
    "OptimizerTable",
    "SchedulerTable",
    "TrainingTable",
    "grid_points",
    "load_config",
    "point_config",
    "validate",
]
