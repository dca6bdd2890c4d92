"""Loss functions: ``loss(pred, target) -> float`` then ``loss.backward() -> dL/dpred``.

Semantics (values and gradients) match PyTorch's losses of the same name. Every loss takes
``reduction="mean"`` (PyTorch's default) or ``"sum"``; ``L2Loss`` defaults to ``"sum"``, the
homework form ½·Σ(y − ŷ)².

Targets may be given as shape ``(N,)`` for a network with one output column ``(N, 1)``; any other
mismatch of shapes is an error (PyTorch would silently broadcast ``MSELoss`` — a classic bug).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnscratch.base.errors import LabelError, ShapeError, StateError
from nnscratch.base.validation import as_array, check_choice, check_finite, describe

from .functional import sigmoid

_LOG_FLOOR = -100.0  # PyTorch clamps log(p) at -100 in BCELoss, so log(0) never appears
_BCE_EPS = float(np.float32(1e-12))  # PyTorch's BCELoss gradient floor: 1e-12 as a float32 constant


_SMALLEST_SUBNORMAL = {np.dtype(t): float(np.finfo(t).smallest_subnormal) for t in (np.float32, np.float64)}


def _clamped_log(p: np.ndarray) -> np.ndarray:
    """max(log p, -100), with log 0 = -100 and never evaluated (PyTorch's BCELoss clamp).

    Clamping the log rather than p keeps float32 exact: e^{-100} is a float32 subnormal. p is
    first raised to the smallest subnormal number, whose log (-103.3 in float32, -744.4 in
    float64) is below the clamp: the same values as evaluating log only where p > 0.
    """
    floor = _SMALLEST_SUBNORMAL.get(p.dtype)
    if floor is None:  # other dtypes (float16...): evaluate the log only where p > 0
        out = np.full_like(p, _LOG_FLOOR)
        np.log(p, out=out, where=p > 0)
        return np.maximum(out, _LOG_FLOOR, out=out)
    out = np.maximum(p, floor)
    np.log(out, out=out)
    return np.maximum(out, _LOG_FLOOR, out=out)


class Loss:
    """Base class: validates inputs in ``__call__``, then ``forward`` computes the value."""

    default_reduction = "mean"

    def __init__(self, reduction: str | None = None) -> None:
        self.reduction = check_choice(reduction or self.default_reduction, "reduction", ("mean", "sum"))
        self._cache: Any = None

    def __call__(self, pred: Any, target: Any) -> float:
        pred_arr, target_arr = self.prepare(pred, target)
        return self.forward(pred_arr, target_arr)

    def prepare(self, pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate and convert ``pred`` and ``target`` once; a training loop calls this once
        per dataset and then ``forward`` per batch."""
        pred_arr = as_array(pred, "pred")
        if pred_arr.dtype.kind != "f":
            pred_arr = pred_arr.astype(np.float64)
        check_finite(pred_arr, "pred")
        if pred_arr.size == 0:
            raise ShapeError(f"{type(self).__name__}: pred is empty. Received: {describe(pred_arr)}")
        target_arr = as_array(target, "target")
        check_finite(target_arr, "target")
        return pred_arr, self._prepare_target(pred_arr, target_arr)

    def _prepare_target(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return _match_shape(type(self).__name__, pred, target).astype(pred.dtype, copy=False)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _cached(self) -> Any:
        if self._cache is None:
            raise StateError(
                f"{type(self).__name__}.backward was called before the loss was computed: call "
                "loss_fn(pred, target) first."
            )
        return self._cache

    def _scale(self, pred: np.ndarray) -> float:
        """1/n for reduction='mean' (n = number of elements), 1 for 'sum'."""
        return 1.0 / pred.size if self.reduction == "mean" else 1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


def _match_shape(owner: str, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    if target.shape == pred.shape:
        return target
    if pred.ndim == 2 and pred.shape[1] == 1 and target.shape == (pred.shape[0],):
        return target.reshape(-1, 1)  # y as (N,) for a single-output network
    raise ShapeError(
        f"{owner}: target must have the shape of pred {pred.shape}"
        + (f" (or ({pred.shape[0]},) for one output column)" if pred.ndim == 2 and pred.shape[1] == 1 else "")
        + f". Received: target {describe(target)}"
    )


class MSELoss(Loss):
    r"""Mean squared error, as ``torch.nn.MSELoss``.

    Forward:  L = (1/n) Σ (ŷ - y)²   (mean over all n elements)   or   Σ (ŷ - y)²  (sum)
    Backward: dL/dŷ = 2 (ŷ - y) / n                               or   2 (ŷ - y)
    """

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        diff = pred - target
        self._cache = (diff, self._scale(pred))
        return float(np.vdot(diff, diff) * self._cache[1])

    def backward(self) -> np.ndarray:
        diff, scale = self._cached()
        return diff * (2.0 * scale)


class L2Loss(Loss):
    r"""The homework L2 loss ½·Σ(y - ŷ)².

    Forward:  L = ½ Σ_n Σ_k (ŷ_nk - y_nk)²    (reduction="sum", the default)
              L = (1/N) · ½ Σ_n Σ_k (ŷ_nk - y_nk)²  (reduction="mean": average over the N samples)
    Backward: dL/dŷ = (ŷ - y)   or   (ŷ - y) / N
    """

    default_reduction = "sum"

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        diff = pred - target
        scale = 1.0 / pred.shape[0] if (self.reduction == "mean" and pred.ndim) else 1.0
        self._cache = (diff, scale)
        return float(0.5 * np.vdot(diff, diff) * scale)

    def backward(self) -> np.ndarray:
        diff, scale = self._cached()
        return diff * scale


class BCELoss(Loss):
    r"""Binary cross-entropy on probabilities, as ``torch.nn.BCELoss``.

    Forward:  ℓ = -[y log p + (1 - y) log(1 - p)],  each log clamped at -100 (so log 0 never
              appears); L = mean or sum of ℓ.
    Backward: dL/dp = (p - y) / max(p (1 - p), ε) · (1/n for mean), ε = 1e-12 as a float32 (PyTorch's)
    Behind a Sigmoid, the product with σ'(z) = p(1 - p) gives the familiar δ = p - y.
    Prefer ``BCEWithLogitsLoss`` on logits: it is exact even when p rounds to 0 or 1.
    """

    def _prepare_target(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        if pred.size and (pred.min() < 0 or pred.max() > 1):
            raise LabelError(
                "BCELoss expects probabilities in [0, 1] as pred (the output of a Sigmoid). "
                f"Received values in [{pred.min():.4g}, {pred.max():.4g}]; for raw scores "
                "(logits) use BCEWithLogitsLoss."
            )
        target = super()._prepare_target(pred, target)
        _check_binary_targets(type(self).__name__, target)
        return target

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        one_minus_p = 1.0 - pred  # kept: backward needs p(1 - p)
        log_p = _clamped_log(pred)
        log_1mp = _clamped_log(one_minus_p)
        total = -(np.vdot(target, log_p) + np.vdot(1.0 - target, log_1mp))
        scale = self._scale(pred)
        self._cache = (pred, target, scale, one_minus_p)
        return float(total * scale)

    def backward(self) -> np.ndarray:
        p, y, scale, one_minus_p = self._cached()
        denom = p * one_minus_p
        np.maximum(denom, _BCE_EPS, out=denom)
        grad = p - y
        grad /= denom
        grad *= scale
        return grad


class BCEWithLogitsLoss(Loss):
    r"""Sigmoid + binary cross-entropy in one stable step, as ``torch.nn.BCEWithLogitsLoss``.

    Forward:  ℓ = max(z, 0) - z·y + log(1 + e^{-|z|})      (= -[y log σ(z) + (1-y) log(1-σ(z))])
    Backward: dL/dz = σ(z) - y     (· 1/n for mean) — the fused gradient: σ'(z) cancels.
    """

    def _prepare_target(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        target = super()._prepare_target(pred, target)
        _check_binary_targets(type(self).__name__, target)
        return target

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        z = pred
        loss = np.maximum(z, 0.0) - z * target + np.log1p(np.exp(-np.abs(z)))
        self._cache = (z, target, self._scale(pred))
        return float(loss.sum() * self._cache[2])

    def backward(self) -> np.ndarray:
        z, y, scale = self._cached()
        return (sigmoid(z) - y) * scale


def _check_binary_targets(owner: str, target: np.ndarray) -> None:
    if target.size and (target.min() < 0 or target.max() > 1):
        raise LabelError(
            f"{owner} expects targets in [0, 1] (binary labels or probabilities). Received values "
            f"in [{target.min():.4g}, {target.max():.4g}]; for more than two classes use a softmax "
            "output with CrossEntropyLoss."
        )


class CrossEntropyLoss(Loss):
    r"""Softmax cross-entropy, as ``torch.nn.CrossEntropyLoss`` (logits by default).

    Targets: class indices ``(N,)`` (ints, or floats holding whole numbers), or one-hot /
    probability rows ``(N, C)``. Sequences: pred ``(N, T, C)`` (one row of scores per position,
    as a transformer outputs them) with targets ``(N, T)`` or ``(N, T, C)``; each position is a
    row, and the mean is over the N·T positions (PyTorch's loss on the (N, C, T) transpose).

    Forward:  p = softmax(z);  ℓ_n = -Σ_k y_nk log p_nk  (computed as log_softmax: no log 0);
              L = (1/N) Σ_n ℓ_n (mean over samples)  or  Σ_n ℓ_n (sum)
    Backward: dL/dz = (p - y) / N   — the fused gradient, valid because p is the softmax of the
              same z: dℓ/dz_j = Σ_k (-y_k/p_k) p_k(δ_kj - p_j) = p_j Σ_k y_k - y_j = p_j - y_j
              when each target row sums to 1 (in general p_j·Σ_k y_k - y_j, which is what we use).
              p = e / Σ_k e_k with e = exp(z - max z) kept from the forward pass, not recomputed.

    With ``from_logits=False`` the input is already a probability row (the output of a Softmax
    layer): ℓ = -Σ y log p and dL/dp = -y / p · (1/N); through Softmax.backward this gives the
    same gradient as the fused path.
    """

    def __init__(self, reduction: str | None = None, *, from_logits: bool = True) -> None:
        super().__init__(reduction)
        self.from_logits = bool(from_logits)
        self._rows_cache: np.ndarray | None = None
        self._ones_cache: np.ndarray | None = None
        self._shape: tuple[int, ...] = ()

    def _prepare_target(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        if pred.ndim == 3 and target.shape[:2] == pred.shape[:2]:  # sequences: a row per position
            return self._prepare_target(*_positions_as_rows(pred, target)).reshape(target.shape)
        if pred.ndim == 3:
            raise ShapeError(
                f"CrossEntropyLoss: for sequence scores {pred.shape} the target must be class indices "
                f"{pred.shape[:2]} or one-hot rows {pred.shape}. Received: {describe(target)}"
            )
        if pred.ndim != 2:
            raise ShapeError(
                f"CrossEntropyLoss expects pred of shape (N, C): one row of class scores per "
                f"sample, or (N, T, C) for sequences. Received: {describe(pred)}"
            )
        n, c = pred.shape
        if not self.from_logits and pred.size and (pred.min() < 0 or pred.max() > 1):
            raise LabelError(
                "CrossEntropyLoss(from_logits=False) expects probabilities in [0, 1] (a Softmax "
                f"output). Received values in [{pred.min():.4g}, {pred.max():.4g}]."
            )
        if target.ndim == 1:
            if target.shape[0] != n:
                raise ShapeError(
                    f"CrossEntropyLoss: class-index target must have shape ({n},). "
                    f"Received: {describe(target)}"
                )
            if target.dtype.kind == "f" and not np.array_equal(target, np.round(target)):
                first = int(np.flatnonzero(target != np.round(target))[0])
                raise LabelError(
                    "CrossEntropyLoss: a 1-D target holds class indices, which must be whole "
                    "numbers; for probabilities pass an (N, C) array. "
                    f"Received: target[{first}]={float(target[first])!r}"
                )
            idx = target.astype(np.intp)
            if n and (idx.min() < 0 or idx.max() >= c):
                raise LabelError(
                    f"CrossEntropyLoss: class indices must be in [0, {c - 1}] for a network with "
                    f"{c} outputs. Received labels in [{idx.min()}, {idx.max()}]."
                )
            return idx
        if target.shape != pred.shape:
            raise ShapeError(
                f"CrossEntropyLoss: target must be class indices ({n},) or one-hot/probability rows "
                f"{pred.shape}. Received: {describe(target)}"
            )
        if target.size and target.min() < 0:
            raise LabelError(
                f"CrossEntropyLoss: probability targets must be >= 0. Received: min value {target.min():.4g}"
            )
        return target.astype(pred.dtype, copy=False)

    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        shape = pred.shape
        if pred.ndim == 3:  # sequences: the N·T positions are the rows (views, no copy)
            pred, target = _positions_as_rows(pred, target)
        value = self._forward_rows(pred, target)
        self._shape = shape
        return value

    def _forward_rows(self, pred: np.ndarray, target: np.ndarray) -> float:
        n, c = pred.shape
        scale = 1.0 / n if (self.reduction == "mean" and n) else 1.0
        e = sums = picked = None
        if target.ndim == 1:  # flat positions n·C + y_n of each row's target entry
            picked = self._rows(n) * c + target
        if self.from_logits:
            # log_softmax, keeping e = exp(z - max z) and its row sums for backward's softmax.
            # Row maxima and sums of a few columns: NumPy reduces along a short last axis row by
            # row, so the max is taken over the first axis of zᵀ and the sums are e·1 (BLAS).
            row_max = np.ascontiguousarray(pred.T).max(axis=0) if n else np.zeros(0, pred.dtype)
            shifted = pred - row_max[:, None]
            e = np.exp(shifted)
            sums = np.dot(e, self._ones(c, e.dtype))
            log_sums = np.log(sums)
            if picked is not None:  # only the target entries of log p are needed
                total = log_sums.sum() - shifted.take(picked).sum()
            else:
                shifted -= log_sums[:, None]
                total = -np.vdot(target, shifted)
        else:
            logp = np.log(np.maximum(pred, np.finfo(pred.dtype).tiny))
            if picked is not None:
                total = -logp.take(picked).sum()
            else:
                total = -np.vdot(target, logp)
        self._cache = (pred, target, scale, e, sums, picked)
        return float(total * scale)

    def backward(self) -> np.ndarray:
        return self._backward_rows().reshape(self._shape)

    def _backward_rows(self) -> np.ndarray:
        pred, target, scale, e, sums, picked = self._cached()
        if self.from_logits:
            grad = e / sums[:, None]  # softmax(z), from what forward computed
            if picked is not None:
                grad.reshape(-1)[picked] -= 1.0  # grad is new and contiguous: a view
            else:
                grad *= target.sum(axis=1, keepdims=True)
                grad -= target
        else:
            p = np.maximum(pred, np.finfo(pred.dtype).tiny)
            if picked is not None:
                grad = np.zeros_like(pred)
                grad.reshape(-1)[picked] = -1.0 / p.take(picked)
            else:
                grad = -target / p
        grad *= scale
        return grad

    def _ones(self, c: int, dtype: np.dtype) -> np.ndarray:
        """C ones of ``dtype``, kept between calls (row sums as a matrix-vector product)."""
        ones = self._ones_cache
        if ones is None or ones.shape[0] != c or ones.dtype != dtype:
            ones = self._ones_cache = np.ones(c, dtype=dtype)
        return ones

    def _rows(self, n: int) -> np.ndarray:
        """0, 1, ..., n-1, kept between calls (used to pick each row's target column)."""
        rows = self._rows_cache
        if rows is None or rows.shape[0] != n:
            rows = self._rows_cache = np.arange(n)
        return rows


def _positions_as_rows(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, C) scores and (N, T) or (N, T, C) targets as N·T rows."""
    n, t, c = pred.shape
    return pred.reshape(n * t, c), target.reshape(n * t, *target.shape[2:])


__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "L2Loss", "Loss", "MSELoss"]
