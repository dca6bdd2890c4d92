"""nnscratch: neural networks from scratch in NumPy, every gradient derived by hand.

This module only re-exports the public API (``ns.*``); nothing inside the package imports it.
The layers of the package, from the bottom up: ``base`` → ``engine`` → ``io`` (model files)
→ ``training`` → ``data``, ``evaluation``, ``plots``, ``report`` → ``experiments``, ``worked``,
``sklearn``, ``playground``, ``cli``. See docs/architecture.md.

import nnscratch as ns
model = ns.Sequential(ns.Linear(2, 2), ns.Tanh(), ns.Linear(2, 1), ns.Sigmoid())
history = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.5),
                 epochs=2000)
"""

from typing import TYPE_CHECKING, Any

from nnscratch import data
from nnscratch._version import __version__
from nnscratch.base import errors
from nnscratch.base.backend import as_generator
from nnscratch.base.errors import (
    ClusterError,
    ConfigError,
    DataError,
    DivergenceError,
    DTypeError,
    HyperparameterError,
    LabelError,
    ModelFileError,
    NNScratchError,
    NonFiniteError,
    ShapeError,
    StateDictError,
    StateError,
    TrainingWarning,
    UnknownNameError,
    WriteError,
)
from nnscratch.engine import init
from nnscratch.engine.generation import generate
from nnscratch.engine.gradcheck import GradcheckError, GradcheckReport, gradcheck
from nnscratch.engine.layers import (
    GELU,
    GRU,
    LSTM,
    RNN,
    Activation,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Features,
    Flatten,
    Identity,
    LastTimeStep,
    LayerNorm,
    LeakyReLU,
    Linear,
    MaxPool2d,
    MultiheadAttention,
    Parallel,
    PositionalEmbedding,
    ReLU,
    Reshape,
    Residual,
    Sequential,
    Sigmoid,
    SiLU,
    SinusoidalPositionalEncoding,
    Softmax,
    Tanh,
    TransformerEncoderLayer,
    Unflatten,
)
from nnscratch.engine.losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss, MSELoss
from nnscratch.engine.module import Module
from nnscratch.engine.optim.clipping import clip_grad_norm_
from nnscratch.engine.optim.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop
from nnscratch.engine.optim.schedulers import (
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    MultiStepLR,
    StepLR,
    WarmupCosineLR,
)
from nnscratch.engine.parameter import Parameter
from nnscratch.evaluation import CVResult, classification_metrics, cross_validate, evaluate_split
from nnscratch.io import load, load_with_info, register_activation, save
from nnscratch.training.callbacks import Callback, EarlyStopping, FitState, LRSchedulerCallback, ProgressBar
from nnscratch.training.checkpoint import ModelCheckpoint, load_checkpoint, save_checkpoint
from nnscratch.training.loop import History, evaluate, fit, predict, predict_proba
from nnscratch.worked import WorkedExample, check_work, derivation, explain

if TYPE_CHECKING:  # for type checkers and the API reference; at run time __getattr__ loads it
    from nnscratch.plots.attention import plot_attention

datasets = data  # ns.datasets.load(...) reads like the course notes; the same module


def __getattr__(name: str) -> Any:
    """``ns.plot_attention``, loaded on first use: ``import nnscratch`` stays free of matplotlib."""
    if name == "plot_attention":
        # deferred: plots need matplotlib, an optional extra (and slow to import) the core does without
        from nnscratch.plots.attention import plot_attention

        return plot_attention
    raise AttributeError(f"module 'nnscratch' has no attribute {name!r}")


__all__ = [
    "GELU",
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "CVResult",
    "Callback",
    "ClusterError",
    "ConfigError",
    "Conv2d",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "Embedding",
    "ExponentialLR",
    "Features",
    "FitState",
    "Flatten",
    "GradcheckError",
    "GradcheckReport",
    "History",
    "HyperparameterError",
    "Identity",
    "L2Loss",
    "LRScheduler",
    "LRSchedulerCallback",
    "LabelError",
    "LastTimeStep",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "ModelCheckpoint",
    "ModelFileError",
    "Module",
    "MultiStepLR",
    "MultiheadAttention",
    "NNScratchError",
    "NonFiniteError",
    "Optimizer",
    "Parallel",
    "Parameter",
    "PositionalEmbedding",
    "ProgressBar",
    "RMSprop",
    "ReLU",
    "Reshape",
    "Residual",
    "Sequential",
    "ShapeError",
    "SiLU",
    "Sigmoid",
    "SinusoidalPositionalEncoding",
    "Softmax",
    "StateDictError",
    "StateError",
    "StepLR",
    "Tanh",
    "TrainingWarning",
    "TransformerEncoderLayer",
    "Unflatten",
    "UnknownNameError",
    "WarmupCosineLR",
    "WorkedExample",
    "WriteError",
    "__version__",
    "as_generator",
    "check_work",
    "classification_metrics",
    "clip_grad_norm_",
    "cross_validate",
    "data",
    "datasets",
    "derivation",
    "errors",
    "evaluate",
    "evaluate_split",
    "explain",
    "fit",
    "generate",
    "gradcheck",
    "init",
    "load",
    "load_checkpoint",
    "load_with_info",
    "plot_attention",
    "predict",
    "predict_proba",
    "register_activation",
    "save",
    "save_checkpoint",
]
