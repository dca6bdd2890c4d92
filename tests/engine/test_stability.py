"""Extreme inputs (|x| up to 1e4, float32 and float64): finite values and gradients, no warnings.

pytest turns warnings into errors; on top of that every test runs under
``np.errstate(over="raise", divide="raise", invalid="raise")`` so an overflow, a log(0) or a
0/0 anywhere fails even if it would only have been a silent NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from nnscratch.engine.layers import log_softmax, sigmoid, softmax

FAST = settings(max_examples=30, deadline=None)
DTYPES = [np.float32, np.float64]
BIG = 1e4


@pytest.fixture(autouse=True)
def strict_floating_point():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        yield


def extreme(dtype, shape) -> st.SearchStrategy:
    """Arrays mixing huge magnitudes, the exact extremes and ordinary values."""
    width = 32 if dtype == np.float32 else 64
    elements = st.one_of(
        st.floats(-BIG, BIG, width=width),
        st.sampled_from([-BIG, BIG, 0.0, -700.0, 700.0, 90.0, -90.0]),
    )
    return arrays(dtype, shape, elements=elements)


shapes = st.tuples(st.integers(1, 4), st.integers(1, 5))


def assert_finite(*arrays_: np.ndarray) -> None:
    for a in arrays_:
        assert np.all(np.isfinite(a)), a


# -- activations --------------------------------------------------------------------------------
@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", [ns.Sigmoid, ns.Tanh, ns.ReLU, lambda: ns.LeakyReLU(0.1), ns.Softmax])
def test_activations_stay_finite(make, dtype, data, shape):
    z = data.draw(extreme(dtype, shape))
    layer = make()
    a = layer.forward(z)
    g = layer.backward(np.ones_like(a))
    assert a.dtype == dtype and g.dtype == dtype
    assert_finite(a, g)


@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_matches_the_textbook_formula_and_saturates(dtype, data, shape):
    z = data.draw(extreme(dtype, shape))
    a = sigmoid(z)
    assert np.all((a >= 0) & (a <= 1))
    z64 = z.astype(np.float64)
    # reference in float64: 1/(1+e^{-z}) for z >= 0 and e^{z}/(1+e^{z}) for z < 0, no overflow
    e = np.exp(-np.abs(z64))
    reference = np.where(z64 >= 0, 1 / (1 + e), e / (1 + e))
    np.testing.assert_allclose(a, reference, atol=2 * np.finfo(dtype).eps)
    np.testing.assert_array_equal(sigmoid(np.array([-BIG, BIG], dtype=dtype)), [0.0, 1.0])


@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_and_log_sum_exp(dtype, data, shape):
    z = data.draw(extreme(dtype, shape))
    p = softmax(z, axis=1)
    logp = log_softmax(z, axis=1)
    assert p.dtype == dtype and logp.dtype == dtype
    assert_finite(p, logp)
    assert np.all(logp <= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=10 * np.finfo(dtype).eps)
    z64 = z.astype(np.float64)
    lse = np.logaddexp.reduce(z64, axis=1, keepdims=True)  # NumPy's own stable log-sum-exp
    np.testing.assert_allclose(logp, z64 - lse, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)


def test_log_softmax_of_huge_gaps_is_exact():
    z = np.array([[BIG, -BIG, 0.0]])
    np.testing.assert_allclose(log_softmax(z), [[0.0, -2 * BIG, -BIG]])
    np.testing.assert_allclose(softmax(z), [[1.0, 0.0, 0.0]])


# -- losses --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_predictions_exactly_0_and_1(dtype, reduction):
    p = np.array([[0.0], [1.0], [0.0], [1.0], [0.5]], dtype=dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    loss = ns.BCELoss(reduction=reduction)
    value = loss(p, y)
    grad = loss.backward()
    assert np.isfinite(value) and grad.dtype == dtype
    assert_finite(grad)
    # as PyTorch: each log is clamped at -100, so a confident mistake costs exactly 100
    expected = 100.0 + 100.0 + np.log(2.0)
    assert value == pytest.approx(expected / 5 if reduction == "mean" else expected, rel=1e-6)
    assert grad[0, 0] == 0 and grad[1, 0] == 0  # right and certain: nothing to learn
    assert grad[2, 0] < 0 < grad[3, 0]  # wrong and certain: a large push the right way


@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_through_a_saturated_sigmoid(dtype, data, shape):
    z = data.draw(extreme(dtype, shape))
    y = data.draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    act, loss = ns.Sigmoid(), ns.BCELoss()
    value = loss(act.forward(z), y)
    grad = act.backward(loss.backward())
    assert np.isfinite(value) and 0 <= value <= 100 * (1 + 1e-6)  # each term is clamped at 100
    assert_finite(grad)


@FAST
@given(data=st.data(), shape=shapes)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_is_exact_for_huge_logits(reduction, dtype, data, shape):
    z = data.draw(extreme(dtype, shape))
    y = data.draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0])))
    loss = ns.BCEWithLogitsLoss(reduction=reduction)
    value = loss(z, y)
    grad = loss.backward()
    assert grad.dtype == dtype
    assert_finite(grad)
    z64 = z.astype(np.float64)
    # -[y log σ(z) + (1-y) log(1-σ(z))] = logaddexp(0, z) - y z, exact for any z
    per_element = np.logaddexp(0.0, z64) - y * z64
    expected = per_element.sum() / (z.size if reduction == "mean" else 1)
    assert value == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12, abs=1e-6)
    assert np.all(np.abs(grad) <= (1.0 / z.size if reduction == "mean" else 1.0) + 1e-7)


@FAST
@given(data=st.data(), n=st.integers(1, 4), c=st.integers(2, 5))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["index", "prob"])
def test_cross_entropy_on_huge_logits(kind, dtype, data, n, c):
    z = data.draw(extreme(dtype, (n, c)))
    labels = data.draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    target = labels if kind == "index" else np.eye(c)[labels] * 0.9 + 0.1 / c
    loss = ns.CrossEntropyLoss()
    value = loss(z, target)
    grad = loss.backward()
    assert grad.dtype == dtype
    assert np.isfinite(value) and value >= 0
    assert_finite(grad)
    rows = np.eye(c)[labels] if kind == "index" else target
    z64 = z.astype(np.float64)
    expected = -(rows * (z64 - np.logaddexp.reduce(z64, axis=1, keepdims=True))).sum() / n
    assert value == pytest.approx(expected, rel=1e-5 if dtype == np.float32 else 1e-12, abs=1e-6)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-6)  # Σ_j (p_j - y_j) = 0 per row


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_on_probabilities_with_exact_zeros(dtype):
    # a Softmax output saturated to exactly 0 and 1: log(0) is avoided by clamping at the
    # smallest normal number, and the gradient through Softmax stays finite
    z = np.array([[BIG, -BIG, 0.0], [0.0, 0.0, 0.0]], dtype=dtype)
    act, loss = ns.Softmax(), ns.CrossEntropyLoss(from_logits=False)
    value = loss(act.forward(z), [1, 2])
    grad = act.backward(loss.backward())
    assert np.isfinite(value) and value > 0
    assert_finite(grad)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", [ns.MSELoss, ns.L2Loss])
def test_regression_losses_on_large_values(make, dtype):
    pred = np.array([[BIG], [-BIG], [0.0]], dtype=dtype)
    target = np.array([-BIG, BIG, 0.0])
    loss = make()
    assert np.isfinite(loss(pred, target))
    assert_finite(loss.backward())


# -- whole networks --------------------------------------------------------------------------------
@FAST
@given(data=st.data())
@pytest.mark.parametrize("dtype", DTYPES)
def test_network_forward_and_backward_with_extreme_inputs(dtype, data):
    x = data.draw(extreme(dtype, (3, 4)))
    model = ns.Sequential(
        ns.Linear(4, 5, dtype=dtype, rng=0), ns.Tanh(), ns.Linear(5, 3, dtype=dtype, rng=1), ns.Softmax()
    )
    out = model(x)
    loss = ns.CrossEntropyLoss(from_logits=False)
    value = loss(out, [0, 1, 2])
    model.zero_grad()
    dx = model.backward(loss.backward())
    assert np.isfinite(value) and out.dtype == dtype
    assert_finite(out, dx, *(p.grad for p in model.parameters()))


def test_training_on_unscaled_inputs_does_not_warn(rng):
    X = rng.normal(size=(32, 2)) * BIG
    y = (X[:, 0] > 0).astype(float)
    model = ns.Sequential(ns.Linear(2, 4, rng=0), ns.Sigmoid(), ns.Linear(4, 1, rng=1), ns.Sigmoid())
    history = ns.fit(model, X, y, loss=ns.BCELoss(), optimizer=ns.SGD(model.parameters(), lr=0.1), epochs=20)
    assert all(np.isfinite(history["loss"]))
