"""Casting inputs to a model's dtype: finite values too large for it are named as such."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnscratch as ns
from nnscratch.base.errors import NonFiniteError
from nnscratch.base.validation import as_array

F32_MAX = float(np.finfo(np.float32).max)


def test_finite_values_beyond_float32_are_an_overflow_not_a_non_finite_input():
    model = ns.Sequential(ns.Linear(2, 1, dtype=np.float32, rng=0))
    X = np.array([[0.5, 1.0], [2.0, -1e200], [1e100, 0.0]])
    with pytest.raises(NonFiniteError) as info:
        model(X)
    message = str(info.value)
    assert "non-finite" not in message
    assert "2 value(s) too large for float32" in message
    assert "largest magnitude is 1e+200" in message and "index (1, 1)" in message
    assert "float32 holds at most 3.40282e+38" in message and "dtype=float64" in message


def test_fit_on_a_float32_model_names_the_overflow(recwarn):
    model = ns.Sequential(ns.Linear(2, 1, dtype=np.float32, rng=0), ns.Sigmoid())
    X, y = np.array([[1e200, 1.0], [0.0, 1.0]]), np.array([[1.0], [0.0]])
    with pytest.raises(NonFiniteError, match=r"too large for float32: the largest magnitude is 1e\+200"):
        ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.1), epochs=1,
               progress=False)  # fmt: skip
    assert not [w for w in recwarn if "overflow" in str(w.message)]  # no NumPy cast warning either


def test_real_nan_and_inf_are_still_non_finite():
    model = ns.Linear(2, 1, dtype=np.float32, rng=0)
    for bad in (np.nan, np.inf):
        with pytest.raises(NonFiniteError, match="non-finite"):
            model(np.array([[bad, 1.0]]))


@given(st.floats(min_value=-F32_MAX, max_value=F32_MAX))
def test_values_within_float32_cast_without_complaint(value):
    out = as_array(np.array([value, -value]), "x", np.dtype(np.float32))
    assert out.dtype == np.float32 and np.isfinite(out).all()


@given(st.floats(min_value=F32_MAX * 1.0001, max_value=1e308), st.booleans())
def test_any_finite_value_beyond_float32_is_refused_with_its_magnitude(value, negative):
    value = -value if negative else value
    with pytest.raises(NonFiniteError, match=re.escape(f"largest magnitude is {abs(value):.6g} ")):
        as_array(np.array([[1.0, value]]), "X", np.dtype(np.float32))
