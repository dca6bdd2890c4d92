"""The experiment-file schema: TOML tables validated with pydantic, with located errors.

An experiment file has the tables ``[experiment]``, ``[data]``, ``[model]``, ``[loss]``,
``[optimizer]``, ``[training]``, ``[evaluation]``, ``[sweep]`` and ``[cluster]``; only ``[data]``
is required. Unknown keys, wrong types and impossible values raise :class:`ConfigError` naming the
file, line, dotted key, the expectation and what was received. See ``examples/*.toml``.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nnscratch.base.errors import ConfigError

from . import _toml
from ._errors import Located, to_config_error
from .limits import check_limits
from .overrides import flatten_sweep, parse_set, with_overrides
from .tables import (
    ClusterTable,
    DataTable,
    EarlyStoppingTable,
    EvaluationTable,
    ExperimentTable,
    LayerSpec,
    LossTable,
    ModelTable,
    OptimizerTable,
    SchedulerTable,
    TrainingTable,
)

MAX_SWEEP_POINTS = 10_000


class ExperimentConfig(BaseModel):
    """A whole experiment file."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, validate_default=True)

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
    def _loss_matches_output(self) -> ExperimentConfig:
        if self.model.layers is not None:
            return self
        loss, out, written = self.loss.canonical(), self.model.output, self.loss.name
        clash = {
            ("bce_with_logits", "sigmoid"): f'{written} applies the sigmoid itself: use output = "none" '
            "(or loss bce)",
            ("cross_entropy", "sigmoid"): f'{written} needs softmax outputs or raw scores (output = "none")',
            ("bce", "softmax"): f'{written} needs one sigmoid output: use output = "sigmoid"',
        }
        for raw in ("none", "identity"):
            clash["bce", raw] = f'{written} needs probabilities: use output = "sigmoid" (or loss bce_logits)'
        if (loss, out) in clash:
            raise Located(
                "model.output", f"an output that fits the loss: {clash[loss, out]}. Received: {out!r}"
            )
        return self

    @model_validator(mode="after")
    def _within_limits(self) -> ExperimentConfig:
        check_limits(self)  # caps and the memory budget: before anything is allocated
        return self

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain JSON types (every default filled in, ``None`` kept)."""
        return self.model_dump(mode="json")


# -- loading -----------------------------------------------------------------------------------
_PATH_KEYS = ("csv", "y_csv", "npz", "test_csv", "test_y_csv", "test_npz", "idx", "test_idx")


def _resolve_paths(raw: dict[str, Any], base_dir: Path) -> None:
    """Make the data paths absolute, relative to the experiment file's folder."""

    def resolve(path: Any) -> Any:
        return str((base_dir / Path(path).expanduser()).resolve()) if isinstance(path, str) else path

    data = raw.get("data")
    if isinstance(data, dict):
        for key in [k for k in _PATH_KEYS if k in data]:
            value = data[key]
            data[key] = [resolve(p) for p in value] if isinstance(value, list) else resolve(value)


_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")


def read_text(path: Path) -> str:
    """The text of a UTF-8 file (a byte-order mark is dropped); a ConfigError naming the line and
    column of the first byte that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise ConfigError(
            f"{path}:{line}: the file is not UTF-8 text: byte 0x{data[start]:02x} at line {line}, "
            f"column {column} ({exc.reason}); save it as UTF-8"
        ) from None


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
        text = read_text(path)
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            at = _TOML_AT.search(str(exc))
            where = f"{name}:{at.group(1)}" if at else name
            raise ConfigError(f"{where}: not valid TOML: {exc}") from None
        folder = Path(base_dir) if base_dir is not None else path.parent
        table = raw.get("experiment")
        if table is None or (isinstance(table, dict) and "name" not in table):
            raw["experiment"] = {**(table or {}), "name": path.stem}  # runs/<file name> by default
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
