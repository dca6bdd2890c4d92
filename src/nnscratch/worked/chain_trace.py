"""One run of the engine through a LayerNorm model, module by module, every quantity recorded.

The model is a ``LayerNorm`` or a ``Sequential`` holding at least one, besides Linear layers and
element-wise activations. Each module's own ``forward`` and ``backward`` run on a float64 copy,
one module at a time (what ``Sequential`` does), so the gradient between two modules can be
recorded. LayerNorm's μ, σ² and the means of its backward are recomputed from the engine's cached
x̂ and 1/√(σ² + ε) with the formulas of its docstring; the tests check them against PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.layers.activations import Activation, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from nnscratch.engine.layers.container import Sequential
from nnscratch.engine.layers.linear import Linear
from nnscratch.engine.layers.normalization import LayerNorm
from nnscratch.engine.layers.smooth_activations import GELU, SiLU
from nnscratch.engine.losses import Loss
from nnscratch.engine.module import Module

from .row_steps import resolve, small_matrix, target_like
from .trace import SUPPORTED

ELEMENTWISE = (Sigmoid, Tanh, ReLU, LeakyReLU, Identity, Activation, GELU, SiLU)


@dataclass
class ModuleTrace:
    """What module ``index`` (1-based) did; arrays with one row per sample."""

    index: int
    module: Module
    x: np.ndarray
    out: np.ndarray
    g_out: np.ndarray | None = None  # ∂L/∂out
    g_in: np.ndarray | None = None  # ∂L/∂x
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    fprime: np.ndarray | None = None  # element-wise activations: f'(x), from the engine
    # LayerNorm: forward and backward intermediates
    mu: np.ndarray | None = None
    var: np.ndarray | None = None
    std: np.ndarray | None = None  # √(σ² + ε)
    xhat: np.ndarray | None = None
    dxhat: np.ndarray | None = None
    mean_dxhat: np.ndarray | None = None
    mean_dxhat_xhat: np.ndarray | None = None

    @property
    def kind(self) -> str:
        if isinstance(self.module, LayerNorm):
            return "layernorm"
        return "linear" if isinstance(self.module, Linear) else "activation"


@dataclass
class ChainTrace:
    x: np.ndarray
    target: np.ndarray
    modules: list[ModuleTrace]
    loss_fn: Loss
    loss: float
    dL_dy: np.ndarray

    @property
    def output(self) -> np.ndarray:
        return self.modules[-1].out


def is_layernorm_model(model: Any) -> bool:
    """A LayerNorm, or a Sequential holding one (its other modules are checked later)."""
    if isinstance(model, LayerNorm):
        return True
    return isinstance(model, Sequential) and any(isinstance(m, LayerNorm) for m in model.layers)


def _modules(model: Module) -> list[Module]:
    mods = list(model.layers) if isinstance(model, Sequential) else [model]
    for i, m in enumerate(mods):
        if isinstance(m, LayerNorm) and len(m.normalized_shape) != 1:
            raise ConfigError(
                f"explain normalises over one feature axis: LayerNorm(normalized_shape=(D,)). "
                f"Received: module {i} is {m!r}"
            )
        if not isinstance(m, (Linear, LayerNorm, *ELEMENTWISE)):
            raise ConfigError(f"{SUPPORTED}; module {i} is {type(m).__name__}. Received: {model!r}")
    return mods


def _batch(x: Any, width: int) -> np.ndarray:
    arr = np.asarray(as_array(x, "x"), dtype=np.float64)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ShapeError(
            f"x must be one sample ({width},) or a small batch (N, {width}), one row per sample. "
            f"Received: {describe(arr)}"
        )
    small_matrix(arr, "x", "N samples, D features")
    return arr


def _in_width(mods: list[Module]) -> int:
    for m in mods:
        if isinstance(m, Linear):
            return m.in_features
        if isinstance(m, LayerNorm):
            return m.normalized_shape[0]
    raise ConfigError(f"{SUPPORTED}. Received: only activations")  # unreachable: a LayerNorm is there


def _layernorm_forward(mt: ModuleTrace, ln: LayerNorm) -> None:
    xhat, s, _ = ln._cache  # the engine's x̂ and s = 1/√(σ² + ε), kept for its backward
    mt.mu = mt.x.mean(axis=-1, keepdims=True)
    mt.var = np.mean((mt.x - mt.mu) ** 2, axis=-1, keepdims=True)
    mt.std = 1.0 / s
    mt.xhat = xhat.copy()


def _layernorm_backward(mt: ModuleTrace, ln: LayerNorm) -> None:
    g = mt.g_out
    mt.dxhat = g * ln.weight.data if ln.weight is not None else g.copy()
    mt.mean_dxhat = mt.dxhat.mean(axis=-1, keepdims=True)
    mt.mean_dxhat_xhat = np.mean(mt.dxhat * mt.xhat, axis=-1, keepdims=True)


def run_chain(model: Module, x: Any, y: Any, *, loss: Any) -> ChainTrace:
    """Forward, loss and backward of a float64 copy of ``model``, one module at a time."""
    _modules(model)  # check the structure before copying anything
    mods = _modules(model.copy().astype(np.float64))
    loss_fn = resolve(loss)
    a = _batch(x, _in_width(mods))
    x_arr = a
    traces: list[ModuleTrace] = []
    for i, m in enumerate(mods, start=1):
        m.train()
        out = m.forward(a)
        mt = ModuleTrace(i, m, a, out)
        if isinstance(m, LayerNorm):
            _layernorm_forward(mt, m)
        elif not isinstance(m, Linear):  # element-wise: f'(x) from the engine's own backward
            mt.fprime = m.backward(np.ones_like(out))
        traces.append(mt)
        a = out
    small_matrix(a, "the output", "N samples, k outputs")
    target = target_like(y, a.shape)
    pred, tgt = loss_fn.prepare(a, target)
    loss_value = loss_fn.forward(pred, tgt)
    g = loss_fn.backward()
    dL_dy = g
    for mt in reversed(traces):
        m = mt.module
        m.zero_grad()
        mt.g_out = g
        if isinstance(m, LayerNorm):
            _layernorm_backward(mt, m)
        g = m.backward(g)
        mt.g_in = g
        mt.grads = {name: p.grad.copy() for name, p in m.named_parameters()}
    return ChainTrace(x_arr, target, traces, loss_fn, loss_value, dL_dy)


__all__ = ["ChainTrace", "ModuleTrace", "is_layernorm_model", "run_chain"]
