"""Registries behind model files: the layer allowlist and user activations saved by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError

from .layers.activations import Activation
from .module import Module

EXTRA_LAYERS: dict[str, type[Module]] = {}


@dataclass(frozen=True)
class _Registered:
    fn: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    kinks: tuple[float, ...]


ACTIVATIONS: dict[str, _Registered] = {}


# -- functions -------------------------------------------------------------------------------------
def register_activation(
    name: str,
    fn: Callable[[np.ndarray], np.ndarray],
    derivative: Callable[[np.ndarray], np.ndarray],
    *,
    kinks: tuple[float, ...] = (),
    overwrite: bool = False,
) -> Activation:
    """Register a user-defined activation under ``name`` so model files can refer to it by name.

    Model files never hold Python code: an :class:`Activation` built from your own functions is
    saved as its registered name, and loading looks that name up again — so register it (same
    name, same functions) in the program that loads the file too.

    Returns a new ``Activation(fn, derivative, name=name)`` layer, ready to put in a model.
    """
    if not isinstance(name, str) or not name.strip():
        raise HyperparameterError(f"name must be a non-empty string. Received: name={name!r}")
    if not callable(fn) or not callable(derivative):
        raise DTypeError(
            f"register_activation needs two callables, fn(z) and derivative(z). Received: fn={fn!r}, "
            f"derivative={derivative!r}"
        )
    old = ACTIVATIONS.get(name)
    if old is not None and (old.fn is not fn or old.derivative is not derivative) and not overwrite:
        raise HyperparameterError(
            f"an activation named {name!r} is already registered with other functions; pass "
            "overwrite=True to replace it, or choose another name."
        )
    ACTIVATIONS[name] = _Registered(fn, derivative, tuple(float(k) for k in kinks))
    return registered_activation(name)


def registered_activation(name: str) -> Activation:
    """A new layer of the activation registered as ``name``."""
    entry = ACTIVATIONS.get(name)
    if entry is None:
        raise HyperparameterError(
            f"no activation is registered as {name!r}. Registered: {sorted(ACTIVATIONS)}. "
            "Call nnscratch.register_activation(name, fn, derivative) first."
        )
    return Activation(entry.fn, entry.derivative, name=name, kinks=entry.kinks)


def register_layer(cls: type[Module]) -> type[Module]:
    """Allow model files to hold your own layer class (usable as a class decorator).

    Its constructor arguments must be stored as same-named attributes, or the class must define
    ``_config()``; register it again in the program that loads the file.
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise DTypeError(f"register_layer takes a Module subclass. Received: {cls!r}")
    EXTRA_LAYERS[cls.__name__] = cls
    return cls


def layer_types() -> dict[str, type[Module]]:
    """The allowlist: every Module subclass exported by ``nnscratch.engine.layers`` (read now, so layers
    added later are included), plus registered ones."""
    from . import layers

    found: dict[str, type[Module]] = {}
    for attr in getattr(layers, "__all__", dir(layers)):
        obj = getattr(layers, attr, None)
        if isinstance(obj, type) and issubclass(obj, Module) and obj is not Module:
            found[obj.__name__] = obj
    found.update(EXTRA_LAYERS)
    return found


__all__ = [
    "ACTIVATIONS",
    "EXTRA_LAYERS",
    "layer_types",
    "register_activation",
    "register_layer",
    "registered_activation",
]
