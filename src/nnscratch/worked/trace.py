"""Run the real engine once on a copy of the model and record every intermediate quantity.

The model is split into layers ``l = 1..L``, each a :class:`Linear` followed by at most one
activation. Forward and backward are the modules' own ``forward``/``backward`` methods called
one module at a time (exactly what ``Sequential`` does), so the gradient that flows between two
modules can be recorded: ``dL/da⁽ˡ⁾`` entering an activation, ``δ⁽ˡ⁾ = dL/dz⁽ˡ⁾`` leaving it.
Then one optimizer step runs on the copy. Everything is float64; the caller's model, loss and
optimizer are never modified.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError, ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.losses import CrossEntropyLoss, Loss
from nnscratch.engine.module import Module
from nnscratch.engine.names import LOSS_NAMES, loss_class, make_loss, make_optimizer
from nnscratch.engine.optim.optimizers import SGD, Optimizer
from nnscratch.engine.parameter import Parameter

MAX_BATCH = 16
ACTIVATIONS = (Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Identity, Activation)
SUPPORTED = (
    "explain supports a dense network (a Sequential of Linear layers and activations), a "
    "MultiheadAttention layer, or a LayerNorm (alone, or in a Sequential with Linear layers and "
    "element-wise activations)"
)


@dataclass
class LayerTrace:
    """What one layer ``l`` did, arrays in the engine's orientation (samples as rows)."""

    index: int
    linear: Linear
    activation: Module | None
    a_prev: np.ndarray
    z: np.ndarray
    a: np.ndarray
    W: np.ndarray
    b: np.ndarray | None
    fprime: np.ndarray | None = None
    dL_da: np.ndarray | None = None
    delta: np.ndarray | None = None
    dW: np.ndarray | None = None
    db: np.ndarray | None = None
    dL_da_prev: np.ndarray | None = None
    W_new: np.ndarray | None = None
    b_new: np.ndarray | None = None
    W_state: dict[str, np.ndarray] = field(default_factory=dict)
    b_state: dict[str, np.ndarray] = field(default_factory=dict)
    W_state_before: dict[str, np.ndarray] = field(default_factory=dict)
    b_state_before: dict[str, np.ndarray] = field(default_factory=dict)
    W_trained: bool = False
    b_trained: bool = False
    W_hyper: dict[str, Any] = field(default_factory=dict)  # the hyperparameters of W's group
    b_hyper: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    """The whole computation: input, target, layers, loss and the optimizer step."""

    x: np.ndarray
    target: np.ndarray
    target_onehot: np.ndarray
    layers: list[LayerTrace]
    loss_fn: Loss
    loss: float
    dL_dout: np.ndarray
    optimizer: Optimizer
    step_count_before: int

    @property
    def output(self) -> np.ndarray:
        return self.layers[-1].a

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]


def resolve_loss(loss: Any, model: Sequential, **options: Any) -> Loss:
    """A private copy of ``loss``: an nnscratch Loss, or a name of
    :data:`nnscratch.engine.names.LOSS_NAMES` (``"bce"``, ``"bce_with_logits"``, ``"ce"``...) built
    with ``options``. A cross-entropy after a Softmax layer takes probabilities unless
    ``from_logits`` is given."""
    if isinstance(loss, Loss):
        return copy.deepcopy(loss)
    if isinstance(loss, str):
        if loss_class(loss) is CrossEntropyLoss and options.get("from_logits") is None:
            options["from_logits"] = not isinstance(model.layers[-1], Softmax)
        return make_loss(loss, **{k: v for k, v in options.items() if v is not None})
    raise HyperparameterError(
        "loss must be an nnscratch loss (e.g. ns.L2Loss()) or the name of one "
        f"({LOSS_NAMES.listing()}). Received: loss={loss!r}"
    )


def group_layers(model: Any) -> list[tuple[Linear, Module | None]]:
    """Split a Sequential into (Linear, activation or None) pairs, or explain what is unsupported."""
    if not isinstance(model, Sequential):
        raise ConfigError(
            f"{SUPPORTED}, e.g. ns.Sequential(ns.Linear(2, 3), ns.Sigmoid(), ...), "
            f"ns.MultiheadAttention(2, 1) or ns.LayerNorm(3). Received: {type(model).__name__}"
        )
    groups: list[tuple[Linear, Module | None]] = []
    for i, module in enumerate(model.layers):
        if isinstance(module, Linear):
            groups.append((module, None))
        elif isinstance(module, ACTIVATIONS):
            if not groups or groups[-1][1] is not None:
                where = "first module" if not groups else "second activation in a row"
                raise ConfigError(
                    f"explain expects each activation to follow a Linear layer; module {i} "
                    f"({type(module).__name__}) is the {where}. Received: {model!r}"
                )
            if isinstance(module, Softmax) and module.dim not in (-1, 1):
                raise ConfigError(
                    f"explain supports Softmax over the feature axis (dim=-1). Received: {module!r}"
                )
            groups[-1] = (groups[-1][0], module)
        else:
            raise ConfigError(
                "explain supports in a dense network Linear layers and the activations Sigmoid, Tanh, "
                "ReLU, LeakyReLU, Softmax, Identity and Activation (a MultiheadAttention layer and a "
                f"LayerNorm model are explained on their own); module {i} is {type(module).__name__}."
            )
    if not groups:
        raise ConfigError("explain needs at least one Linear layer. Received: an empty Sequential")
    return groups


def _make_optimizer(optimizer: Any, lr: float | None, user: Module, work: Module) -> Optimizer:
    """The optimizer to step the copy with: same type, settings and state as the user's."""
    if isinstance(optimizer, Optimizer):
        if lr is not None:
            raise HyperparameterError(
                "pass either lr or an optimizer instance (which has its own lr), not both. "
                f"Received: lr={lr!r}, optimizer={optimizer!r}"
            )
        index = {id(p): i for i, p in enumerate(user.parameters())}
        work_params = work.parameters()
        try:
            params = [work_params[index[id(p)]] for p in optimizer.params]
        except KeyError as exc:
            raise ConfigError(
                "the optimizer holds parameters that are not the model's: build it from "
                "model.parameters() of the model you explain."
            ) from exc
        index_of = {id(p): i for i, p in enumerate(optimizer.params)}
        groups = [
            {**group, "params": [params[index_of[id(p)]] for p in group["params"]]}
            for group in optimizer.param_groups
        ]
        clone = type(optimizer)(groups, **optimizer.defaults)
        clone.load_state_dict(optimizer.state_dict())
        return clone
    rate = 0.1 if lr is None else lr
    if optimizer is None:
        return SGD(work.parameters(), lr=rate)
    if isinstance(optimizer, str):
        return make_optimizer(optimizer, work.parameters(), lr=rate)
    if callable(optimizer):
        built = optimizer(work.parameters())
        if not isinstance(built, Optimizer):
            raise HyperparameterError(
                "an optimizer factory must return an nnscratch Optimizer, e.g. "
                f"lambda params: ns.Adam(params, lr=0.01). Received: {built!r}"
            )
        return built
    raise HyperparameterError(
        "optimizer must be None (plain SGD), a name such as 'adam', an nnscratch Optimizer or a "
        f"factory params -> Optimizer. Received: optimizer={optimizer!r}"
    )


def _prepare_xy(
    work: Sequential, x: Any, y: Any, loss: Loss, n_in: int, n_out: int
) -> tuple[np.ndarray, Any]:
    x_arr = work._prepare_input(x)
    single = x_arr.ndim == 1
    if single:
        x_arr = x_arr.reshape(1, -1)
    elif x_arr.ndim == 2 and x_arr.shape == (n_in, 1) and n_in > 1:
        x_arr = x_arr.T  # one sample written as a column vector, as on paper
    if x_arr.ndim != 2:
        raise ShapeError(
            "x must be one sample (n_features,) or a small batch (N, n_features). "
            f"Received: {describe(x_arr)}"
        )
    if x_arr.shape[0] > MAX_BATCH:
        raise ShapeError(
            f"explain writes out every number, so x may hold at most {MAX_BATCH} samples. "
            f"Received: {describe(x_arr)}"
        )
    if y is None:
        raise ConfigError(
            "explain needs the target y to compute the loss and the gradients. Received: y=None"
        )
    y_arr = as_array(y, "y")
    if isinstance(loss, CrossEntropyLoss) and y_arr.ndim == 0:
        y_arr = y_arr.reshape(1)  # one class index
    elif y_arr.ndim == 0:
        y_arr = y_arr.reshape(1, 1)
    elif (
        y_arr.ndim == 1
        and x_arr.shape[0] == 1
        and y_arr.shape[0] == n_out
        and not (isinstance(loss, CrossEntropyLoss) and n_out == 1)
    ):
        y_arr = y_arr.reshape(1, -1)  # the target row of the single sample
    elif y_arr.ndim == 2 and x_arr.shape[0] == 1 and y_arr.shape == (n_out, 1) and n_out > 1:
        y_arr = y_arr.T  # the target of the single sample written as a column
    return x_arr, y_arr


def _snapshot(state: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype=np.float64, copy=True) for k, v in state.items()}


def run_trace(
    model: Any, x: Any, y: Any, *, loss: Any, lr: float | None = None, optimizer: Any = None
) -> Trace:
    """Forward, loss, backward and one optimizer step on a float64 copy of ``model``."""
    group_layers(model)  # check the structure before copying anything
    work = model.copy().astype(np.float64)
    groups = group_layers(work)
    loss_fn = resolve_loss(loss, work)
    opt = _make_optimizer(optimizer, lr, model, work)
    x_arr, y_arr = _prepare_xy(work, x, y, loss_fn, groups[0][0].in_features, groups[-1][0].out_features)

    work.train()
    layers: list[LayerTrace] = []
    a = x_arr
    for l, (linear, act) in enumerate(groups, start=1):
        z = linear.forward(a)
        W = linear.weight.data.copy()
        b = None if linear.bias is None else linear.bias.data.copy()
        trace = LayerTrace(l, linear, act, a, z, z, W, b)
        if act is not None:
            trace.a = act.forward(z)
            if not isinstance(act, Softmax):  # element-wise: f'(z) from the engine's own backward
                trace.fprime = act.backward(np.ones_like(trace.a))
        layers.append(trace)
        a = trace.a

    pred, target = loss_fn.prepare(a, y_arr)
    loss_value = loss_fn.forward(pred, target)
    grad = loss_fn.backward()
    onehot = target
    if isinstance(loss_fn, CrossEntropyLoss) and target.ndim == 1:
        onehot = np.zeros_like(pred)
        onehot[np.arange(pred.shape[0]), target] = 1.0

    work.zero_grad()
    g = grad
    for trace in reversed(layers):
        trace.dL_da = g
        g = trace.activation.backward(g) if trace.activation is not None else g
        trace.delta = g
        g = trace.linear.backward(g, input_grad=trace.index > 1)
        trace.dW = trace.linear.weight.grad.copy()
        trace.db = None if trace.linear.bias is None else trace.linear.bias.grad.copy()
        trace.dL_da_prev = g

    trained = {id(p) for p in opt.params}
    hyper = {id(p): g for g in opt.param_groups for p in g["params"]}  # hyperparameters of p's group
    states_before = {id(p): _snapshot(s) for p, s in zip(opt.params, opt.state, strict=True)}
    step_count = opt.step_count
    opt.step()
    states_after = {id(p): _snapshot(s) for p, s in zip(opt.params, opt.state, strict=True)}
    for trace in layers:
        params: list[tuple[str, Parameter | None]] = [("W", trace.linear.weight), ("b", trace.linear.bias)]
        for name, p in params:
            if p is None:
                continue
            setattr(trace, f"{name}_new", p.data.copy())
            setattr(trace, f"{name}_trained", id(p) in trained)
            setattr(trace, f"{name}_state", states_after.get(id(p), {}))
            setattr(trace, f"{name}_state_before", states_before.get(id(p), {}))
            setattr(trace, f"{name}_hyper", {k: v for k, v in hyper.get(id(p), {}).items() if k != "params"})
    return Trace(x_arr, target, onehot, layers, loss_fn, loss_value, grad, opt, step_count)
