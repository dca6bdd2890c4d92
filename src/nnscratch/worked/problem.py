"""Problem files: a small network, its numbers and its target, in TOML.

::

    title = "2-3-1 sigmoid network, L2 loss"
    layout = "in_out"            # how the weights below are written: "out_in" (default) or "in_out"
    decimals = 4
    sizes = [2, 3, 1]            # input size, then the size of every layer
    x = [1, 1]                   # one sample, or a list of samples
    y = 1                        # the target (class index or one-hot for cross-entropy)
    loss = "l2"                  # mse | l2 | bce | bce_with_logits (bce_logits) | cross_entropy (ce),
                                 #   or a table
                                 #   {name = "cross_entropy", reduction = "sum", from_logits = false}

    [[layers]]                   # one table per layer, in order
    weight = [[0.4, 0.6, 0.2], [0.3, 0.9, 0.5]]
    bias = [1, 1, 1]             # optional: a layer without bias
    activation = "sigmoid"       # sigmoid | tanh | relu | leaky_relu | softmax | identity (none),
                                 #   a formula such as "relu(x) + sin(x)", or a table
                                 #   {name = "leaky_relu", negative_slope = 0.1} / {expression = "..."}

    [optimizer]                  # optional: plain SGD with lr = 0.1
    name = "sgd"                 # sgd (gd) | momentum | adam | adamw | rmsprop
    lr = 0.1

The names are those of :mod:`nnscratch.engine.names`, as everywhere else in nnscratch. Every
mistake is a :class:`ConfigError` naming the file and the place in it
(``problem.toml: layers[1].weight: ...``); an unknown name keeps the names table's message after
the place.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnscratch.base.errors import ConfigError, NNScratchError, UnknownNameError
from nnscratch.engine.layers.activations import Activation, Identity, LeakyReLU, Sigmoid, Softmax
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.losses import BCEWithLogitsLoss, CrossEntropyLoss, Loss
from nnscratch.engine.module import Module
from nnscratch.engine.names import ACTIVATION_NAMES, LOSS_NAMES, make_loss, make_optimizer
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.worked.explainer import explain
from nnscratch.worked.steps import Note

from .problem_blocks import BLOCKS, BlockProblem, parse_block_problem
from .worked import WorkedExample


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActivationSpec(_Strict):
    name: str | None = None
    expression: str | None = None
    negative_slope: float | None = None


class LayerSpec(_Strict):
    weight: list[list[float]]
    bias: list[float] | None = None
    activation: str | ActivationSpec = "identity"


class LossSpec(_Strict):
    name: str
    reduction: Literal["mean", "sum"] | None = None
    from_logits: bool | None = None


class OptimizerSpec(_Strict):
    name: str = "sgd"
    lr: float = Field(0.1, ge=0)
    momentum: float | None = None
    dampening: float | None = None
    weight_decay: float | None = None
    nesterov: bool | None = None
    betas: tuple[float, float] | None = None
    eps: float | None = None
    amsgrad: bool | None = None
    alpha: float | None = None
    centered: bool | None = None


class ProblemSpec(_Strict):
    """The validated contents of a problem file."""

    title: str | None = None
    description: str | None = None
    layout: Literal["out_in", "in_out"] = "out_in"
    decimals: int = Field(4, ge=0, le=12)
    sizes: list[int] = Field(min_length=2)
    layers: list[LayerSpec] = Field(min_length=1)
    x: Any
    y: Any
    loss: str | LossSpec
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)


@dataclass
class Problem:
    """A loaded problem: everything :func:`nnscratch.explain` needs."""

    spec: ProblemSpec
    path: Path
    model: Sequential
    x: np.ndarray
    y: np.ndarray
    loss: Loss
    optimizer: Any

    def explain(self) -> WorkedExample:
        try:
            ex = explain(
                self.model,
                self.x,
                self.y,
                loss=self.loss,
                optimizer=self.optimizer,
                decimals=self.spec.decimals,
                layout=self.spec.layout,
                title=self.spec.title,
            )
        except NNScratchError as exc:  # x, y and loss only meet in the engine
            raise ConfigError(f"{self.path}: x / y / loss do not fit together: {exc}") from exc
        if self.spec.description:
            ex.header.insert(0, Note(self.spec.description.strip(), self.spec.description.strip()))
        return ex


def _loc(parts: tuple[Any, ...]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


_UNION_TAGS = {"str", "ActivationSpec", "LossSpec"}
_TYPE_ERRORS = {"string_type", "model_type"}


def _pydantic_message(path: Path, exc: ValidationError) -> str:
    """pydantic's errors as ``place: problem`` lines, one per mistake (union branches merged)."""
    errors = exc.errors()

    def split(err: Any) -> tuple[tuple[Any, ...], bool]:
        loc = tuple(err["loc"])
        cut = next((i for i, p in enumerate(loc) if p in _UNION_TAGS), None)
        if cut is None:
            return loc, False
        return loc[:cut] + loc[cut + 1 :], err["type"] in _TYPE_ERRORS

    lines = []
    for err in errors:
        loc, branch_type_error = split(err)
        if branch_type_error:
            deeper = [e for e in errors if not split(e)[1] and tuple(split(e)[0][: len(loc)]) == loc]
            if not deeper:  # no branch fits at all: one line for the field
                lines.append(f"{_loc(loc)}: expected a string or a table. Received: {err.get('input')!r}")
            continue
        if err["type"] == "extra_forbidden":
            lines.append(f"{_loc(loc[:-1])}: unknown key {loc[-1]!r}")
        elif err["type"] == "missing":
            what = " (the target)" if loc == ("y",) else " (the input)" if loc == ("x",) else ""
            lines.append(f"{_loc(loc)}: missing{what}")
        else:
            lines.append(f"{_loc(loc)}: {err['msg']}. Received: {err.get('input')!r}")
    unique = list(dict.fromkeys(lines))
    return f"{path}: invalid problem file:\n  " + "\n  ".join(unique)


def _array(value: Any, where: str, path: Path) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{path}: {where}: expected a number or a (nested) list of numbers with rows of "
            f"equal length. Received: {value!r}"
        ) from None
    if not np.isfinite(arr).all():
        raise ConfigError(f"{path}: {where}: holds a non-finite value. Received: {value!r}")
    return arr


def _activation(spec: str | ActivationSpec, where: str, path: Path) -> Module | None:
    if isinstance(spec, ActivationSpec):
        if (spec.name is None) == (spec.expression is None):
            raise ConfigError(f'{path}: {where}: give exactly one of name = "..." or expression = "..."')
        if spec.expression is not None:
            return _expression(spec.expression, where, path)
        cls = _named(spec.name, where, path)
        if spec.negative_slope is not None:
            if cls is not LeakyReLU:
                raise ConfigError(f"{path}: {where}: negative_slope only applies to leaky_relu")
            return LeakyReLU(spec.negative_slope)
        return None if cls is Identity else cls()  # no activation: no module
    name = spec.strip()
    looks_like_a_name = re.fullmatch(r"[A-Za-z_]\w*", name) and name not in ("x", "z")
    if ACTIVATION_NAMES.find(name) is not None or looks_like_a_name:
        cls = _named(name, where, path)
        return None if cls is Identity else cls()
    return _expression(name, where, path)


def _named(name: str, where: str, path: Path) -> type[Module]:
    """The activation class ``name`` names; an unknown name is the names table's error, placed."""
    try:
        return ACTIVATION_NAMES.lookup(name)
    except UnknownNameError as exc:
        raise ConfigError(
            f'{path}: {where}: {exc}. An activation may also be a formula in x such as "relu(x) + sin(x)"'
        ) from exc


def _expression(text: str, where: str, path: Path) -> Module:
    try:
        return Activation.from_expression(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {where}: {exc}") from None


def _build_model(spec: ProblemSpec, path: Path) -> Sequential:
    sizes = spec.sizes
    if any(s < 1 for s in sizes):
        raise ConfigError(f"{path}: sizes: every size must be a positive integer. Received: {sizes}")
    if len(spec.layers) != len(sizes) - 1:
        raise ConfigError(
            f"{path}: sizes = {sizes} describes {len(sizes) - 1} layer(s) but the file has "
            f"{len(spec.layers)} [[layers]] table(s)"
        )
    modules: list[Module] = []
    for i, layer in enumerate(spec.layers):
        n_in, n_out = sizes[i], sizes[i + 1]
        where = f"layers[{i}].weight"
        if len({len(row) for row in layer.weight}) > 1:
            raise ConfigError(
                f"{path}: {where}: rows have different lengths {[len(r) for r in layer.weight]}"
            )
        w = _array(layer.weight, where, path)
        want = (n_out, n_in) if spec.layout == "out_in" else (n_in, n_out)
        if w.shape != want:
            names = "(out, in)" if spec.layout == "out_in" else "(in, out)"
            hint = ""
            if w.shape == want[::-1]:
                other = "in_out" if spec.layout == "out_in" else "out_in"
                hint = f'; it looks transposed: did you mean layout = "{other}"?'
            raise ConfigError(
                f"{path}: {where}: expected shape {want} {names} for a layer {n_in} -> {n_out} "
                f'(sizes = {sizes}, layout = "{spec.layout}"). Received: shape {w.shape}{hint}'
            )
        weight = w if spec.layout == "out_in" else w.T
        bias = None
        if layer.bias is not None:
            bias = _array(layer.bias, f"layers[{i}].bias", path)
            if bias.shape != (n_out,):
                raise ConfigError(
                    f"{path}: layers[{i}].bias: expected {n_out} values (the layer's size). "
                    f"Received: {bias.size}"
                )
        modules.append(Linear.from_arrays(weight, bias))
        act = _activation(layer.activation, f"layers[{i}].activation", path)
        if act is not None:
            modules.append(act)
    return Sequential(*modules)


def _build_loss(spec: ProblemSpec, model: Sequential, path: Path) -> Loss:
    loss = spec.loss if isinstance(spec.loss, LossSpec) else LossSpec(name=spec.loss)
    try:
        name = LOSS_NAMES.canonical(loss.name)
    except UnknownNameError as exc:
        raise ConfigError(f"{path}: loss: {exc}") from exc
    cls = LOSS_NAMES.lookup(name)
    last = model.layers[-1]
    if cls is CrossEntropyLoss:
        from_logits = not isinstance(last, Softmax) if loss.from_logits is None else loss.from_logits
        if from_logits and isinstance(last, Softmax):
            raise ConfigError(
                f"{path}: loss: from_logits = true after a softmax layer would apply softmax twice; "
                "drop from_logits (or set it to false)"
            )
        if not from_logits and not isinstance(last, Softmax):
            raise ConfigError(
                f"{path}: loss: from_logits = false needs a softmax activation on the last layer"
            )
        return make_loss(name, reduction=loss.reduction, from_logits=from_logits)
    if loss.from_logits is not None:
        raise ConfigError(f"{path}: loss: from_logits only applies to cross_entropy")
    if cls is BCEWithLogitsLoss and isinstance(last, Sigmoid):
        raise ConfigError(
            f"{path}: loss: {loss.name} applies the sigmoid itself but the last layer already "
            'has activation "sigmoid"; use loss = "bce" or activation = "identity"'
        )
    return make_loss(name, reduction=loss.reduction)


def _build_optimizer(spec: ProblemSpec, model: Sequential, path: Path) -> Any:
    opt = spec.optimizer
    options = {k: v for k, v in opt.model_dump().items() if k not in ("name", "lr") and v is not None}
    try:  # surface bad names and settings here, with their place
        make_optimizer(opt.name, model.parameters(), lr=opt.lr, **options)
    except UnknownNameError as exc:
        raise ConfigError(f"{path}: optimizer.name: {exc}") from exc
    except NNScratchError as exc:
        raise ConfigError(f"{path}: optimizer: {exc}") from None

    def factory(params: Any) -> Optimizer:
        return make_optimizer(opt.name, params, lr=opt.lr, **options)

    return factory


def parse_problem(text: str, path: str | Path = "<problem>") -> Problem | BlockProblem:
    """Validate the TOML text of a problem file and build its model, data, loss and optimizer
    (an ``[attention]`` or ``[layernorm]`` file: see :mod:`.problem_blocks`)."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if any(block in data for block in BLOCKS):  # one attention head or a LayerNorm
        return parse_block_problem(data, path, _pydantic_message)
    try:
        spec = ProblemSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_pydantic_message(path, exc)) from None
    model = _build_model(spec, path)
    x = _array(spec.x, "x", path)
    n_in = spec.sizes[0]
    if not ((x.ndim == 1 and x.shape[0] == n_in) or (x.ndim == 2 and x.shape[1] == n_in)):
        raise ConfigError(
            f"{path}: x: expected {n_in} values (sizes[0]) or a list of such samples. "
            f"Received: shape {x.shape}"
        )
    y = _array(spec.y, "y", path)
    loss = _build_loss(spec, model, path)
    optimizer = _build_optimizer(spec, model, path)
    return Problem(spec, path, model, x, y, loss, optimizer)


def load_problem(path: str | Path) -> Problem | BlockProblem:
    """Read and validate the problem file at ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"problem file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read problem file {p}: {exc}") from None
    return parse_problem(text, p)


def explain_problem(path: str | Path) -> WorkedExample:
    """The worked example of the problem file at ``path``."""
    return load_problem(path).explain()


__all__ = ["Problem", "ProblemSpec", "explain_problem", "load_problem", "parse_problem"]
