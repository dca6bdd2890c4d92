"""One table of names per kind: activations, losses, optimizers, schedulers, initializers and layer
types, and the look-ups every entry point uses (experiment and problem files, ``fit``, the
evaluation helpers, the scikit-learn estimators, the playground, ``explain`` and model files).

So one name means one thing everywhere — ``"bce_logits"`` and ``"bce_with_logits"``, ``"ce"`` and
``"cross_entropy"`` are accepted wherever a loss is named — and one mistake reads the same
everywhere: an unknown name raises :class:`~nnscratch.base.errors.UnknownNameError` naming the
kind, the known names and their aliases, a close spelling when there is one, and what was received.
Files (experiment, problem) put their file, line and key in front of that same message.

Names are compared ignoring case, ``-``, ``_`` and spaces, and a trailing ``Loss`` / ``LR`` on
losses and schedulers, so the class names (``"BCEWithLogitsLoss"``, ``"StepLR"``) work too.

Also here: the registry of user-defined activations that model files save by name
(:func:`register_activation`) and of user layer classes (:func:`register_layer`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError
from nnscratch.base.naming import Entry, NameTable

from . import layers as _layers
from .init import INITIALIZERS, Initializer, get_initializer
from .layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .layers.smooth_activations import GELU, SiLU
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss, MSELoss
from .module import Module
from .optim import optimizers as optim
from .optim import schedulers
from .optim.optimizers import Optimizer
from .optim.schedulers import LRScheduler

# -- the tables ------------------------------------------------------------------------------------
ACTIVATION_NAMES: NameTable[type[Module]] = NameTable(
    "activation",
    [
        Entry("sigmoid", Sigmoid, ("logistic",)),  # "logistic": scikit-learn's name
        Entry("tanh", Tanh),
        Entry("relu", ReLU),
        Entry("leaky_relu", LeakyReLU),
        Entry("softmax", Softmax),
        Entry("identity", Identity, ("linear", "none")),
        Entry("gelu", GELU),
        Entry("silu", SiLU, ("swish",)),
    ],
)

LOSS_NAMES: NameTable[type[Loss]] = NameTable(
    "loss",
    [
        Entry("mse", MSELoss, ("mean_squared_error",)),
        Entry("l2", L2Loss),
        Entry("bce", BCELoss, ("binary_cross_entropy",)),
        Entry("bce_with_logits", BCEWithLogitsLoss, ("bce_logits", "binary_cross_entropy_with_logits")),
        Entry("cross_entropy", CrossEntropyLoss, ("ce",)),
    ],
    plural="losses",
    suffix="loss",
)

OPTIMIZER_NAMES: NameTable[type[Optimizer]] = NameTable(
    "optimizer",
    [
        Entry("sgd", optim.SGD, ("gd",)),
        Entry("momentum", optim.SGD, (), {"momentum": 0.9}),  # heavy-ball SGD: momentum 0.9 unless given
        Entry("adam", optim.Adam),
        Entry("adamw", optim.AdamW),
        Entry("rmsprop", optim.RMSprop),
    ],
)

SCHEDULER_NAMES: NameTable[type[LRScheduler]] = NameTable(
    "scheduler",
    [
        Entry("step", schedulers.StepLR),
        Entry("multistep", schedulers.MultiStepLR),
        Entry("exponential", schedulers.ExponentialLR),
        Entry("cosine", schedulers.CosineAnnealingLR, ("cosine_annealing",)),
        Entry("warmup_cosine", schedulers.WarmupCosineLR),
    ],
    suffix="lr",
)

#: Initializers: the table stands in :mod:`nnscratch.engine.init` (the layers use it when built).
INITIALIZER_NAMES: NameTable[Initializer] = INITIALIZERS


# -- layer types (model files and ``[[model.layers]]``) --------------------------------------------
EXTRA_LAYERS: dict[str, type[Module]] = {}


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
    found: dict[str, type[Module]] = {}
    for attr in getattr(_layers, "__all__", dir(_layers)):
        obj = getattr(_layers, attr, None)
        if isinstance(obj, type) and issubclass(obj, Module) and obj is not Module:
            found[obj.__name__] = obj
    found.update(EXTRA_LAYERS)
    return found


LAYER_TYPE_NAMES: NameTable[type[Module]] = NameTable(
    "layer type",
    lambda: [Entry(name, cls) for name, cls in layer_types().items()],
    key="type",
)

TABLES: dict[str, NameTable[Any]] = {
    "activation": ACTIVATION_NAMES,
    "loss": LOSS_NAMES,
    "optimizer": OPTIMIZER_NAMES,
    "scheduler": SCHEDULER_NAMES,
    "initializer": INITIALIZER_NAMES,
    "layer type": LAYER_TYPE_NAMES,
}


# -- look-ups --------------------------------------------------------------------------------------
def _options(cls: type, skip: int) -> tuple[str, ...]:
    """The keyword arguments of ``cls(...)`` after its first ``skip`` ones."""
    params = [
        p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    return tuple(p.name for p in params[skip:])


def _build(table: NameTable[Any], name: str, args: tuple[Any, ...], kwargs: dict[str, Any], skip: int) -> Any:
    """``cls(*args, **defaults, **kwargs)`` for the entry ``name``, refusing keywords it does not take."""
    entry = table.entry(name)
    options = _options(entry.value, skip)
    bad = [k for k in kwargs if k not in options]
    if bad:
        raise HyperparameterError(
            f"{table.kind} {entry.name!r} does not accept {', '.join(bad)} (it takes "
            f"{', '.join(options) or 'no options'}). Received: "
            + ", ".join(f"{k}={kwargs[k]!r}" for k in bad)
        )
    return entry.value(*args, **{**entry.defaults, **kwargs})


def activation_class(name: str) -> type[Module]:
    """The layer class of the activation ``name`` (``"tanh"`` -> :class:`Tanh`)."""
    return ACTIVATION_NAMES.lookup(name)


def activation(name: str, **kwargs: Any) -> Module:
    """A new activation layer: ``activation("leaky_relu", negative_slope=0.1)``."""
    return _build(ACTIVATION_NAMES, name, (), kwargs, 0)


def loss_class(name: str) -> type[Loss]:
    """The class of the loss ``name`` (``"bce_logits"`` -> :class:`BCEWithLogitsLoss`)."""
    return LOSS_NAMES.lookup(name)


def make_loss(name: str, **kwargs: Any) -> Loss:
    """A new loss: ``make_loss("cross_entropy", reduction="sum", from_logits=False)``."""
    return _build(LOSS_NAMES, name, (), kwargs, 0)


def optimizer_options(name: str) -> tuple[str, ...]:
    """The options (keyword arguments besides ``lr``) the optimizer ``name`` takes."""
    return _options(OPTIMIZER_NAMES.lookup(name), 2)


def make_optimizer(name: str, params: Iterable[Any] | Module, **kwargs: Any) -> Optimizer:
    """A new optimizer on ``params``: ``make_optimizer("adam", model.parameters(), lr=1e-3)``.

    ``"momentum"`` is SGD with ``momentum=0.9`` unless given.
    """
    kwargs = dict(kwargs)
    lr = kwargs.pop("lr", None)
    return _build(OPTIMIZER_NAMES, name, (params,) if lr is None else (params, lr), kwargs, 2)


def scheduler_options(name: str) -> tuple[str, ...]:
    """The options (keyword arguments besides the optimizer) the scheduler ``name`` takes."""
    return _options(SCHEDULER_NAMES.lookup(name), 1)


def scheduler_required(name: str) -> tuple[str, ...]:
    """The options the scheduler ``name`` cannot do without (``step_size`` for ``"step"``)."""
    params = inspect.signature(SCHEDULER_NAMES.lookup(name).__init__).parameters
    return tuple(n for n in scheduler_options(name) if params[n].default is inspect.Parameter.empty)


def make_scheduler(name: str, optimizer: Optimizer, **kwargs: Any) -> LRScheduler:
    """A new learning-rate schedule on ``optimizer``: ``make_scheduler("step", opt, step_size=10)``."""
    return _build(SCHEDULER_NAMES, name, (optimizer,), kwargs, 1)


def initializer(init: str | Initializer) -> Initializer:
    """The initializer ``init`` names (``"glorot_uniform"`` -> ``xavier_uniform``); a callable as is."""
    return get_initializer(init)


def layer_type(name: str) -> type[Module]:
    """The layer class ``name`` names: an exported nnscratch layer or a registered one."""
    return LAYER_TYPE_NAMES.lookup(name)


# -- user-defined activations saved by name in model files -------------------------------------------
@dataclass(frozen=True)
class _Registered:
    fn: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray], np.ndarray]
    kinks: tuple[float, ...]


ACTIVATIONS: dict[str, _Registered] = {}


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


__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "EXTRA_LAYERS",
    "INITIALIZER_NAMES",
    "LAYER_TYPE_NAMES",
    "LOSS_NAMES",
    "OPTIMIZER_NAMES",
    "SCHEDULER_NAMES",
    "TABLES",
    "activation",
    "activation_class",
    "initializer",
    "layer_type",
    "layer_types",
    "loss_class",
    "make_loss",
    "make_optimizer",
    "make_scheduler",
    "optimizer_options",
    "register_activation",
    "register_layer",
    "registered_activation",
    "scheduler_options",
    "scheduler_required",
]
