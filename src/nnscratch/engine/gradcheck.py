"""Finite-difference gradient checking for modules, losses and user-defined activations.

For a module with output y = f(x; θ) we draw a random upstream gradient G and compare the
hand-derived backward pass with central differences of the scalar s = Σ G ⊙ f(x; θ):

    ∂s/∂u_i ≈ (s(u + h e_i) - s(u - h e_i)) / (2h)       for every entry u_i of x and of each θ.

For a loss, s is the loss value itself and u is the prediction. Everything runs in float64 on a
copy of the module, so the caller's model is untouched.

Error measure: ``|a - n| / max(1, |a|, |n|)`` per entry (relative for entries larger than 1,
absolute below, so round-off on tiny gradients does not read as failure).

Kinks (ReLU at 0, max-pool ties): if an entry disagrees, it is re-estimated with step h/10. If
that estimate agrees with the analytic value, the first step straddled a kink; if the two
estimates disagree with each other the function is not differentiable there and the entry is
counted under ``kinks`` instead of failing. When the two agree with each other but not with the
backward pass, the entry may sit exactly on a kink (a central difference there is the mean of
the left and right slopes, whatever h): it counts as a kink if the one-sided slopes differ and the
backward value lies between them (a subgradient, such as relu'(0) = 0). Anything else is a real
error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnscratch.base.backend import as_generator
from nnscratch.base.errors import NNScratchError
from nnscratch.base.validation import as_array, check_finite

from .losses import Loss
from .module import Module


@dataclass
class ArrayCheck:
    """The comparison for one array (the input, or one named parameter)."""

    name: str
    shape: tuple[int, ...]
    max_error: float = 0.0
    worst_index: tuple[int, ...] | None = None
    analytic: float = 0.0
    numeric: float = 0.0
    checked: int = 0
    kinks: int = 0


@dataclass
class GradcheckReport:
    """Result of :func:`gradcheck`; truthy when every array passes ``tol``."""

    target: str
    tol: float
    checks: list[ArrayCheck] = field(default_factory=list)

    @property
    def max_error(self) -> float:
        return max((c.max_error for c in self.checks), default=0.0)

    @property
    def passed(self) -> bool:
        return self.max_error < self.tol

    def __bool__(self) -> bool:
        return self.passed

    def worst(self) -> ArrayCheck | None:
        return max(self.checks, key=lambda c: c.max_error, default=None)

    def raise_if_failed(self) -> GradcheckReport:
        if not self.passed:
            raise GradcheckError(str(self))
        return self

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"gradcheck of {self.target}: {verdict} (max error {self.max_error:.3e}, tol {self.tol:.0e})"
        ]
        lines.append(f"  {'array':<24}{'shape':<18}{'max error':>12}{'checked':>9}{'kinks':>7}  worst entry")
        for c in self.checks:
            worst = (
                f"{c.worst_index}: backward {c.analytic:.8g} vs numeric {c.numeric:.8g}"
                if c.worst_index is not None
                else "-"
            )
            lines.append(
                f"  {c.name:<24}{c.shape!s:<18}{c.max_error:>12.3e}{c.checked:>9}{c.kinks:>7}  {worst}"
            )
        return "\n".join(lines)


class GradcheckError(NNScratchError, AssertionError):
    """A gradient check failed; the message holds the report."""


def _scaled_error(a: float, n: float) -> float:
    return abs(a - n) / max(1.0, abs(a), abs(n))


def _generator_states(module: Module) -> list[tuple[np.random.Generator, dict]]:
    """Snapshot every random generator a module holds (e.g. Dropout's), so that each forward
    pass of the check draws the same masks."""
    states = []
    for m in module.modules():
        for value in vars(m).values():
            if isinstance(value, np.random.Generator):
                states.append((value, value.bit_generator.state))
    return states


def _compare(
    check: ArrayCheck,
    array: np.ndarray,
    analytic: np.ndarray,
    scalar,
    eps: float,
    tol: float,
    indices: np.ndarray,
) -> None:
    flat = array.reshape(-1)  # a view: writing into it perturbs the array in place
    for i in indices:
        original = flat[i]

        def estimate(h: float, i: int = i, original: float = original) -> float:
            flat[i] = original + h
            plus = scalar()
            flat[i] = original - h
            minus = scalar()
            flat[i] = original
            return (plus - minus) / (2 * h)

        def one_sided(h: float, i: int = i, original: float = original) -> float:
            at = scalar()
            flat[i] = original + h
            step = scalar()
            flat[i] = original
            return (step - at) / h

        a = float(analytic.reshape(-1)[i])
        n = estimate(eps)
        err = _scaled_error(a, n)
        if err >= tol:
            n_small = estimate(eps / 10)
            if _scaled_error(a, n_small) < tol:
                n, err = n_small, _scaled_error(a, n_small)
            elif _scaled_error(n, n_small) >= tol:
                check.kinks += 1
                continue
            else:
                # Both central estimates agree but not with backward: either a real error, or u sits
                # exactly on a kink, where every central difference gives the mean of the one-sided
                # slopes. A kink shows as one-sided slopes that differ, with the backward value one
                # of them or between them (a subgradient, e.g. relu'(0) = 0).
                right, left = one_sided(eps / 10), one_sided(-eps / 10)
                low, high = min(left, right), max(left, right)
                within = low - tol * max(1.0, abs(low)) <= a <= high + tol * max(1.0, abs(high))
                if _scaled_error(left, right) >= tol and within:
                    check.kinks += 1
                    continue
        check.checked += 1
        if check.worst_index is None or err > check.max_error:
            check.max_error = err
            check.worst_index = tuple(int(j) for j in np.unravel_index(i, array.shape))
            check.analytic, check.numeric = a, n


def _describe(target: Module) -> str:
    """The name a report gives its target: the class, plus the module's own ``name`` if it has
    one (``Activation 'relu_sin'``; read by attribute, as activations import this module)."""
    name = getattr(target, "name", None)
    if isinstance(name, str) and name:
        return f"{type(target).__name__} {name!r}"
    return type(target).__name__


def gradcheck(
    target: Module | Loss,
    x: Any,
    y: Any = None,
    *,
    eps: float = 1e-6,
    tol: float = 1e-6,
    seed: int | np.random.Generator | None = 0,
    max_entries: int | None = None,
    check_input: bool = True,
) -> GradcheckReport:
    """Compare ``target``'s hand-derived backward pass with central differences, in float64.

    Parameters
    ----------
    target : Module or Loss
        A layer, activation, whole network, or loss.
    x : array_like
        The input (for a loss: the prediction).
    y : array_like, optional
        The target, for a loss.
    eps : float
        Finite-difference step h.
    tol : float
        Largest accepted error ``|a - n| / max(1, |a|, |n|)``.
    seed : int or Generator
        For the random upstream gradient G and the sampling of entries.
    max_entries : int, optional
        Check at most this many randomly chosen entries per array (all by default).
    check_input : bool
        Also check dL/dx (set False for layers whose input is discrete, such as Embedding).

    Returns
    -------
    GradcheckReport
        Truthy when every checked entry is within ``tol``; ``str(report)`` is a readable table.
    """
    rng = as_generator(seed)
    x64 = np.array(as_array(x, "x"), dtype=np.float64, copy=True)
    check_finite(x64, "x")

    def pick(size: int) -> np.ndarray:
        if max_entries is None or size <= max_entries:
            return np.arange(size)
        return np.sort(rng.choice(size, size=max_entries, replace=False))

    if isinstance(target, Loss):
        loss = target
        _, y_prepared = loss.prepare(x64, y)
        report = GradcheckReport(type(loss).__name__, tol)
        loss.forward(x64, y_prepared)
        analytic = loss.backward()
        check = ArrayCheck("pred", x64.shape)
        _compare(check, x64, analytic, lambda: loss.forward(x64, y_prepared), eps, tol, pick(x64.size))
        report.checks.append(check)
        return report

    if not isinstance(target, Module):
        raise NNScratchError(f"gradcheck takes a Module or a Loss. Received: {target!r}")
    module = target.copy().astype(np.float64)
    generators = _generator_states(module)

    def forward() -> np.ndarray:
        for gen, state in generators:
            gen.bit_generator.state = state
        return module.forward(x64)

    out = forward()
    upstream = rng.standard_normal(out.shape)
    module.zero_grad()
    dx = module.backward(upstream.copy(), input_grad=check_input)
    param_grads = [(name, p, p.grad.copy()) for name, p in module.named_parameters()]

    def scalar() -> float:
        return float(np.vdot(upstream, forward()))

    report = GradcheckReport(_describe(target), tol)
    if check_input:
        check = ArrayCheck("input", x64.shape)
        _compare(check, x64, dx, scalar, eps, tol, pick(x64.size))
        report.checks.append(check)
    for name, p, grad in param_grads:
        check = ArrayCheck(name, p.shape)
        _compare(check, p.data, grad, scalar, eps, tol, pick(p.size))
        report.checks.append(check)
    return report


__all__ = ["ArrayCheck", "GradcheckError", "GradcheckReport", "gradcheck"]
