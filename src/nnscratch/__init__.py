"""nnscratch: neural networks from scratch in NumPy, every gradient derived by hand.

import nnscratch as ns
model = ns.Sequential(ns.Linear(2, 2), ns.Tanh(), ns.Linear(2, 1), ns.Sigmoid())
history = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.5),
                 epochs=2000)
"""

from . import errors, init
from .backend import as_generator
from .checkpoint import ModelCheckpoint, load_checkpoint, save_checkpoint
from .errors import (
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
)
from .explain import WorkedExample, check_work, derivation, explain
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .io import load, load_with_info, register_activation, save
from .layers import (
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
    Flatten,
    Identity,
    LastTimeStep,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Reshape,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    Unflatten,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L2Loss, Loss, MSELoss
from .module import Module
from .optim import (
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    ExponentialLR,
    LRScheduler,
    MultiStepLR,
    Optimizer,
    RMSprop,
    StepLR,
)
from .parameter import Parameter
from .train import History, evaluate, fit, predict, predict_proba

__version__ = "0.1.0"

__all__ = [
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
    "ClusterError",
    "ConfigError",
    "Conv2d",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "Dropout",
    "Embedding",
    "ExponentialLR",
    "Flatten",
    "GradcheckError",
    "GradcheckReport",
    "History",
    "HyperparameterError",
    "Identity",
    "L2Loss",
    "LRScheduler",
    "LabelError",
    "LastTimeStep",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "ModelCheckpoint",
    "ModelFileError",
    "Module",
    "MultiStepLR",
    "NNScratchError",
    "NonFiniteError",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "Reshape",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "StateError",
    "StepLR",
    "Tanh",
    "Unflatten",
    "WorkedExample",
    "__version__",
    "as_generator",
    "check_work",
    "derivation",
    "errors",
    "evaluate",
    "explain",
    "fit",
    "gradcheck",
    "init",
    "load",
    "load_checkpoint",
    "load_with_info",
    "predict",
    "predict_proba",
    "register_activation",
    "save",
    "save_checkpoint",
]

# -- experiments layer: datasets, evaluation, callbacks (kept as one additive block) -----------
from . import data, datasets
from .callbacks import Callback, EarlyStopping, LRSchedulerCallback, ProgressBar
from .evaluation import CVResult, classification_metrics, cross_validate, evaluate_split

__all__ += [
    "CVResult",
    "Callback",
    "EarlyStopping",
    "LRSchedulerCallback",
    "ProgressBar",
    "classification_metrics",
    "cross_validate",
    "data",
    "datasets",
    "evaluate_split",
]
