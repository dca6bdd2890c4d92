"""Argument checks shared by the whole library.

Each helper raises one of :mod:`nnscratch.base.errors` with a message that names the argument, says
what was expected and shows what was received (``Received: lr=-1``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import DTypeError, HyperparameterError, NonFiniteError


def describe(x: Any) -> str:
    """A short description of a value for error messages: shape and dtype for arrays."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{x!r}"


def as_array(x: Any, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert ``x`` to a numeric ndarray (cast to ``dtype`` if given) without copying needlessly.

    Raises :class:`DTypeError` for strings, objects, ragged lists and complex numbers.
    """
    if isinstance(x, np.ndarray) and (dtype is None or x.dtype == dtype):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise DTypeError(
                f"{name} must be a numeric array (ragged or non-numeric data cannot be used). "
                f"Received: {name} of type {type(x).__name__}"
            ) from exc
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{name} must hold real numbers (bool, int or float). Received: {describe(arr)}")
    if dtype is not None and arr.dtype != dtype:
        arr = _cast(arr, np.dtype(dtype), name)
    return arr


def _cast(arr: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``arr.astype(dtype)``, refusing finite values too large for ``dtype`` (1e200 in float32
    would become inf and then be reported as a non-finite input, which it was not)."""
    with np.errstate(over="ignore"):  # an overflow is reported below, with the numbers
        out = arr.astype(dtype)
    if dtype.kind != "f" or np.isfinite(out).all():
        return out
    overflow = ~np.isfinite(out) if arr.dtype.kind != "f" else np.isfinite(arr) & ~np.isfinite(out)
    if overflow.any():
        largest = np.abs(arr[overflow].astype(np.float64)).max()
        first = tuple(int(i) for i in np.argwhere(overflow)[0])
        raise NonFiniteError(
            f"{name} holds {int(overflow.sum())} value(s) too large for {dtype}: the largest "
            f"magnitude is {largest:.6g} (the first at index {first}), and {dtype} holds at most "
            f"{float(np.finfo(dtype).max):.6g}. Expected values within the dtype's range: rescale "
            f"(standardise) the data, or use dtype=float64."
        )
    return out


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise :class:`NonFiniteError` if ``x`` holds NaN or infinity, saying where and how many."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = ~np.isfinite(x)
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(
            f"{name} holds {int(bad.sum())} non-finite value(s) (NaN or inf); the first is at "
            f"index {first}: {x[first]}. Expected only finite numbers: clean or impute the data."
        )


def check_positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, checking it is a finite number > 0 (or >= 0)."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise HyperparameterError(f"{name} must be a number. Received: {name}={value!r}") from exc
    if isinstance(value, bool) or not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise HyperparameterError(f"{name} must be a finite number {bound}. Received: {name}={value!r}")
    return number


def check_in_range(
    value: Any, name: str, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """Return ``value`` as a float, checking ``low <= value <= high`` (ends optionally open)."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise HyperparameterError(f"{name} must be a number. Received: {name}={value!r}") from exc
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if isinstance(value, bool) or math.isnan(number) or too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise HyperparameterError(f"{name} must be in {left}{low}, {high}{right}. Received: {name}={value!r}")
    return number


def check_positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, checking it is an integer > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise HyperparameterError(f"{name} must be an integer. Received: {name}={value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise HyperparameterError(f"{name} must be an integer {bound}. Received: {name}={value!r}")
    return int(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """Return ``value``, checking it is one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise HyperparameterError(f"{name} must be one of {options}. Received: {name}={value!r}")
    return value
