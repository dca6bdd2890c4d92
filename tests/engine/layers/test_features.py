"""``Features``: the TensorFlow Playground's input transforms as a layer, with a hand-derived backward."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from nnscratch.base.errors import HyperparameterError, ShapeError
from nnscratch.engine.layers.features import FEATURE_FORMS, PLAYGROUND_FEATURES, parse_feature

values = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False, width=64)


def feature_names(n_in: int) -> st.SearchStrategy[list[str]]:
    """Distinct feature names over columns 1..n_in, of every form."""
    col = st.integers(1, n_in)
    one = st.one_of(
        col.map(lambda i: f"x{i}"),
        col.map(lambda i: f"x{i}^2"),
        st.tuples(col, col).map(lambda ij: f"x{min(ij)}*x{max(ij)}"),
        col.map(lambda i: f"sin(x{i})"),
        col.map(lambda i: f"cos(x{i})"),
    )
    return st.lists(one, min_size=1, max_size=8, unique=True)


def test_the_playground_features_by_formula():
    x = np.array([[0.5, -2.0], [1.5, 3.0]])
    out = ns.Features()(x)
    x1, x2 = x[:, 0], x[:, 1]
    expected = np.column_stack([x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1), np.sin(x2)])
    np.testing.assert_array_equal(out, expected)
    assert ns.Features().features == PLAYGROUND_FEATURES and ns.Features().out_features == 7


def test_backward_by_formula():
    x = np.array([[0.5, -2.0]])
    layer = ns.Features(["x1^2", "x1*x2", "cos(x2)", "x1*x1"])
    layer(x)
    g = np.array([[1.0, 2.0, 3.0, 4.0]])
    x1, x2 = 0.5, -2.0
    expected = [1.0 * 2 * x1 + 2.0 * x2 + 4.0 * 2 * x1, 2.0 * x1 - 3.0 * np.sin(x2)]
    np.testing.assert_allclose(layer.backward(g), [expected], rtol=1e-15)
    assert layer.backward(g, input_grad=False) is None


@settings(max_examples=40, deadline=None)
@given(
    n_in=st.integers(1, 4),
    lead=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_gradcheck_for_any_features_and_leading_dims(n_in, lead, seed, data):
    names = data.draw(feature_names(n_in))
    x = data.draw(arrays(np.float64, (*lead, n_in), elements=values))
    layer = ns.Features(names, in_features=n_in)
    report = ns.gradcheck(layer, x, seed=seed)
    assert report and report.max_error < 1e-6, str(report)
    assert [c.name for c in report.checks] == ["input"]
    assert layer(x).shape == (*lead, len(names))


def test_float32_stays_float32_and_ints_become_float64():
    layer = ns.Features(["x1*x2", "sin(x1)"])
    assert layer(np.ones((2, 2), dtype=np.float32)).dtype == np.float32
    assert layer(np.array([[1, 2]])).dtype == np.float64


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("X1", "x1"),
        (" x2 ^ 2 ", "x2^2"),
        ("x1**2", "x1^2"),
        ("x1²", "x1^2"),
        ("X2 * X1", "x1*x2"),
        ("x1x2", "x1*x2"),
        ("SIN(X2)", "sin(x2)"),
        ("cos(x10)", "cos(x10)"),
    ],
)
def test_spellings_are_read_and_kept_canonical(given, canonical):
    assert parse_feature(given).name == canonical


@pytest.mark.parametrize("bad", ["x0", "x1^3", "tan(x1)", "x", "", "x1+x2", "sin x1"])
def test_unknown_features_name_the_forms(bad):
    with pytest.raises(HyperparameterError, match="expected one of the forms") as info:
        ns.Features([bad])
    assert all(form in str(info.value) for form in FEATURE_FORMS)


def test_other_refusals():
    with pytest.raises(HyperparameterError, match="non-empty list"):
        ns.Features([])
    with pytest.raises(HyperparameterError, match="non-empty list"):
        ns.Features("x1")
    with pytest.raises(HyperparameterError, match=r"repeat.*'x1\*x2'"):
        ns.Features(["x1*x2", "x2*x1"])
    with pytest.raises(HyperparameterError, match="in_features=2"):
        ns.Features(["x3"], in_features=2)
    with pytest.raises(ShapeError, match=r"expects input of shape \(\.\.\., 2\)"):
        ns.Features(["x1", "x2"])(np.ones((3, 3)))


def test_in_features_defaults_to_the_largest_column_read():
    assert ns.Features(["sin(x3)"]).in_features == 3
    assert ns.Features(["x1"], in_features=4)(np.ones((2, 4))).shape == (2, 1)


@pytest.mark.torch
def test_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, g = rng.normal(size=(6, 2)), rng.normal(size=(6, 7))
    layer = ns.Features()
    out = layer(x)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    a, b = xt[:, 0], xt[:, 1]
    outt = torch.stack([a, b, a**2, b**2, a * b, torch.sin(a), torch.sin(b)], dim=1)
    outt.backward(torch.tensor(g))
    np.testing.assert_allclose(out, outt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_squared_features_make_circles_linearly_separable():
    """The derivation page's claim: Linear + Sigmoid on (x1², x2²) separates the circles."""
    data = ns.datasets.load("circles", n_samples=200, noise=0.05, seed=0)
    model = ns.Sequential(ns.Features(["x1^2", "x2^2"]), ns.Linear(2, 1, rng=0), ns.Sigmoid())
    ns.fit(
        model,
        data.X,
        data.y,
        loss=ns.BCELoss(),
        optimizer=ns.Adam(model.parameters(), lr=0.1),
        epochs=300,
        progress=False,
        seed=0,
    )
    assert (model.predict(data.X).ravel() == data.y).mean() >= 0.97
