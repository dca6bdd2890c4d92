"""Weight initialisers. Each takes the shape, an explicit random Generator and a dtype.

Fan-in and fan-out follow PyTorch: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.naming import Entry, NameTable

Initializer = Callable[[tuple[int, ...], np.random.Generator, np.dtype], np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (PyTorch's convention)."""
    if len(shape) < 2:
        raise HyperparameterError(f"fan-in/fan-out need a weight of at least 2 dims. Received: shape={shape}")
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for an activation, as ``torch.nn.init.calculate_gain``."""
    table = {"linear": 1.0, "identity": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in table:
        raise HyperparameterError(
            f"nonlinearity must be one of {[*table, 'leaky_relu']}. Received: {nonlinearity!r}"
        )
    return table[nonlinearity]


def uniform(shape, rng, dtype=np.float64, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """U(low, high); the default U(0, 1) is ``np.random.rand`` as in the course notebooks."""
    return rng.uniform(low, high, size=shape).astype(dtype, copy=False)


def normal(shape, rng, dtype=np.float64, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
    """N(mean, std²)."""
    return rng.normal(mean, std, size=shape).astype(dtype, copy=False)


def zeros(shape, rng=None, dtype=np.float64) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def xavier_uniform(shape, rng, dtype=np.float64, gain_: float = 1.0) -> np.ndarray:
    """Glorot uniform: U(-a, a) with a = gain·sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    bound = gain_ * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, rng, dtype, -bound, bound)


def xavier_normal(shape, rng, dtype=np.float64, gain_: float = 1.0) -> np.ndarray:
    """Glorot normal: N(0, σ²) with σ = gain·sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(shape)
    return normal(shape, rng, dtype, 0.0, gain_ * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform(
    shape, rng, dtype=np.float64, a: float = 0.0, nonlinearity: str = "leaky_relu"
) -> np.ndarray:
    """He uniform on fan_in: U(-b, b) with b = gain·sqrt(3 / fan_in)."""
    fan_in, _ = fans(shape)
    bound = gain(nonlinearity, a) * math.sqrt(3.0 / fan_in)
    return uniform(shape, rng, dtype, -bound, bound)


def kaiming_normal(
    shape, rng, dtype=np.float64, a: float = 0.0, nonlinearity: str = "leaky_relu"
) -> np.ndarray:
    """He normal on fan_in: N(0, σ²) with σ = gain / sqrt(fan_in)."""
    fan_in, _ = fans(shape)
    return normal(shape, rng, dtype, 0.0, gain(nonlinearity, a) / math.sqrt(fan_in))


def torch_default(shape, rng, dtype=np.float64) -> np.ndarray:
    """PyTorch's default for Linear/Conv weights: kaiming_uniform(a=√5) = U(-1/√fan_in, 1/√fan_in)."""
    return kaiming_uniform(shape, rng, dtype, a=math.sqrt(5.0))


def torch_default_bias(shape, rng, dtype=np.float64, fan_in: int = 1) -> np.ndarray:
    """PyTorch's default bias: U(-1/√fan_in, 1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform(shape, rng, dtype, -bound, bound)


def _kaiming_uniform_relu(shape, rng, dtype=np.float64) -> np.ndarray:
    return kaiming_uniform(shape, rng, dtype, nonlinearity="relu")


def _kaiming_normal_relu(shape, rng, dtype=np.float64) -> np.ndarray:
    return kaiming_normal(shape, rng, dtype, nonlinearity="relu")


#: The initializers by name (the table :mod:`nnscratch.engine.names` serves; it stands here because
#: the layers look their ``init`` up when they are built). The kaiming/he names use ReLU's gain.
INITIALIZERS: NameTable[Initializer] = NameTable(
    "initializer",
    [
        Entry("uniform", uniform),
        Entry("normal", normal),
        Entry("zeros", zeros),
        Entry("xavier_uniform", xavier_uniform, ("glorot_uniform",)),
        Entry("xavier_normal", xavier_normal, ("glorot_normal",)),
        Entry("kaiming_uniform", _kaiming_uniform_relu, ("he_uniform",)),
        Entry("kaiming_normal", _kaiming_normal_relu, ("he_normal",)),
        Entry("torch", torch_default, ("default",)),
    ],
    key="init",
)


def get_initializer(init: str | Initializer) -> Initializer:
    """Resolve an initializer given by name (see ``INITIALIZERS``) or as a callable."""
    if callable(init):
        return init
    return INITIALIZERS.lookup(init)
