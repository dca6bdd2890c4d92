"""Float64 finite-difference checks of every loss, every target kind and both reductions.

Also checks the values against the textbook formulas, and that the unfused paths
(Softmax + CrossEntropyLoss(from_logits=False), Sigmoid + BCELoss) give the fused gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns

TOL = 1e-6
FAST = settings(max_examples=25, deadline=None)
REDUCTIONS = ["mean", "sum"]

sizes = st.integers(1, 5)
values = st.floats(-4.0, 4.0, width=64)
probs = st.floats(0.05, 0.95, width=64)


def assert_passes(report: ns.GradcheckReport) -> None:
    assert report, str(report)
    assert report.max_error < TOL
    assert [c.name for c in report.checks] == ["pred"]


def reduce(per_element: np.ndarray, reduction: str, n: int | None = None) -> float:
    """Sum, or mean over ``n`` (all elements by default)."""
    total = float(per_element.sum())
    if reduction == "sum":
        return total
    return total / (per_element.size if n is None else n)


# -- regression losses ----------------------------------------------------------------------------
@FAST
@given(shape=st.tuples(sizes, sizes), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction, shape, seed, data):
    pred = data.draw(arrays(np.float64, shape, elements=values))
    target = data.draw(arrays(np.float64, shape, elements=values))
    loss = ns.MSELoss(reduction=reduction)
    assert loss(pred, target) == pytest.approx(reduce((pred - target) ** 2, reduction), rel=1e-12, abs=1e-12)
    assert_passes(ns.gradcheck(loss, pred, target, seed=seed))


@FAST
@given(shape=st.tuples(sizes, sizes), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l2_loss(reduction, shape, seed, data):
    pred = data.draw(arrays(np.float64, shape, elements=values))
    target = data.draw(arrays(np.float64, shape, elements=values))
    loss = ns.L2Loss(reduction=reduction)
    # the homework form: ½ Σ (y - ŷ)², averaged over the N samples (not the elements) for "mean"
    expected = reduce(0.5 * (target - pred) ** 2, reduction, n=shape[0])
    assert loss(pred, target) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert_passes(ns.gradcheck(loss, pred, target, seed=seed))


def test_l2_loss_defaults_to_the_homework_sum():
    assert ns.L2Loss().reduction == "sum"
    assert ns.L2Loss()(np.array([[1.0], [3.0]]), np.array([0.0, 1.0])) == pytest.approx(0.5 * (1 + 4))


# -- binary cross-entropy -------------------------------------------------------------------------
@FAST
@given(n=sizes, k=sizes, soft=st.booleans(), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss(reduction, n, k, soft, seed, data):
    p = data.draw(arrays(np.float64, (n, k), elements=probs))
    y = data.draw(
        arrays(np.float64, (n, k), elements=st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0]))
    )
    loss = ns.BCELoss(reduction=reduction)
    expected = reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    assert loss(p, y) == pytest.approx(expected, rel=1e-12)
    assert_passes(ns.gradcheck(loss, p, y, seed=seed))


@FAST
@given(n=sizes, k=sizes, soft=st.booleans(), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_loss(reduction, n, k, soft, seed, data):
    z = data.draw(arrays(np.float64, (n, k), elements=values))
    y = data.draw(
        arrays(np.float64, (n, k), elements=st.floats(0, 1) if soft else st.sampled_from([0.0, 1.0]))
    )
    loss = ns.BCEWithLogitsLoss(reduction=reduction)
    p = 1 / (1 + np.exp(-z))
    expected = reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction)
    assert loss(z, y) == pytest.approx(expected, rel=1e-10)
    assert_passes(ns.gradcheck(loss, z, y, seed=seed))


def test_bce_accepts_a_flat_target_for_one_output_column():
    p = np.array([[0.2], [0.7], [0.9]])
    y = np.array([0, 1, 1])
    loss = ns.BCELoss()
    assert loss(p, y) == pytest.approx(loss(p, y.reshape(-1, 1)))
    assert loss.backward().shape == (3, 1)


# -- categorical cross-entropy --------------------------------------------------------------------
def draw_target(data, kind: str, n: int, c: int) -> np.ndarray:
    labels = data.draw(arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    if kind == "index":
        return labels
    if kind == "onehot":
        return np.eye(c)[labels]
    raw = data.draw(arrays(np.float64, (n, c), elements=st.floats(0.01, 1.0)))
    return raw / raw.sum(axis=1, keepdims=True)


def as_rows(target: np.ndarray, c: int) -> np.ndarray:
    return np.eye(c)[target] if target.ndim == 1 else target


TARGET_KINDS = ["index", "onehot", "prob"]


@FAST
@given(n=sizes, c=st.integers(2, 5), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("kind", TARGET_KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_on_logits(reduction, kind, n, c, seed, data):
    z = data.draw(arrays(np.float64, (n, c), elements=values))
    y = draw_target(data, kind, n, c)
    loss = ns.CrossEntropyLoss(reduction=reduction)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = reduce(-(as_rows(y, c) * np.log(p)), reduction, n=n)
    assert loss(z, y) == pytest.approx(expected, rel=1e-10)
    assert_passes(ns.gradcheck(loss, z, y, seed=seed))


@FAST
@given(n=sizes, c=st.integers(2, 5), seed=st.integers(0, 2**16), data=st.data())
@pytest.mark.parametrize("kind", TARGET_KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_on_probabilities(reduction, kind, n, c, seed, data):
    p = data.draw(arrays(np.float64, (n, c), elements=probs))
    y = draw_target(data, kind, n, c)
    loss = ns.CrossEntropyLoss(reduction=reduction, from_logits=False)
    expected = reduce(-(as_rows(y, c) * np.log(p)), reduction, n=n)
    assert loss(p, y) == pytest.approx(expected, rel=1e-10)
    assert_passes(ns.gradcheck(loss, p, y, seed=seed))


@FAST
@given(n=sizes, c=st.integers(2, 5), seed=st.integers(0, 2**16), data=st.data())
def test_cross_entropy_with_unnormalised_nonnegative_targets(n, c, seed, data):
    # rows need not sum to 1 (PyTorch allows it): the fused gradient is p·Σy - y
    z = data.draw(arrays(np.float64, (n, c), elements=values))
    y = data.draw(arrays(np.float64, (n, c), elements=st.floats(0.0, 2.0)))
    assert_passes(ns.gradcheck(ns.CrossEntropyLoss(), z, y, seed=seed))


def test_cross_entropy_accepts_float_class_indices_holding_whole_numbers():
    z = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
    loss = ns.CrossEntropyLoss()
    assert loss(z, np.array([1.0, 2.0])) == pytest.approx(loss(z, np.array([1, 2])))


# -- unfused paths give the fused gradients ------------------------------------------------------
@FAST
@given(n=sizes, c=st.integers(2, 5), data=st.data())
@pytest.mark.parametrize("kind", TARGET_KINDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_then_cross_entropy_on_probabilities_equals_fused(reduction, kind, n, c, data):
    z = data.draw(arrays(np.float64, (n, c), elements=values))
    y = draw_target(data, kind, n, c)

    fused = ns.CrossEntropyLoss(reduction=reduction)
    fused_value = fused(z, y)
    fused_grad = fused.backward()

    softmax = ns.Softmax()
    unfused = ns.CrossEntropyLoss(reduction=reduction, from_logits=False)
    unfused_value = unfused(softmax(z), y)
    unfused_grad = softmax.backward(unfused.backward())

    assert unfused_value == pytest.approx(fused_value, rel=1e-10)
    np.testing.assert_allclose(unfused_grad, fused_grad, rtol=1e-9, atol=1e-12)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    scale = 1 / n if reduction == "mean" else 1.0
    np.testing.assert_allclose(fused_grad, (p - as_rows(y, c)) * scale, rtol=1e-9, atol=1e-12)


@FAST
@given(n=sizes, k=sizes, data=st.data())
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sigmoid_then_bce_equals_bce_with_logits(reduction, n, k, data):
    z = data.draw(arrays(np.float64, (n, k), elements=values))
    y = data.draw(arrays(np.float64, (n, k), elements=st.floats(0, 1)))

    fused = ns.BCEWithLogitsLoss(reduction=reduction)
    fused_value = fused(z, y)
    fused_grad = fused.backward()

    sigmoid = ns.Sigmoid()
    unfused = ns.BCELoss(reduction=reduction)
    unfused_value = unfused(sigmoid(z), y)
    unfused_grad = sigmoid.backward(unfused.backward())

    assert unfused_value == pytest.approx(fused_value, rel=1e-10)
    np.testing.assert_allclose(unfused_grad, fused_grad, rtol=1e-8, atol=1e-12)
    scale = 1 / z.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(fused_grad, (1 / (1 + np.exp(-z)) - y) * scale, rtol=1e-9, atol=1e-12)


@FAST
@given(n=sizes, c=st.integers(2, 4), seed=st.integers(0, 2**16), data=st.data())
def test_network_through_a_loss(n, c, seed, data):
    """dL/dx of a whole network under a loss, by central differences of the loss itself."""
    model = ns.Sequential(ns.Linear(3, 4, rng=seed), ns.Tanh(), ns.Linear(4, c, rng=seed + 1))
    x = data.draw(arrays(np.float64, (n, 3), elements=values))
    y = draw_target(data, "index", n, c)
    loss = ns.CrossEntropyLoss()
    loss(model(x), y)
    model.zero_grad()
    dx = model.backward(loss.backward())
    h = 1e-6
    numeric = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        numeric[i] = (loss(model(xp), y) - loss(model(xm), y)) / (2 * h)
    np.testing.assert_allclose(dx, numeric, atol=1e-7)
