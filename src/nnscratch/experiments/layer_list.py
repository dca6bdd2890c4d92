"""``[[model.layers]]`` to modules: each entry built on the shape of the data reaching it, containers
(Residual, Parallel) from their inline child entries."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError, NNScratchError
from nnscratch.engine.layers.container import Parallel, Residual, Sequential
from nnscratch.engine.module import Module
from nnscratch.engine.names import layer_type

from . import registry
from .model_tables import LayerSpec

#: Layer arguments inferred, when an entry leaves them out, from the shape (N, ...) of the data
#: that reaches the layer; None where that shape does not say.
INFERRED_ARGS: dict[str, Any] = {
    "in_features": lambda shape: shape[-1],
    "input_size": lambda shape: shape[-1] if len(shape) == 3 else None,
    "in_channels": lambda shape: shape[1] if len(shape) == 4 else None,
    "num_features": lambda shape: shape[1] if len(shape) in (2, 3, 4) else None,
}


def from_layer_list(
    specs: list[LayerSpec], n_features: int, rng: np.random.Generator, dtype: np.dtype
) -> list[Module]:
    """Build ``[[model.layers]]`` in order, pushing two zero samples through each new layer so the
    next one knows the shape of its input: ``in_features`` after a Flatten, ``in_channels`` of a
    Conv2d, ``input_size`` of a recurrent layer are filled in, and a layer that cannot take the
    data reaching it is reported by its place in the list (now, not in the middle of training)."""
    probe = np.zeros((2, n_features), dtype=dtype)  # two samples: BatchNorm needs > 1 to normalise
    return _build_layers(specs, probe, rng, dtype, "model.layers")[0]


def _build_layers(
    specs: list[LayerSpec], probe: np.ndarray, rng: np.random.Generator, dtype: np.dtype, where: str
) -> tuple[list[Module], np.ndarray]:
    """The layers of ``specs`` and the probe after them; containers are built from their children,
    each child seeing the probe that reaches it (so sizes inside a Residual are inferred too)."""
    layers: list[Module] = []
    for i, spec in enumerate(specs):
        here = f"{where}[{i}]"
        try:
            layer = _build_one(spec, probe, rng, dtype, here)
        except HyperparameterError as exc:  # a value the layer refuses: name the entry it came from
            raise ConfigError(f"{here} ({spec.type}): {exc}") from None
        layer.eval()  # the probe must not draw dropout masks nor update BatchNorm's statistics
        try:
            probe = layer(probe)
        except NNScratchError as exc:
            shape = ", ".join(map(str, probe.shape[1:]))
            raise ConfigError(
                f"{here} ({spec.type}): cannot take the data reaching it, of shape (N, {shape}): {exc}"
            ) from None
        finally:
            layer.train()
        layers.append(layer)
    return layers, probe


def _chain(layers: list[Module]) -> Module:
    return layers[0] if len(layers) == 1 else Sequential(*layers)


def _build_one(
    spec: LayerSpec, probe: np.ndarray, rng: np.random.Generator, dtype: np.dtype, where: str
) -> Module:
    cls = layer_type(spec.type)
    kwargs = spec.kwargs()
    if cls is Residual:
        return Residual(_chain(_build_layers(spec.layers, probe, rng, dtype, f"{where}.layers")[0]))
    if cls is Parallel:
        split = kwargs.get("split")
        if split is not None and (len(split) != len(spec.branches) or sum(split) != probe.shape[-1]):
            raise ConfigError(
                f"{where}.split: one width per branch ({len(spec.branches)}) adding up to the "
                f"{probe.shape[-1]} columns reaching the layer. Received: split = {split}"
            )
        inputs = np.split(probe, np.cumsum(split)[:-1], axis=-1) if split else [probe] * len(spec.branches)
        branches = [
            _chain(_build_layers(branch, x_k, rng, dtype, f"{where}.branches[{k}]")[0])
            for k, (branch, x_k) in enumerate(zip(spec.branches, inputs, strict=True))
        ]
        return Parallel(*branches, **kwargs)
    names = registry._parameters(cls.__init__)[0]
    for arg, rule in INFERRED_ARGS.items():
        if arg in names and arg not in kwargs:
            value = rule(probe.shape)
            if value is None:
                raise ConfigError(
                    f"{where} ({spec.type}): {arg} cannot be inferred from the data reaching this layer, of "
                    f"shape (N, {', '.join(map(str, probe.shape[1:]))}); give it. Received: no {arg}"
                )
            kwargs[arg] = value
    if "rng" in names and "rng" not in kwargs:
        kwargs["rng"] = rng
    if "dtype" in names and "dtype" not in kwargs:
        kwargs["dtype"] = dtype
    return cls(**kwargs)


__all__ = ["INFERRED_ARGS", "from_layer_list"]
