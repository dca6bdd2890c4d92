"""The value of the weight penalties whose gradients the optimizers add: L2 and L1.

An optimizer with ``weight_decay`` = λ₂ and ``l1`` = λ₁ minimises, per parameter θ,

    L(θ) + (λ₂/2)·‖θ‖² + λ₁·‖θ‖₁ = L(θ) + (λ₂/2)·Σ θ² + λ₁·Σ |θ|

by adding λ₂·θ + λ₁·sign(θ) to ∂L/∂θ before its update (see :mod:`.optimizers`: the formulas
are written out in each ``step``). The losses and ``History`` report L alone, as PyTorch does;
:func:`penalty` is the rest, for a report of the regularised objective or a check of the
gradient by finite differences.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from nnscratch.base.validation import check_positive

from ..module import Module
from .groups import as_param_list


def penalty(params: Iterable[Any] | Module, weight_decay: float = 0.0, l1: float = 0.0) -> float:
    """``(weight_decay/2)·Σ θ² + l1·Σ |θ|`` over every element of every parameter in ``params``.

    ``params`` is an iterable of Parameters, one Parameter, or a Module (all its parameters).
    Its gradient is what the optimizers add: ``weight_decay·θ + l1·sign(θ)`` (sign(0) = 0).
    """
    wd = check_positive(weight_decay, "weight_decay", allow_zero=True)
    lam = check_positive(l1, "l1", allow_zero=True)
    total = 0.0
    for p in as_param_list(params):
        theta = np.asarray(p.data, dtype=np.float64)
        total += 0.5 * wd * float(np.sum(theta * theta)) + lam * float(np.sum(np.abs(theta)))
    return total


__all__ = ["penalty"]
