"""nnscratch: neural networks from scratch in NumPy, every gradient derived by hand.

import nnscratch as ns
model = ns.Sequential(ns.Linear(2, 2), ns.Tanh(), ns.Linear(2, 1), ns.Sigmoid())
history = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.5),
                 epochs=2000)
"""

from . import errors, init
from .backend import as_generator
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
from .gradcheck import GradcheckError, GradcheckReport, gradcheck
from .layers import (
    Activation,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
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
    "SGD",
    "Activation",
    "Adam",
    "AdamW",
    "BCELoss",
    "BCEWithLogitsLoss",
    "ClusterError",
    "ConfigError",
    "CosineAnnealingLR",
    "CrossEntropyLoss",
    "DTypeError",
    "DataError",
    "DivergenceError",
    "ExponentialLR",
    "GradcheckError",
    "GradcheckReport",
    "History",
    "HyperparameterError",
    "Identity",
    "L2Loss",
    "LRScheduler",
    "LabelError",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "ModelFileError",
    "Module",
    "MultiStepLR",
    "NNScratchError",
    "NonFiniteError",
    "Optimizer",
    "Parameter",
    "RMSprop",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "StateError",
    "StepLR",
    "Tanh",
    "__version__",
    "as_generator",
    "errors",
    "evaluate",
    "fit",
    "gradcheck",
    "init",
    "predict",
    "predict_proba",
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
