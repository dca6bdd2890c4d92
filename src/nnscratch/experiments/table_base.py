"""What every table of an experiment file shares: strict pydantic models (``extra="forbid"``,
attribute docstrings as the keys' meanings) and string types checked against the name tables.

Names (activations, losses, optimizers, schedulers, initializers, layer types) are checked against
:mod:`nnscratch.engine.names`: its :class:`~nnscratch.base.errors.UnknownNameError` message is
the one shown, after the file, line and key. The file keeps the spelling it was given.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from nnscratch.base.naming import NameTable
from nnscratch.engine.names import (
    INITIALIZER_NAMES,
    LAYER_TYPE_NAMES,
    LOSS_NAMES,
    OPTIMIZER_NAMES,
    SCHEDULER_NAMES,
)


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


class Table(BaseModel):
    """A table of an experiment file: unknown keys, wrong types, NaN and inf are errors, defaults
    are validated too, and each field's docstring is its meaning."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_default=True, use_attribute_docstrings=True
    )


__all__ = ["InitializerName", "LayerTypeName", "LossName", "OptimizerName", "SchedulerName", "Table"]
