"""Layers: each a Module with a hand-derived backward."""

from ..functional import log_softmax, sigmoid, softmax
from .activations import (
    Activation,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .attention import MultiheadAttention
from .container import Parallel, Residual, Sequential
from .conv import Conv2d
from .embedding import Embedding
from .features import Features
from .linear import Linear
from .normalization import LayerNorm
from .pooling import AvgPool2d, MaxPool2d
from .positional import PositionalEmbedding, SinusoidalPositionalEncoding
from .recurrent import GRU, LSTM, RNN
from .regularization import BatchNorm1d, BatchNorm2d, Dropout
from .shape import Flatten, LastTimeStep, Reshape, Unflatten
from .smooth_activations import GELU, SiLU
from .transformer import TransformerEncoderLayer

__all__ = [
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "Activation",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Features",
    "Flatten",
    "Identity",
    "LastTimeStep",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "MultiheadAttention",
    "Parallel",
    "PositionalEmbedding",
    "ReLU",
    "Reshape",
    "Residual",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SinusoidalPositionalEncoding",
    "Softmax",
    "Tanh",
    "TransformerEncoderLayer",
    "Unflatten",
    "log_softmax",
    "sigmoid",
    "softmax",
]
