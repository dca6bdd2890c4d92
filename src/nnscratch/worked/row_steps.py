"""Shared pieces of the worked examples written with one row per sample (or per position).

The dense-network examples write samples as columns (``z = W a + b``), as textbooks on MLPs do.
Attention and layer normalisation are written the way their papers and PyTorch write them: a
matrix with one row per token or sample, ``Q = X W_Qᵀ + b_Q``, so the numbers shown are the
engine's arrays unchanged. This module holds what both need: the loss and its gradient, row
vectors, and the ``Answers`` summary.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from nnscratch.base.errors import ConfigError, HyperparameterError, ShapeError
from nnscratch.base.validation import as_array, describe
from nnscratch.engine.losses import L2Loss, Loss, MSELoss
from nnscratch.engine.names import LOSS_NAMES, make_loss

from .build_loss import describe_loss
from .mathfmt import Mat, T, Tex
from .steps import Note, Section, Step

MAX_ROWS = 8  # explain writes out every number: sequences and batches this long at most
MAX_COLS = 8

YHAT = Tex(r"\hat{Y}", "Ŷ")
TARGET = Tex("Y", "Y")
LOSS = Tex("L", "L")
DYHAT = Tex(r"\frac{\partial L}{\partial \hat{Y}}", "∂L/∂Ŷ")


def grad(of: Tex) -> Tex:
    """``∂L/∂of``."""
    return Tex(r"\frac{\partial L}{\partial " + of.latex + "}", f"∂L/∂{of.text}")


def row(vector: np.ndarray | None) -> np.ndarray:
    """A 1-D vector shown as a row (1, k): it is added to every row of a matrix."""
    return np.asarray(vector, dtype=np.float64).reshape(1, -1)


def check_options(lr: Any, optimizer: Any, layout: str, what: str) -> None:
    """These examples stop at the gradients and write weights as PyTorch does."""
    if lr is not None or optimizer is not None:
        raise HyperparameterError(
            f"explain works the forward and backward pass of {what}; the parameter update (lr, "
            "optimizer) is worked for dense networks only. "
            f"Received: lr={lr!r}, optimizer={optimizer!r}"
        )
    if layout != "out_in":
        raise HyperparameterError(
            f"explain writes the weights of {what} as PyTorch stores them, (out, in), with one row per "
            f"sample: layout must be 'out_in'. Received: layout={layout!r}"
        )


def resolve(loss: Any) -> Loss:
    """A private copy of ``loss``: an nnscratch Loss or a name (``"mse"``, ``"l2"``...)."""
    if isinstance(loss, Loss):
        return copy.deepcopy(loss)
    if isinstance(loss, str):
        return make_loss(loss)
    raise HyperparameterError(
        "loss must be an nnscratch loss (e.g. ns.MSELoss()) or the name of one "
        f"({LOSS_NAMES.listing()}). Received: loss={loss!r}"
    )


def small_matrix(arr: np.ndarray, name: str, expected: str) -> None:
    """Refuse arrays too large to write out by hand."""
    if arr.shape[0] > MAX_ROWS or arr.shape[-1] > MAX_COLS:
        raise ShapeError(
            f"explain writes out every number, so {name} may have at most {MAX_ROWS} rows and "
            f"{MAX_COLS} columns ({expected}). Received: {describe(arr)}"
        )


def target_like(y: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The target as an array of the output's shape (any shape with the same entries, in order)."""
    if y is None:
        raise ConfigError(
            "explain needs the target y to compute the loss and the gradients. Received: y=None"
        )
    arr = np.asarray(as_array(y, "y"), dtype=np.float64)
    if arr.size != int(np.prod(shape)):
        raise ShapeError(
            f"y must have one target per output entry, shape {shape[-2:]} (or {shape}). "
            f"Received: {describe(arr)}"
        )
    return arr.reshape(shape)


def loss_steps(loss_fn: Loss, pred: np.ndarray, target: np.ndarray, value: float, dL: np.ndarray) -> Section:
    """``L`` and ``∂L/∂Ŷ``: the formula for MSE and L2, the engine's numbers for any loss.

    ``pred``, ``target`` and ``dL`` are shown as 2-D (rows, features); ``value`` and ``dL`` are the
    engine's own results.
    """
    sec = Section("Loss")
    n, rows = pred.size, pred.shape[0]
    diff = (Mat(pred), T(" - "), Mat(target))
    if isinstance(loss_fn, MSELoss):
        mean = loss_fn.reduction == "mean" and n > 1
        pre_l, pre_t = (rf"\frac{{1}}{{{n}}}", f"(1/{n})·") if mean else ("", "")
        coef_l, coef_t = (rf"\frac{{2}}{{{n}}}", f"(2/{n})·") if mean else ("2", "2·")
        symbolic = (T(pre_l + r"\sum \left(", pre_t + "Σ("), YHAT, T(" - "), TARGET, T(r"\right)^2", ")²"))
        substituted = (T(pre_l + r"\sum \left(", pre_t + "Σ("), *diff, T(r"\right)^2", ")²"))
        d_sym = (T(coef_l + r"\left(", coef_t + "("), YHAT, T(" - "), TARGET, T(r"\right)", ")"))
        d_sub = (T(coef_l + r"\left(", coef_t + "("), *diff, T(r"\right)", ")"))
        note = Note(
            f"Mean over all $n = {n}$ entries, as PyTorch's `MSELoss`." if mean else "Over all entries.",
            f"Mean over all n = {n} entries, as PyTorch's MSELoss." if mean else "Over all entries.",
        )
    elif isinstance(loss_fn, L2Loss):
        scale = rows if loss_fn.reduction == "mean" else 1
        pre_l = rf"\frac{{1}}{{{2 * scale}}}" if scale > 1 else r"\frac{1}{2}"
        pre_t = f"1/{2 * scale}·" if scale > 1 else "½·"
        symbolic = (T(pre_l + r"\sum \left(", pre_t + "Σ("), YHAT, T(" - "), TARGET, T(r"\right)^2", ")²"))
        substituted = (T(pre_l + r"\sum \left(", pre_t + "Σ("), *diff, T(r"\right)^2", ")²"))
        d_pre = (rf"\frac{{1}}{{{scale}}}", f"(1/{scale})·") if scale > 1 else ("", "")
        d_sym = (T(d_pre[0] + r"\left(", d_pre[1] + "("), YHAT, T(" - "), TARGET, T(r"\right)", ")"))
        d_sub = (T(d_pre[0] + r"\left(", d_pre[1] + "("), *diff, T(r"\right)", ")"))
        note = Note("The homework L2 loss.", "The homework L2 loss.")
    else:
        name = type(loss_fn).__name__
        symbolic = (T(r"\ell\left(", "ℓ("), YHAT, T(", "), TARGET, T(r"\right)", ")"))
        substituted, d_sym, d_sub = (), (), ()
        note = Note(f"`{name}`, computed by the engine.", f"{name}, computed by the engine.")
    md, txt = describe_loss(loss_fn)
    sec.notes.append(Note(f"Loss: {md}.", f"Loss: {txt}."))
    sec.add(Step("loss", "Loss", LOSS, np.float64(value), symbolic, substituted, notes=[note]))
    sec.add(Step("dL_dyhat", "Gradient of the loss with respect to the output", DYHAT, dL, d_sym, d_sub))
    return sec


def answers(sections: Sequence[Section], keys: Sequence[str]) -> Section:
    """The final numbers only, in the order of ``keys`` (those that exist)."""
    found = {s.key: s for sec in sections for s in sec.steps if s.key}
    sec = Section("Answers")
    for key in keys:
        if key in found:
            s = found[key]
            sec.add(Step(None, s.title, s.lhs, s.value))
    return sec


__all__ = [
    "DYHAT",
    "LOSS",
    "TARGET",
    "YHAT",
    "answers",
    "check_options",
    "grad",
    "loss_steps",
    "resolve",
    "row",
    "small_matrix",
    "target_like",
]
