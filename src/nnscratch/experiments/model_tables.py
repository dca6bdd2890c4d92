"""The ``[model]`` and ``[loss]`` tables of an experiment file (and ``[[model.layers]]`` entries)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from nnscratch.base.errors import HyperparameterError
from nnscratch.engine.layers.features import FEATURE_FORMS, PLAYGROUND_FEATURES, parse_feature
from nnscratch.engine.names import (
    ACTIVATION_NAMES,
    LOSS_NAMES,
)

from . import registry
from ._errors import Located
from .table_base import InitializerName, LayerTypeName, LossName, Table


class LayerSpec(BaseModel):
    """One ``[[model.layers]]`` entry: ``type`` is a layer class exported by nnscratch, the other
    keys are its keyword arguments (checked against the class's signature)."""

    model_config = ConfigDict(extra="allow", strict=True, allow_inf_nan=False, use_attribute_docstrings=True)

    type: LayerTypeName
    """A layer class exported by nnscratch, e.g. "Linear" or "Conv2d"; the other keys are its arguments."""
    layers: list[LayerSpec] | None = Field(None, min_length=1)
    """Residual: the layers inside the skip connection, as inline entries, e.g.
    layers = [{type = "Linear", out_features = 16}, {type = "ReLU"}]."""
    branches: list[list[LayerSpec]] | None = Field(None, min_length=2)
    """Parallel: one list of inline entries per branch; with merge = "add" or "concat" and split."""

    @model_validator(mode="after")
    def _known_layer(self) -> LayerSpec:
        registry.check_layer(self.type, dict(self.model_extra or {}))
        wanted = registry.CONTAINERS.get(self.type)
        for key in ("layers", "branches"):
            given = getattr(self, key) is not None
            if given and key != wanted:
                owner = "Residual" if key == "layers" else "Parallel"
                raise Located(key, f"no {key} key: only {owner} has one")
            if not given and key == wanted:
                raise Located(key, f"a value: {self.type} needs {key} (its layers, as inline entries)")
        if any(not branch for branch in self.branches or []):
            raise Located("branches", "at least one entry in every branch")
        return self

    def kwargs(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ModelTable(Table):
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


class LossTable(Table):
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


__all__ = ["LayerSpec", "LossTable", "ModelTable"]
