"""From a validated :class:`ExperimentConfig` to the objects of a run: data, model, loss, optimizer.

Everything here is deterministic given the config and an explicit random Generator.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError
from nnscratch.data import (
    Dataset,
    Standardizer,
    from_csv,
    from_idx,
    from_npz,
    load,
    one_hot,
    stratifiable,
    train_test_split,
)
from nnscratch.engine.layers.activations import Softmax
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.features import Features
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.losses import CrossEntropyLoss, Loss
from nnscratch.engine.module import Module
from nnscratch.engine.names import (
    activation,
    layer_type,
    loss_class,
    make_loss,
    make_optimizer,
    make_scheduler,
    scheduler_options,
)
from nnscratch.engine.optim.optimizers import Optimizer
from nnscratch.engine.optim.schedulers import LRScheduler
from nnscratch.training.callbacks import Callback, EarlyStopping

from .config import ExperimentConfig
from .layer_list import INFERRED_ARGS, from_layer_list

# -- data ---------------------------------------------------------------------------------------
#: Datasets read in this process, newest last: a command reads its data once and every fold,
#: repeat, summary and figure reuses it (a file changed on disk since is read again).
_LOADED: dict[str, tuple[Dataset, Dataset | None]] = {}
_LOADED_MAX = 2


def load_data(cfg: ExperimentConfig) -> tuple[Dataset, Dataset | None]:
    """The dataset named by ``[data]`` (built in, CSV, NPZ or IDX) and, when test files are given,
    the test set; read once per process and shared (its arrays are read-only)."""
    key = _data_key(cfg)
    if key is not None and key in _LOADED:
        _LOADED[key] = _LOADED.pop(key)  # most recently used last
        return _LOADED[key]
    data, test = read_data(cfg)
    for ds in (data, test):
        if ds is not None:  # shared between tasks: an in-place edit would leak into the next one
            ds.X.flags.writeable = False
            ds.y.flags.writeable = False
    if key is not None:
        _LOADED[key] = (data, test)
        while len(_LOADED) > _LOADED_MAX:
            _LOADED.pop(next(iter(_LOADED)))
    return data, test


def _data_key(cfg: ExperimentConfig) -> str | None:
    """The ``[data]`` table and the size and modification time of each file it names; None when
    a file cannot be looked at (reading it then says why)."""
    d = cfg.data.model_dump(mode="json")
    stats = []
    for key in ("csv", "y_csv", "test_csv", "test_y_csv", "npz", "test_npz", "idx", "test_idx"):
        value = d.get(key)
        for path in value if isinstance(value, list) else [value] if value else []:
            try:
                st = Path(path).stat()
            except OSError:
                return None
            stats.append([path, st.st_size, st.st_mtime_ns])
    return json.dumps([d, stats], sort_keys=True, default=str)


def read_data(cfg: ExperimentConfig) -> tuple[Dataset, Dataset | None]:
    """Read the data of ``[data]`` now (:func:`load_data` reads it once and reuses it)."""
    d = cfg.data
    if d.dataset is not None:
        return load(d.dataset, **d.params), None
    if d.csv is not None:
        sep = d.delimiter
        train = from_csv(d.csv, target=d.target, y_path=d.y_csv, delimiter=sep)
        test = None
        if d.test_csv:
            test = from_csv(d.test_csv, target=d.target, y_path=d.test_y_csv, delimiter=sep)
    elif d.idx is not None:
        train = from_idx(*d.idx)
        test = from_idx(*d.test_idx) if d.test_idx else None
    else:
        train = from_npz(d.npz)
        test = from_npz(d.test_npz) if d.test_npz else None
    return train, test


@dataclass
class Split:
    """The arrays one model is trained and evaluated on; indices refer to rows of the full data."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    train_index: np.ndarray
    test_index: np.ndarray | None
    scaler: Standardizer | None


def fold_indices(cfg: ExperimentConfig, y: np.ndarray, task: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train_index, test_index)`` per fold, from scikit-learn's (stratified) K-fold shuffled with
    the experiment seed, so every sweep point sees the same folds."""
    from sklearn.model_selection import KFold, StratifiedKFold

    k = cfg.evaluation.cv or 5
    if cfg.data.split == "ordered":  # consecutive blocks: no shuffling, no stratification
        return list(KFold(n_splits=k).split(np.zeros((len(y), 1))))
    stratified = cfg.evaluation.stratified and stratifiable(task)
    splitter = (StratifiedKFold if stratified else KFold)(
        n_splits=k, shuffle=True, random_state=cfg.experiment.seed
    )
    if stratified:
        smallest = int(np.bincount(y).min(initial=len(y)) if len(y) else 0)
        if smallest < k:
            raise ConfigError(
                f"evaluation.cv: stratified {k}-fold needs at least {k} samples of every class; the "
                f"smallest class has {smallest}. Received: cv = {k}"
            )
    return [(tr, te) for tr, te in splitter.split(np.zeros((len(y), 1)), y)]


def ordered_split(rows: np.ndarray, fraction: float, key: str) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` without and with its last ``ceil(fraction · n)`` entries (``[data] split = "ordered"``)."""
    n_last = math.ceil(fraction * len(rows))
    if n_last >= len(rows):
        raise ConfigError(
            f"{key}: holding out {fraction:g} of {len(rows)} rows leaves nothing to train on. "
            f"Received: {key} = {fraction:g}"
        )
    return rows[:-n_last], rows[-n_last:]


def make_split(cfg: ExperimentConfig, data: Dataset, test: Dataset | None, fold: int | None) -> Split:
    """Train/test arrays for a fold (``fold`` set), a held-out split (``test_size``) or test files.

    With both ``test_size`` and a fold, the folds are cut from the training part: the held-out
    part stays unseen, as in model selection before a final test.
    """
    index = np.arange(len(data))
    held: np.ndarray | None = None
    if cfg.data.test_size and cfg.data.split == "ordered":
        index, held = ordered_split(index, cfg.data.test_size, "data.test_size")
    elif cfg.data.test_size:
        index, held = train_test_split(
            index,
            data.y,
            test_size=cfg.data.test_size,
            seed=cfg.experiment.seed,
            stratify=stratifiable(data.task),
        )[:2]
    if fold is not None:
        inner_train, inner_test = fold_indices(cfg, data.y[index], data.task)[fold]
        train_index, test_index = index[inner_train], index[inner_test]
        test = None
    else:
        train_index, test_index = index, held
    X_train, y_train = data.X[train_index], data.y[train_index]
    if test is not None:
        X_test, y_test = test.X, test.y
    elif test_index is not None:
        X_test, y_test = data.X[test_index], data.y[test_index]
    else:
        X_test = y_test = None
    scaler = None
    if cfg.data.standardize:  # statistics of the training part only: nothing leaks from the test part
        scaler = Standardizer().fit(X_train)
        X_train = scaler.transform(X_train)
        X_test = scaler.transform(X_test) if X_test is not None else None
    return Split(X_train, y_train, X_test, y_test, train_index, test_index, scaler)


# -- loss and model ----------------------------------------------------------------------------
def loss_name(cfg: ExperimentConfig, task: str) -> str:
    """The configured loss by its canonical name (``bce_logits`` -> ``bce_with_logits``), or for
    ``"auto"``: bce (binary), cross_entropy (multiclass), mse."""
    if cfg.loss.name != "auto":
        return cfg.loss.canonical()
    return {"binary": "bce", "multiclass": "cross_entropy"}.get(task, "mse")


def output_activation(cfg: ExperimentConfig, loss: str) -> str:
    """``model.output``, or for ``"auto"`` what fits the loss (given by its canonical name)."""
    if cfg.model.output != "auto":
        return cfg.model.output
    return {"bce": "sigmoid", "bce_with_logits": "none", "cross_entropy": "none"}.get(loss, "identity")


def n_outputs(cfg: ExperimentConfig, loss: str, data: Dataset) -> int:
    """Output units: 1 for bce and regression, one per class otherwise (unless ``model.outputs``)."""
    if cfg.model.outputs is not None:
        return cfg.model.outputs
    if loss in ("bce", "bce_with_logits") or data.task == "regression":
        return 1
    if loss in ("mse", "l2") and data.task == "binary":
        return 1
    return max(data.n_classes, 2)


def build_loss(cfg: ExperimentConfig, loss: str) -> Loss:
    if loss_class(loss) is CrossEntropyLoss:
        from_logits = cfg.model.layers is not None or output_activation(cfg, loss) != "softmax"
        if cfg.model.layers is not None and layer_type(cfg.model.layers[-1].type) is Softmax:
            from_logits = False
        return make_loss(loss, reduction=cfg.loss.reduction, from_logits=from_logits)
    return make_loss(loss, reduction=cfg.loss.reduction)


def targets(y: np.ndarray, loss: str, outputs: int) -> np.ndarray:
    """What the loss compares the network's output with: one-hot rows for a multi-output mse/l2."""
    if loss in ("mse", "l2") and outputs > 1:
        return one_hot(y, outputs)
    return y


def build_model(
    cfg: ExperimentConfig, n_features: int, outputs: int, loss: str, rng: np.random.Generator
) -> Module:
    """The network of ``[model]``; the layers draw their initial weights from ``rng`` in order.

    With ``features``, a :class:`Features` layer comes first and the rest is built on its outputs.
    """
    m = cfg.model
    dtype = np.dtype(m.dtype)
    layers: list[Module] = []
    if m.features is not None:
        try:
            layers.append(Features(m.features, in_features=n_features))
        except HyperparameterError as exc:  # a column the data does not have
            raise ConfigError(f"model.features: {exc} (the data has {n_features} columns)") from None
        n_features = len(m.features)
    if m.layers is not None:
        return Sequential(*layers, *from_layer_list(cfg.model.layers, n_features, rng, dtype))
    width = n_features
    hidden = m.hidden or []
    acts = m.activation if isinstance(m.activation, list) else [m.activation] * len(hidden)
    for size, act in zip(hidden, acts, strict=True):
        layers.append(Linear(width, size, m.bias, dtype=dtype, init=m.init, rng=rng))
        layers.append(activation(act))
        width = size
    layers.append(Linear(width, outputs, m.bias, dtype=dtype, init=m.init, rng=rng))
    out = output_activation(cfg, loss)
    if out not in ("none", "identity"):
        layers.append(activation(out))
    return Sequential(*layers)


# -- optimizer and callbacks -------------------------------------------------------------------
def build_optimizer(cfg: ExperimentConfig, model: Module) -> Optimizer:
    o = cfg.optimizer
    keys = (
        "momentum",
        "dampening",
        "nesterov",
        "weight_decay",
        "l1",
        "betas",
        "eps",
        "alpha",
        "amsgrad",
        "centered",
    )
    kwargs: dict[str, Any] = {k: getattr(o, k) for k in keys if getattr(o, k) is not None}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    params = no_decay_groups(model, o.no_decay) if o.no_decay else model.parameters()
    return make_optimizer(o.name, params, lr=o.lr, **kwargs)


def no_decay_groups(model: Module, patterns: list[str]) -> list[dict[str, Any]]:
    """``[optimizer] no_decay``: the parameter groups of ``model`` whose names contain none of
    ``patterns`` (regularised with the optimizer's ``weight_decay`` and ``l1``), then those whose
    names contain one (``weight_decay`` and ``l1`` 0). A pattern in no parameter's name is a
    ConfigError."""
    named = list(model.named_parameters())
    for pattern in patterns:
        if not any(pattern in name for name, _ in named):
            raise ConfigError(
                f"optimizer.no_decay: {pattern!r} is in no parameter's name; expected part of one of "
                f"the model's parameter names: {', '.join(name for name, _ in named)}. "
                f"Received: no_decay = {patterns!r}"
            )
    decayed, exempt = [], []
    for name, p in named:
        (exempt if any(pattern in name for pattern in patterns) else decayed).append(p)
    groups: list[dict[str, Any]] = [{"params": decayed}] if decayed else []
    return [*groups, {"params": exempt, "weight_decay": 0.0, "l1": 0.0}]


def build_scheduler(cfg: ExperimentConfig, optimizer: Optimizer) -> LRScheduler | None:
    """The ``[optimizer.scheduler]`` learning-rate schedule on ``optimizer``, or None."""
    s = cfg.optimizer.scheduler
    if s is None:
        return None
    given = {k: getattr(s, k) for k in scheduler_options(s.name) if getattr(s, k) is not None}
    return make_scheduler(s.name, optimizer, **given)


def build_callbacks(cfg: ExperimentConfig) -> list[Callback]:
    """Early stopping, when ``[training] early_stopping`` asks for it."""
    stop = cfg.training.early_stopping_config()
    if stop is None:
        return []
    return [
        EarlyStopping(
            monitor=stop.monitor,
            patience=stop.patience,
            min_delta=stop.min_delta,
            restore_best_weights=stop.restore_best,
        )
    ]


__all__ = [
    "INFERRED_ARGS",
    "Split",
    "build_callbacks",
    "build_loss",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "fold_indices",
    "load_data",
    "loss_name",
    "make_split",
    "n_outputs",
    "no_decay_groups",
    "ordered_split",
    "output_activation",
    "read_data",
    "targets",
]
