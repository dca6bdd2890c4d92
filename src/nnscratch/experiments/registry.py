"""Names an experiment file may use: activations, layer classes, initialisers, datasets.

Layer classes are looked up among everything ``nnscratch`` exports, so a layer added to the
library (``Conv2d``, ``LSTM``...) is usable in ``[[model.layers]]`` without a schema change.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from ._errors import Located

#: Activation names of the ``[model]`` shorthand -> nnscratch class name.
ACTIVATIONS: dict[str, str] = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "ReLU",
    "leaky_relu": "LeakyReLU",
    "softmax": "Softmax",
    "identity": "Identity",
    "linear": "Identity",
    "none": "Identity",
}


def _suggest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_activation(name: str) -> None:
    if name.lower() not in ACTIVATIONS:
        hint = _suggest(name, list(ACTIVATIONS))
        raise ValueError(f"an activation among {', '.join(ACTIVATIONS)}. Received: {name!r}.{hint}")


def activation_class(name: str) -> type:
    import nnscratch

    return getattr(nnscratch, ACTIVATIONS[name.lower()])


def check_init(name: str) -> None:
    from nnscratch.engine.init import INITIALIZERS

    if name not in INITIALIZERS:
        options = sorted(INITIALIZERS)
        raise ValueError(
            f"an initialiser among {', '.join(options)}. Received: {name!r}.{_suggest(name, options)}"
        )


def layer_classes() -> dict[str, type]:
    """Every Module subclass exported by ``nnscratch`` (containers excepted), by class name."""
    import nnscratch
    from nnscratch.engine.layers.container import Sequential
    from nnscratch.engine.module import Module

    found = {}
    for name in dir(nnscratch):
        obj = getattr(nnscratch, name)
        if isinstance(obj, type) and issubclass(obj, Module) and obj not in (Module, Sequential):
            found[name] = obj
    return found


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
#: the data reaching the layer: see ``builder.INFERRED_ARGS``).
AUTO_LAYER_ARGS = {"in_features", "in_channels", "input_size", "num_features", "rng", "dtype"}


def check_layer(type_name: str, kwargs: dict[str, Any]) -> None:
    classes = layer_classes()
    if type_name not in classes:
        options = sorted(classes)
        raise Located(
            "type",
            f"a layer class exported by nnscratch ({', '.join(options)}). "
            f"Received: type = {type_name!r}.{_suggest(type_name, options)}",
        )
    names, required, var_kw = _parameters(classes[type_name].__init__)
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


# -- datasets (provided by nnscratch.datasets) ---------------------------------------------------
def dataset_loaders() -> dict[str, Callable[..., Any]] | None:
    """Built-in dataset loaders by name, or None when the datasets module is not available."""
    try:
        from nnscratch import data as datasets
    except ImportError:
        return None
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
    for key in params:
        if key not in names and not var_kw:
            raise Located(
                f"params.{key}",
                f"an option of the {name!r} dataset ({', '.join(names) or 'none'}). "
                f"Received: unknown option {key!r}.{_suggest(key, names)}",
            )


__all__ = [
    "ACTIVATIONS",
    "activation_class",
    "check_activation",
    "check_dataset",
    "check_init",
    "check_layer",
    "dataset_loaders",
    "layer_classes",
]
