"""Layers: each a Module with a hand-derived backward."""

from .activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    log_softmax,
    sigmoid,
    softmax,
)
from .container import Sequential
from .linear import Linear

__all__ = [
    "Activation",
    "Identity",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "log_softmax",
    "sigmoid",
    "softmax",
]
