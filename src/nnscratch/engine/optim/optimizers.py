"""Optimizers and learning-rate schedules, with ``torch.optim``'s update formulas.

A step here equals a step of the PyTorch optimizer of the same name and settings (tested side by
side). ``weight_decay`` adds λ·θ to the gradient before the update — exactly the L2
regularisation of the course notes: with ``reg_lambda`` = λ and the loss averaged over the batch,
``θ ← θ - η (∂L/∂θ + λ θ)`` is ``SGD(lr=η, weight_decay=λ)``. (The penalty is then (λ/2)·‖θ‖²,
and like PyTorch it applies to biases too unless they are left out of ``params``.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from nnscratch.base.errors import DTypeError, HyperparameterError, StateDictError
from nnscratch.base.validation import check_in_range, check_positive

from ..module import Module
from ..parameter import Parameter
from .flat import Update, UpdatePlan


def _as_param_list(params: Iterable[Parameter] | Module) -> list[Parameter]:
    if isinstance(params, Module):
        params = params.parameters()
    try:
        plist = list(params)
    except TypeError as exc:
        raise DTypeError(
            f"params must be an iterable of Parameters (e.g. model.parameters()). Received: {params!r}"
        ) from exc
    if not plist:
        raise HyperparameterError("the optimizer got an empty parameter list: nothing to train.")
    for i, p in enumerate(plist):
        if not isinstance(p, Parameter):
            raise DTypeError(
                f"params[{i}] is {type(p).__name__}, expected a Parameter (use model.parameters())."
            )
    return plist


# Elements per slice of an update (512 KiB of float32), so that the temporary of a slice stays in
# the L2 cache and a step's peak memory does not grow with the largest weight matrix.
UPDATE_CHUNK = 1 << 17


def subtract_scaled(theta: np.ndarray, lr: float, g: np.ndarray, scratch: dict[np.dtype, np.ndarray]) -> None:
    """θ -= lr·g in place, slice by slice for large parameters.

    NumPy has no fused axpy: ``θ -= lr * g`` first materialises lr·g, a temporary as large as the
    parameter (for a 784×256 layer it outweighed a batch's activations). Slicing bounds it at
    :data:`UPDATE_CHUNK` elements, in a buffer kept in ``scratch`` (one per optimizer and dtype,
    so optimizers in different threads never share one); each element is computed as before.
    """
    n = theta.size
    if n <= UPDATE_CHUNK or not (theta.flags.c_contiguous and g.flags.c_contiguous) or g.shape != theta.shape:
        theta -= lr * g
        return
    dtype = np.result_type(theta.dtype, g.dtype)
    tmp = scratch.get(dtype)
    if tmp is None or tmp.size < UPDATE_CHUNK:
        tmp = scratch[dtype] = np.empty(UPDATE_CHUNK, dtype=dtype)
    flat_theta, flat_g = theta.reshape(-1), g.reshape(-1)
    scale = dtype.type(lr)
    for start in range(0, n, UPDATE_CHUNK):
        stop = min(start + UPDATE_CHUNK, n)
        t = np.multiply(flat_g[start:stop], scale, out=tmp[: stop - start])
        np.subtract(flat_theta[start:stop], t, out=flat_theta[start:stop])


class Optimizer:
    """Base class. Holds the parameters, the learning rate ``lr`` and per-parameter state.

    ``step()`` iterates over :meth:`_updates`: small parameters that lie side by side in memory
    come as one flat (θ, g, state) triple, updated together (see :mod:`.flat`), the others one by
    one. Either way each parameter's ``data`` and ``grad`` are updated in place.
    """

    _state_keys: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter] | Module, lr: float) -> None:
        self.params = _as_param_list(params)
        self.lr = check_positive(lr, "lr", allow_zero=True)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self._scratch: dict[np.dtype, np.ndarray] = {}  # reusable temporaries of the updates
        self._plan: UpdatePlan | None = None  # built on first use
        self.step_count = 0

    def _get_plan(self) -> UpdatePlan:
        if self._plan is None:
            self._plan = UpdatePlan(self.params, self.state)
        return self._plan

    def _updates(self) -> list[Update]:
        """The (θ, g, state) triples one step updates, in place."""
        return (self._plan or self._get_plan()).updates()

    def _publish_state(self) -> None:
        """After a step: state arrays it created for a flat group reach each parameter's entry."""
        if self._plan is not None:
            self._plan.publish_state()

    def zero_grad(self) -> None:
        """Fill every parameter's gradient with zeros (one fill per flat run of small parameters)."""
        (self._plan or self._get_plan()).zero_grad()

    def step(self) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict[str, Any]:
        return {"lr": self.lr}

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and copies of every state array (for checkpoints)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step_count": self.step_count,
            "state": [{k: np.array(v, copy=True) for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise StateDictError(
                "optimizer state must be the dict returned by optimizer.state_dict(). "
                f"Received: {type(state).__name__}"
            )
        if state.get("type") != type(self).__name__:
            raise StateDictError(
                f"optimizer state is for {state.get('type')!r}, cannot load it into {type(self).__name__}"
            )
        entries = state.get("state", [])
        if len(entries) != len(self.params):
            raise StateDictError(
                f"optimizer state has {len(entries)} parameter entries, expected {len(self.params)}"
            )
        for i, (p, entry) in enumerate(zip(self.params, entries, strict=True)):
            for key, value in entry.items():
                value = np.asarray(value)
                if value.shape != p.shape and value.shape != ():
                    raise StateDictError(
                        f"optimizer state {key!r} of parameter {i} has shape {value.shape}, "
                        f"expected {p.shape}"
                    )
        self.state = [
            {k: np.array(v, dtype=p.dtype if np.asarray(v).ndim else None, copy=True) for k, v in e.items()}
            for p, e in zip(self.params, entries, strict=True)
        ]
        self._plan = None  # the next step groups the loaded arrays afresh
        for key, value in state.get("hyperparameters", {}).items():
            setattr(self, key, value)
        self.step_count = int(state.get("step_count", 0))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    Update, for each parameter θ with gradient g::

        g = g + weight_decay * θ
        if momentum:
            b = g                                   (first step)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b if nesterov else b
        θ = θ - lr * g
    """

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = check_positive(momentum, "momentum", allow_zero=True)
        self.dampening = check_positive(dampening, "dampening", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise HyperparameterError(
                "nesterov=True needs momentum > 0 and dampening = 0. "
                f"Received: momentum={momentum}, dampening={dampening}"
            )

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "weight_decay": self.weight_decay,
            "nesterov": self.nesterov,
        }

    def step(self) -> None:
        lr, mu, wd, dampening = self.lr, self.momentum, self.weight_decay, self.dampening
        for theta, g, state in self._updates():
            if wd:
                g = g + wd * theta
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = np.array(g, copy=True)
                else:
                    buf *= mu
                    if dampening:
                        buf += (1.0 - dampening) * g
                    else:  # (1 - 0)·g is g: skip a pass over the parameter
                        buf += g
                g = g + mu * buf if self.nesterov else buf
            if theta.size <= UPDATE_CHUNK:
                theta -= lr * g
            else:
                subtract_scaled(theta, lr, g, self._scratch)
        self._publish_state()
        self.step_count += 1


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient).

    Update at step t::

        g = g + weight_decay * θ
        m = m + (1 - β1) (g - m)          v = β2 v + (1 - β2) g²
        (amsgrad: v̂max = max(v̂max, v), used in place of v)
        θ = θ - lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
    """

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise HyperparameterError(f"betas must be a pair (beta1, beta2). Received: betas={betas!r}")
        self.betas = (
            check_in_range(betas[0], "betas[0]", 0.0, 1.0, high_open=True),
            check_in_range(betas[1], "betas[1]", 0.0, 1.0, high_open=True),
        )
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.amsgrad = bool(amsgrad)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "betas": tuple(self.betas),
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }

    def _decay(self, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
        return g + self.weight_decay * theta if self.weight_decay else g

    def step(self) -> None:
        self.step_count += 1
        t = self.step_count
        beta1, beta2 = self.betas
        step_size = self.lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        for theta, g, state in self._updates():
            g = self._decay(theta, g)
            if not state:
                state["exp_avg"] = np.zeros_like(theta)
                state["exp_avg_sq"] = np.zeros_like(theta)
                if self.amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(theta)
            m, v = state["exp_avg"], state["exp_avg_sq"]
            m += (1.0 - beta1) * (g - m)
            v *= beta2
            v += (1.0 - beta2) * (g * g)
            if self.amsgrad:
                np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                v = state["max_exp_avg_sq"]
            denom = np.sqrt(v)
            denom /= bias_correction2_sqrt
            denom += self.eps
            theta -= step_size * (m / denom)
        self._publish_state()


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: θ ← θ(1 - lr·λ), then Adam."""

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas=(0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)

    def _decay(self, theta: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            theta *= 1.0 - self.lr * self.weight_decay
        return g


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Update::

        g = g + weight_decay * θ
        s = α s + (1 - α) g²
        centered: ḡ = ḡ + (1 - α)(g - ḡ);  d = sqrt(s - ḡ²) + eps   else  d = sqrt(s) + eps
        momentum: b = μ b + g / d;  θ = θ - lr · b     else   θ = θ - lr · g / d
    """

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = check_in_range(alpha, "alpha", 0.0, 1.0)
        self.eps = check_positive(eps, "eps", allow_zero=True)
        self.weight_decay = check_positive(weight_decay, "weight_decay", allow_zero=True)
        self.momentum = check_positive(momentum, "momentum", allow_zero=True)
        self.centered = bool(centered)

    def hyperparameters(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "alpha": self.alpha,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def step(self) -> None:
        a = self.alpha
        for theta, g, state in self._updates():
            if self.weight_decay:
                g = g + self.weight_decay * theta
            if not state:
                state["square_avg"] = np.zeros_like(theta)
                if self.centered:
                    state["grad_avg"] = np.zeros_like(theta)
                if self.momentum:
                    state["momentum_buffer"] = np.zeros_like(theta)
            s = state["square_avg"]
            s *= a
            s += (1.0 - a) * (g * g)
            if self.centered:
                ga = state["grad_avg"]
                ga += (1.0 - a) * (g - ga)
                denom = np.sqrt(s - ga * ga)
            else:
                denom = np.sqrt(s)
            denom += self.eps
            if self.momentum:
                buf = state["momentum_buffer"]
                buf *= self.momentum
                buf += g / denom
                theta -= self.lr * buf
            else:
                theta -= self.lr * (g / denom)
        self._publish_state()
        self.step_count += 1


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
]
