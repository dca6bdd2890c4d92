"""Optimizers and learning-rate schedules, with ``torch.optim``'s update formulas.

A step here equals a step of the PyTorch optimizer of the same name and settings (tested side by
side). ``weight_decay`` adds λ·θ to the gradient before the update — exactly the L2
regularisation of the course notes: with ``reg_lambda`` = λ and the loss averaged over the batch,
``θ ← θ - η (∂L/∂θ + λ θ)`` is ``SGD(lr=η, weight_decay=λ)``. (The penalty is then (λ/2)·‖θ‖²,
and like PyTorch it applies to biases too unless they are in a parameter group of their own with
``weight_decay=0.0``: see :mod:`.groups`.)

``l1`` (λ₁) is L1 regularisation the same way: it adds the (sub)gradient λ₁·sign(θ) of the
penalty λ₁·‖θ‖₁ = λ₁·Σ|θ| to the gradient first, so a step equals PyTorch's optimizer on the loss
``L + l1 * sum(|θ|)`` differentiated by autograd (which also takes sign(0) = 0 at the kink).
:func:`.penalty.penalty` gives the value of both penalties.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.validation import check_in_range, check_positive

from ..module import Module
from .base import Optimizer
from .groups import GroupValue

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


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, as ``torch.optim.SGD``.

    Update, for each parameter θ with gradient g (with its group's hyperparameters)::

        g = g + l1 * sign(θ)                        (L1 penalty l1·Σ|θ|; sign(0) = 0)
        g = g + weight_decay * θ                    (L2 penalty (weight_decay/2)·‖θ‖²)
        if momentum:
            b = g                                   (first step)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b if nesterov else b
        θ = θ - lr * g
    """

    momentum = GroupValue()
    dampening = GroupValue()
    weight_decay = GroupValue()
    l1 = GroupValue()
    nesterov = GroupValue()

    def __init__(
        self,
        params: Iterable[Any] | Module,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        l1: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            l1=l1,
        )

    @classmethod
    def check_hyperparameters(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        hyper = super().check_hyperparameters(hyper)
        for key in ("momentum", "dampening", "weight_decay", "l1"):
            hyper[key] = check_positive(hyper[key], key, allow_zero=True)
        hyper["nesterov"] = bool(hyper["nesterov"])
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise HyperparameterError(
                "nesterov=True needs momentum > 0 and dampening = 0. "
                f"Received: momentum={hyper['momentum']}, dampening={hyper['dampening']}"
            )
        return hyper

    @classmethod
    def state_keys(cls, hyper: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(), frozenset({"momentum_buffer"})  # made on the first step with momentum

    def step(self) -> None:
        for group, updates in self._group_updates():
            lr, mu, wd, dampening = group["lr"], group["momentum"], group["weight_decay"], group["dampening"]
            nesterov, l1 = group["nesterov"], group["l1"]
            for theta, g, state in updates:
                if l1:  # ∂(l1·Σ|θ|)/∂θ = l1·sign(θ); at the kink θ = 0, sign(0) = 0 (as torch.abs)
                    g = g + l1 * np.sign(theta)
                if wd:  # ∂((wd/2)·‖θ‖²)/∂θ = wd·θ
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
                    g = g + mu * buf if nesterov else buf
                if theta.size <= UPDATE_CHUNK:
                    theta -= lr * g
                else:
                    subtract_scaled(theta, lr, g, self._scratch)
        self._publish_state()
        self.step_count += 1


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam`` (L2 ``weight_decay`` added to the gradient).

    Update at step t (with each group's hyperparameters)::

        g = g + l1 * sign(θ)              (L1 penalty l1·Σ|θ|; sign(0) = 0)
        g = g + weight_decay * θ
        m = m + (1 - β1) (g - m)          v = β2 v + (1 - β2) g²
        (amsgrad: v̂max = max(v̂max, v), used in place of v)
        θ = θ - lr / (1 - β1^t) · m / (sqrt(v) / sqrt(1 - β2^t) + eps)
    """

    _counts_steps = True
    betas = GroupValue()
    eps = GroupValue()
    weight_decay = GroupValue()
    l1 = GroupValue()
    amsgrad = GroupValue()

    def __init__(
        self,
        params: Iterable[Any] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        l1: float = 0.0,
    ) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, l1=l1)

    @classmethod
    def check_hyperparameters(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        hyper = super().check_hyperparameters(hyper)
        betas = hyper["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise HyperparameterError(f"betas must be a pair (beta1, beta2). Received: betas={betas!r}")
        hyper["betas"] = (
            check_in_range(betas[0], "betas[0]", 0.0, 1.0, high_open=True),
            check_in_range(betas[1], "betas[1]", 0.0, 1.0, high_open=True),
        )
        hyper["eps"] = check_positive(hyper["eps"], "eps", allow_zero=True)
        hyper["weight_decay"] = check_positive(hyper["weight_decay"], "weight_decay", allow_zero=True)
        hyper["l1"] = check_positive(hyper["l1"], "l1", allow_zero=True)
        hyper["amsgrad"] = bool(hyper["amsgrad"])
        return hyper

    @classmethod
    def state_keys(cls, hyper: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        moments = {"exp_avg", "exp_avg_sq"}
        required = moments | {"max_exp_avg_sq"} if hyper.get("amsgrad") else moments
        return frozenset(required), frozenset(moments | {"max_exp_avg_sq"})

    @staticmethod
    def _decay(theta: np.ndarray, g: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
        return g + weight_decay * theta if weight_decay else g

    def step(self) -> None:
        self.step_count += 1
        t = self.step_count
        for group, updates in self._group_updates():
            beta1, beta2 = group["betas"]
            lr, eps, wd, amsgrad = group["lr"], group["eps"], group["weight_decay"], group["amsgrad"]
            l1 = group["l1"]
            step_size = lr / (1.0 - beta1**t)
            bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
            for theta, g, state in updates:
                if l1:  # ∂(l1·Σ|θ|)/∂θ = l1·sign(θ); sign(0) = 0 (as torch.abs)
                    g = g + l1 * np.sign(theta)
                g = self._decay(theta, g, lr, wd)
                if not state:
                    state["exp_avg"] = np.zeros_like(theta)
                    state["exp_avg_sq"] = np.zeros_like(theta)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(theta)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += (1.0 - beta1) * (g - m)
                v *= beta2
                v += (1.0 - beta2) * (g * g)
                if amsgrad:
                    np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                    v = state["max_exp_avg_sq"]
                denom = np.sqrt(v)
                denom /= bias_correction2_sqrt
                denom += eps
                theta -= step_size * (m / denom)
        self._publish_state()


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: θ ← θ(1 - lr·λ), then Adam.

    ``l1`` is not decoupled: l1·sign(θ) joins the gradient, as the L1 penalty in the loss would.
    """

    def __init__(
        self,
        params: Iterable[Any] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
        *,
        l1: float = 0.0,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, l1=l1)

    @staticmethod
    def _decay(theta: np.ndarray, g: np.ndarray, lr: float, weight_decay: float) -> np.ndarray:
        if weight_decay:
            theta *= 1.0 - lr * weight_decay
        return g


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``.

    Update (with each group's hyperparameters)::

        g = g + l1 * sign(θ)              (L1 penalty l1·Σ|θ|; sign(0) = 0)
        g = g + weight_decay * θ
        s = α s + (1 - α) g²
        centered: ḡ = ḡ + (1 - α)(g - ḡ);  d = sqrt(s - ḡ²) + eps   else  d = sqrt(s) + eps
        momentum: b = μ b + g / d;  θ = θ - lr · b     else   θ = θ - lr · g / d
    """

    alpha = GroupValue()
    eps = GroupValue()
    weight_decay = GroupValue()
    l1 = GroupValue()
    momentum = GroupValue()
    centered = GroupValue()

    def __init__(
        self,
        params: Iterable[Any] | Module,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        l1: float = 0.0,
    ) -> None:
        super().__init__(
            params,
            lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            l1=l1,
        )

    @classmethod
    def check_hyperparameters(cls, hyper: dict[str, Any]) -> dict[str, Any]:
        hyper = super().check_hyperparameters(hyper)
        hyper["alpha"] = check_in_range(hyper["alpha"], "alpha", 0.0, 1.0)
        for key in ("eps", "weight_decay", "momentum", "l1"):
            hyper[key] = check_positive(hyper[key], key, allow_zero=True)
        hyper["centered"] = bool(hyper["centered"])
        return hyper

    @classmethod
    def state_keys(cls, hyper: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
        required = {"square_avg"}
        required |= {"grad_avg"} if hyper.get("centered") else set()
        required |= {"momentum_buffer"} if hyper.get("momentum") else set()
        return frozenset(required), frozenset({"square_avg", "grad_avg", "momentum_buffer"})

    def step(self) -> None:
        for group, updates in self._group_updates():
            lr, a, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            mu, centered, l1 = group["momentum"], group["centered"], group["l1"]
            for theta, g, state in updates:
                if l1:  # ∂(l1·Σ|θ|)/∂θ = l1·sign(θ); sign(0) = 0 (as torch.abs)
                    g = g + l1 * np.sign(theta)
                if wd:
                    g = g + wd * theta
                if not state:
                    state["square_avg"] = np.zeros_like(theta)
                    if centered:
                        state["grad_avg"] = np.zeros_like(theta)
                    if mu:
                        state["momentum_buffer"] = np.zeros_like(theta)
                s = state["square_avg"]
                s *= a
                s += (1.0 - a) * (g * g)
                if centered:
                    ga = state["grad_avg"]
                    ga += (1.0 - a) * (g - ga)
                    denom = np.sqrt(s - ga * ga)
                else:
                    denom = np.sqrt(s)
                denom += eps
                if mu:
                    buf = state["momentum_buffer"]
                    buf *= mu
                    buf += g / denom
                    theta -= lr * buf
                else:
                    theta -= lr * (g / denom)
        self._publish_state()
        self.step_count += 1


__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
]
