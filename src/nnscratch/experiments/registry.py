"""Names an experiment file may use beyond :mod:`nnscratch.engine.names`: the arguments of a layer
class and the built-in datasets with their options.

Activations, losses, optimizers, schedulers, initializers and layer types are looked up in the
engine's tables (:mod:`nnscratch.engine.names`), the same ones every other entry point uses, so a
layer added to the library (``Conv2d``, ``LSTM``...) is usable in ``[[model.layers]]`` without a
schema change.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from nnscratch import data as datasets
from nnscratch.base.naming import suggest
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.names import layer_type

from ._errors import Located


def _suggest(name: str, options: list[str]) -> str:
    close = suggest(name, options)
    return f" Did you mean {close!r}?" if close else ""


def _parameters(fn: Callable[..., Any]) -> tuple[list[str], list[str], bool]:
    """(all keyword-able names, required names, accepts **kwargs) of ``fn``'s signature."""
    sig = inspect.signature(fn)
    names, required, var_kw = [], [], False
    for p in sig.parameters.values():
        if p.name == "self" or p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
            continue
        names.append(p.name)
        if p.default is inspect.Parameter.empty:
            required.append(p.name)
    return names, required, var_kw


#: Arguments the builder fills in when a layer entry leaves them out (the sizes from the shape of
#: the data reaching the layer: see ``layer_list.INFERRED_ARGS``).
AUTO_LAYER_ARGS = {"in_features", "in_channels", "input_size", "num_features", "rng", "dtype"}


def check_layer(type_name: str, kwargs: dict[str, Any]) -> None:
    """Check the keyword arguments of a ``[[model.layers]]`` entry against its class's signature
    (the type name itself is checked by the ``type`` field, against the layer-type table)."""
    cls = layer_type(type_name)
    if issubclass(cls, Sequential):
        raise Located(
            "type", f"a layer, not a container: list the layers one by one. Received: {type_name!r}"
        )
    if type_name in CONTAINERS:  # their children come as `layers` / `branches`, checked as entries
        names, required, var_kw = CONTAINER_OPTIONS[type_name], [], False
    else:
        names, required, var_kw = _parameters(cls.__init__)
    for key in kwargs:
        if key not in names and not var_kw:
            raise Located(
                key,
                f"an argument of {type_name} ({', '.join(names) or 'none'}). "
                f"Received: unknown argument {key!r}.{_suggest(key, names)}",
            )
    missing = [r for r in required if r not in kwargs and r not in AUTO_LAYER_ARGS]
    if missing:
        raise Located(missing[0], f"a value: {type_name} needs {', '.join(missing)}")
    for key, value in kwargs.items():
        _check_layer_value(key, value)


#: Containers in ``[[model.layers]]``: the key holding their children (a list of entries for
#: Residual; a list of such lists, one per branch, for Parallel) and their other options.
CONTAINERS = {"Residual": "layers", "Parallel": "branches"}
CONTAINER_OPTIONS = {"Residual": [], "Parallel": ["merge", "split"]}


#: Layer arguments that are sizes: a whole number >= 1 (or a list of them, e.g. kernel_size = [3, 3]).
SIZE_ARGS = {
    "in_features", "out_features", "in_channels", "out_channels", "input_size", "hidden_size",
    "num_layers", "num_embeddings", "embedding_dim", "num_features", "kernel_size", "stride",
    "bptt_steps",
}  # fmt: skip


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_layer_value(key: str, value: Any) -> None:
    """Range checks of the usual layer arguments, so that the file's line is named now (the layer
    itself checks again, and checks the rest, when it is built)."""
    if key in SIZE_ARGS and value is not None:
        values = value if isinstance(value, list) and key in ("kernel_size", "stride") else [value]
        if not values or not all(_is_int(v) and v >= 1 for v in values):
            raise Located(key, f"a whole number >= 1. Received: {key} = {value!r}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == "p" and not (number and 0 <= value < 1):
        raise Located(key, f"a probability in [0, 1). Received: p = {value!r}")


# -- datasets (provided by nnscratch.datasets) ---------------------------------------------------
def dataset_loaders() -> dict[str, Callable[..., Any]] | None:
    """Built-in dataset loaders by name, or None when the datasets module has no table of them."""
    for attr in ("LOADERS", "DATASETS", "REGISTRY"):
        table = getattr(datasets, attr, None)
        if isinstance(table, dict):
            return {k: (v if callable(v) else getattr(v, "loader", v)) for k, v in table.items()}
    return None


def check_dataset(name: str, params: dict[str, Any]) -> None:
    loaders = dataset_loaders()
    if loaders is None:
        return
    if name not in loaders:
        options = sorted(loaders)
        raise Located(
            "dataset",
            f"a built-in dataset ({', '.join(options)}) or csv/npz files. "
            f"Received: dataset = {name!r}.{_suggest(name, options)}",
        )
    loader = loaders[name]
    if not callable(loader):
        return
    names, _, var_kw = _parameters(loader)
    defaults = {p.name: p.default for p in inspect.signature(loader).parameters.values()}
    for key, value in params.items():
        if key not in names and not var_kw:
            raise Located(
                f"params.{key}",
                f"an option of the {name!r} dataset ({', '.join(names) or 'none'}). "
                f"Received: unknown option {key!r}.{_suggest(key, names)}",
            )
        _check_option(key, value, defaults.get(key))


def _check_option(key: str, value: Any, default: Any) -> None:
    """A dataset option must have the type of its default (a number where the default is one;
    counts ``n_*`` and ``window`` >= 1, other numbers >= 0), so that the file's line is named now."""
    where = f"params.{key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise Located(where, f"true or false. Received: {key} = {value!r}")
    elif isinstance(default, int):
        low = 1 if key.startswith("n_") or key == "window" else 0
        if not _is_int(value) or value < low:
            raise Located(where, f"a whole number >= {low}. Received: {key} = {value!r}")
    elif isinstance(default, float):
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)) or not value >= 0:
            raise Located(where, f"a number >= 0. Received: {key} = {value!r}")


__all__ = ["AUTO_LAYER_ARGS", "check_dataset", "check_layer", "dataset_loaders"]
