"""Problem files for one attention head or a LayerNorm: the layer's numbers, an input and a target.

::

    title = "One causal attention head"
    decimals = 4
    x = [[1, 0], [0, 1], [1, 1]]          # one sequence: T rows of E features
    y = [[0, 1], [1, 0], [0.5, 0.5]]      # the target, the output's shape
    loss = "mse"                          # mse | l2 (or any loss name the engine knows)

    [attention]
    num_heads = 1                         # E must divide by it; `head` picks the one worked out
    head = 0
    is_causal = true                      # or attn_mask = [[false, true, ...], ...] (True: masked)
    in_proj_weight = [[...], ...]         # (3E, E): W_Q, W_K and W_V one above the other
    in_proj_bias = [...]                  # optional (3E,); omitted: a layer without biases
    out_proj_weight = [[...], ...]        # (E, E)
    out_proj_bias = [...]                 # optional (E,)

or, for a LayerNorm over the features of each sample (x: N rows of D features)::

    [layernorm]
    weight = [1.0, 2.0, 0.5]              # γ, optional (default ones)
    bias = [0.0, 0.1, 0.0]                # β, optional (default zeros)
    eps = 1e-5

Every mistake is a :class:`ConfigError` naming the file and the place, as for dense problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnscratch.base.errors import ConfigError, NNScratchError
from nnscratch.engine.layers.attention import MultiheadAttention
from nnscratch.engine.layers.normalization import LayerNorm
from nnscratch.engine.module import Module

from .explainer import explain
from .steps import Note
from .worked import WorkedExample

#: the problem-file tables this module reads
BLOCKS = ("attention", "layernorm")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttentionSpec(_Strict):
    num_heads: int = Field(1, ge=1, le=8)
    head: int = Field(0, ge=0)
    is_causal: bool = False
    attn_mask: list[list[bool]] | None = None
    in_proj_weight: list[list[float]]
    in_proj_bias: list[float] | None = None
    out_proj_weight: list[list[float]]
    out_proj_bias: list[float] | None = None


class LayerNormSpec(_Strict):
    weight: list[float] | None = None
    bias: list[float] | None = None
    eps: float = Field(1e-5, gt=0, le=1)


class BlockProblemSpec(_Strict):
    title: str | None = None
    description: str | None = None
    decimals: int = Field(4, ge=0, le=12)
    x: list[list[float]]
    y: Any
    loss: str = "mse"
    attention: AttentionSpec | None = None
    layernorm: LayerNormSpec | None = None


@dataclass
class BlockProblem:
    """A loaded attention or LayerNorm problem: everything :func:`nnscratch.explain` needs."""

    spec: BlockProblemSpec
    path: Path
    model: Module
    x: np.ndarray
    y: np.ndarray

    def explain(self) -> WorkedExample:
        a = self.spec.attention
        options: dict[str, Any] = {}
        if a is not None:
            mask = None if a.attn_mask is None else np.array(a.attn_mask, dtype=bool)
            options = {"head": a.head, "is_causal": a.is_causal, "attn_mask": mask}
        try:
            ex = explain(
                self.model, self.x, self.y, loss=self.spec.loss, decimals=self.spec.decimals,
                title=self.spec.title, **options,
            )  # fmt: skip
        except NNScratchError as exc:  # x, y, masks and loss only meet in the engine
            raise ConfigError(f"{self.path}: x / y / loss / masks do not fit together: {exc}") from exc
        if self.spec.description:
            text = " ".join(self.spec.description.split())  # one paragraph, however the file wraps it
            ex.header.insert(0, Note(text, text))
        return ex


def _matrix(value: Any, shape: tuple[int, ...], where: str, path: Path) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64) if value is not None else None
    if arr is None or arr.shape != shape:
        got = "nothing" if arr is None else f"shape {arr.shape}"
        raise ConfigError(f"{path}: {where}: expected shape {shape}. Received: {got}")
    if not np.isfinite(arr).all():
        raise ConfigError(f"{path}: {where}: holds a non-finite value")
    return arr


def _attention(a: AttentionSpec, E: int, path: Path) -> MultiheadAttention:
    if E % a.num_heads:
        raise ConfigError(
            f"{path}: attention.num_heads: must divide E = {E} (x's columns). Received: {a.num_heads}"
        )
    if a.head >= a.num_heads:
        raise ConfigError(f"{path}: attention.head: 0 … {a.num_heads - 1}. Received: {a.head}")
    bias = a.in_proj_bias is not None
    if bias != (a.out_proj_bias is not None):
        raise ConfigError(f"{path}: attention: give both in_proj_bias and out_proj_bias, or neither")
    layer = MultiheadAttention(E, a.num_heads, bias=bias, rng=0)
    layer.in_proj_weight.data[...] = _matrix(a.in_proj_weight, (3 * E, E), "attention.in_proj_weight", path)
    layer.out_proj.weight.data[...] = _matrix(a.out_proj_weight, (E, E), "attention.out_proj_weight", path)
    if bias:
        layer.in_proj_bias.data[...] = _matrix(a.in_proj_bias, (3 * E,), "attention.in_proj_bias", path)
        layer.out_proj.bias.data[...] = _matrix(a.out_proj_bias, (E,), "attention.out_proj_bias", path)
    return layer


def _layernorm(n: LayerNormSpec, D: int, path: Path) -> LayerNorm:
    layer = LayerNorm(D, eps=n.eps)
    if n.weight is not None:
        layer.weight.data[...] = _matrix(n.weight, (D,), "layernorm.weight", path)
    if n.bias is not None:
        layer.bias.data[...] = _matrix(n.bias, (D,), "layernorm.bias", path)
    return layer


def parse_block_problem(data: dict[str, Any], path: Path, message: Any) -> BlockProblem:
    """Validate the parsed TOML of an attention or LayerNorm problem (``message`` formats
    pydantic's errors as the dense problems' are) and build its layer."""
    try:
        spec = BlockProblemSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(message(path, exc)) from None
    if (spec.attention is None) == (spec.layernorm is None):
        raise ConfigError(f"{path}: give one of [attention] or [layernorm], not both")
    if len({len(row) for row in spec.x}) != 1:
        raise ConfigError(f"{path}: x: rows of equal length, one per position (or sample)")
    x = _matrix(spec.x, (len(spec.x), len(spec.x[0])), "x", path)
    y = np.asarray(spec.y, dtype=np.float64)
    if spec.attention is not None:
        model: Module = _attention(spec.attention, x.shape[1], path)
    else:
        model = _layernorm(spec.layernorm, x.shape[1], path)  # type: ignore[arg-type]
    return BlockProblem(spec, path, model, x, y)


__all__ = ["BLOCKS", "BlockProblem", "parse_block_problem"]
