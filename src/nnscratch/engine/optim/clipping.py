"""Gradient clipping by the global norm, as ``torch.nn.utils.clip_grad_norm_``."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from nnscratch.base.errors import HyperparameterError
from nnscratch.base.validation import check_positive

from ..parameter import Parameter


def clip_grad_norm_(
    parameters: Parameter | Iterable[Parameter], max_norm: float, norm_type: float = 2.0
) -> float:
    r"""Scale every gradient by one factor so that their joint norm is at most ``max_norm``.

    total = ‖(g₁, …, gₙ)‖_p  = (Σᵢ Σ |gᵢ|ᵖ)^(1/p)      (p = ``norm_type``; p = inf: max |gᵢ|)
    c     = min(1, max_norm / (total + 1e-6))
    gᵢ   ← c · gᵢ                                       (in place, for every parameter)

    One factor for all parameters keeps the update's direction and only shortens it, which is
    what stops one exploding batch (common in recurrent and attention models) from throwing the
    weights far away. Returns ``total``, the norm before clipping (as PyTorch does).
    """
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    max_norm = check_positive(max_norm, "max_norm")
    p = float(norm_type)
    if not (p == math.inf or p > 0):
        raise HyperparameterError(f"norm_type must be > 0 or inf. Received: norm_type={norm_type!r}")
    grads = [param.grad for param in params]
    if not grads:
        return 0.0
    if p == math.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        total = float(sum(float(np.sum(np.abs(g) ** p)) for g in grads) ** (1.0 / p))
    c = min(1.0, max_norm / (total + 1e-6))
    if c < 1.0:
        for g in grads:
            g *= g.dtype.type(c)
    return total


__all__ = ["clip_grad_norm_"]
