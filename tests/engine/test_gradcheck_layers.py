"""Float64 finite-difference checks of every layer's hand-derived backward pass.

Hypothesis draws the shapes, batch sizes and values; ``nnscratch.engine.gradcheck`` compares the
backward pass with central differences for the input and every parameter (error < 1e-6).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from nnscratch.engine.gradcheck import ArrayCheck

TOL = 1e-6
FAST = settings(max_examples=25, deadline=None)

values = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False, width=64)
sizes = st.integers(1, 5)


def batch(shape_strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Float64 arrays of a drawn shape with moderate values."""
    return shape_strategy.flatmap(lambda shape: arrays(np.float64, shape, elements=values))


def assert_passes(report: ns.GradcheckReport) -> None:
    assert report, str(report)
    assert report.max_error < TOL
    assert all(c.checked + c.kinks == int(np.prod(c.shape)) for c in report.checks)


# -- Linear ---------------------------------------------------------------------------------------
@FAST
@given(
    lead=st.lists(sizes, min_size=1, max_size=3),
    n_in=sizes,
    n_out=sizes,
    bias=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_linear_gradients_for_any_leading_dims(lead, n_in, n_out, bias, seed, data):
    x = data.draw(arrays(np.float64, (*lead, n_in), elements=values))
    layer = ns.Linear(n_in, n_out, bias=bias, rng=seed)
    report = ns.gradcheck(layer, x, seed=seed)
    assert_passes(report)
    names = [c.name for c in report.checks]
    assert names == (["input", "weight", "bias"] if bias else ["input", "weight"])


def test_linear_float32_layer_is_checked_in_float64():
    layer = ns.Linear(3, 2, dtype=np.float32, rng=0)
    report = ns.gradcheck(layer, np.linspace(-1, 1, 12).reshape(4, 3))
    assert_passes(report)
    assert layer.weight.dtype == np.float32  # the caller's layer is untouched


# -- element-wise activations and softmax --------------------------------------------------------
shapes_2d = st.tuples(sizes, sizes)
shapes_nd = st.lists(sizes, min_size=1, max_size=3).map(tuple)


@FAST
@given(x=batch(shapes_nd), seed=st.integers(0, 2**16))
@pytest.mark.parametrize(
    "make",
    [ns.Sigmoid, ns.Tanh, ns.ReLU, ns.Identity, ns.LeakyReLU, lambda: ns.LeakyReLU(0.3)],
    ids=["sigmoid", "tanh", "relu", "identity", "leaky_relu", "leaky_relu_0.3"],
)
def test_elementwise_activation_gradients(make, x, seed):
    assert_passes(ns.gradcheck(make(), x, seed=seed))


@FAST
@given(slope=st.floats(0.0, 5.0), x=batch(shapes_2d), seed=st.integers(0, 2**16))
def test_leaky_relu_any_slope(slope, x, seed):
    assert_passes(ns.gradcheck(ns.LeakyReLU(slope), x, seed=seed))


@FAST
@given(
    x=batch(st.tuples(sizes, sizes, sizes)), dim=st.sampled_from([-1, 0, 1, 2, -2]), seed=st.integers(0, 99)
)
def test_softmax_gradients_along_any_dim(x, dim, seed):
    assert_passes(ns.gradcheck(ns.Softmax(dim=dim), x, seed=seed))


@FAST
@given(x=batch(shapes_2d), dim=st.sampled_from([-1, 0]), seed=st.integers(0, 99))
def test_softmax_dim_minus1_and_0_on_matrices(x, dim, seed):
    layer = ns.Softmax(dim=dim)
    assert_passes(ns.gradcheck(layer, x, seed=seed))
    out = layer.forward(x)
    np.testing.assert_allclose(out.sum(axis=dim), 1.0, rtol=1e-12)


# -- user-defined activations ---------------------------------------------------------------------
def relu_sin() -> ns.Activation:
    """ReLU(x) + sin(x), the activation of seed 003, with its hand-written derivative."""
    return ns.Activation(
        lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z), name="relu_sin", kinks=(0.0,)
    )


def softplus() -> ns.Activation:
    """log(1 + e^z) in a stable form; its derivative is σ(z)."""
    return ns.Activation(
        lambda z: np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))),
        lambda z: 0.5 * (1 + np.tanh(z / 2)),
        name="softplus",
    )


@FAST
@given(x=batch(shapes_nd), seed=st.integers(0, 2**16))
@pytest.mark.parametrize("make", [relu_sin, softplus], ids=["relu_sin", "softplus"])
def test_user_defined_activation_gradients(make, x, seed):
    assert_passes(ns.gradcheck(make(), x, seed=seed))


def test_relu_sin_forward_matches_its_definition():
    z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_allclose(relu_sin().forward(z), np.maximum(z, 0) + np.sin(z))


# -- whole networks --------------------------------------------------------------------------------
ACTIVATIONS = {
    "sigmoid": ns.Sigmoid,
    "tanh": ns.Tanh,
    "relu": ns.ReLU,
    "leaky": lambda: ns.LeakyReLU(0.1),
    "identity": ns.Identity,
    "relu_sin": relu_sin,
    "softplus": softplus,
}


@settings(max_examples=20, deadline=None)
@given(
    widths=st.lists(sizes, min_size=2, max_size=4),
    acts=st.lists(st.sampled_from(sorted(ACTIVATIONS)), min_size=3, max_size=3),
    n=sizes,
    softmax_head=st.booleans(),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_sequential_networks_mixing_layers(widths, acts, n, softmax_head, seed, data):
    layers: list[ns.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        layers += [ns.Linear(a, b, rng=seed + i), ACTIVATIONS[acts[i % len(acts)]]()]
    if softmax_head:
        layers.append(ns.Softmax())
    model = ns.Sequential(*layers)
    x = data.draw(arrays(np.float64, (n, widths[0]), elements=values))
    report = ns.gradcheck(model, x, seed=seed)
    assert_passes(report)
    expected = ["input"] + [name for name, _ in model.named_parameters()]
    assert [c.name for c in report.checks] == expected


# -- gradcheck itself: it must catch mistakes and tolerate kinks ----------------------------------
class WrongBiasLinear(ns.Linear):
    """A Linear whose backward forgets to sum the bias gradient over the batch."""

    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        self.bias.grad *= 0.5
        return dx


def test_gradcheck_fails_on_a_wrong_derivative_and_names_the_input():
    wrong = ns.Activation(np.sin, lambda z: np.sin(z), name="sin_with_wrong_derivative")
    report = ns.gradcheck(wrong, np.linspace(-2, 2, 10).reshape(2, 5))
    assert not report
    assert report.max_error > 1e-2
    text = str(report)
    assert "FAILED" in text and "input" in text
    assert report.worst().name == "input"
    with pytest.raises(ns.GradcheckError, match="FAILED"):
        report.raise_if_failed()


def test_gradcheck_fails_on_a_wrong_parameter_gradient_and_names_it():
    report = ns.gradcheck(WrongBiasLinear(3, 2, rng=0), np.linspace(-1, 1, 12).reshape(4, 3))
    assert not report
    worst = report.worst()
    assert worst.name == "bias"
    assert "bias" in str(report) and "FAILED" in str(report)
    by_name = {c.name: c for c in report.checks}
    assert by_name["weight"].max_error < TOL and by_name["input"].max_error < TOL


def test_gradcheck_catches_a_wrong_derivative_near_a_kink():
    wrong = ns.Activation(lambda z: np.maximum(z, 0), lambda z: 2.0 * (z > 0), name="relu_times_two")
    assert not ns.gradcheck(wrong, np.array([[0.0, 1.0, -1.0, 2.0]]))


@pytest.mark.parametrize(
    "layer", [ns.ReLU(), ns.LeakyReLU(0.2), relu_sin()], ids=["relu", "leaky", "relu_sin"]
)
def test_kinks_are_counted_not_failed(layer):
    x = np.array([[0.0, 1.0, -1.0], [0.0, 3e-8, -2.0]])  # exactly on the kink, and within h of it
    report = ns.gradcheck(layer, x)
    assert report, str(report)
    check: ArrayCheck = report.checks[0]
    assert check.kinks >= 2
    assert check.checked + check.kinks == x.size


def test_relu_network_with_kink_from_a_parameter():
    # the first Linear maps x to exactly 0 for one unit: perturbing its weight crosses ReLU's kink
    lin = ns.Linear.from_arrays([[1.0, -1.0], [0.5, 0.25]], [0.0, 0.1])
    model = ns.Sequential(lin, ns.ReLU(), ns.Linear(2, 1, rng=0))
    report = ns.gradcheck(model, np.array([[1.0, 1.0], [2.0, -1.0]]))
    assert report, str(report)
    assert sum(c.kinks for c in report.checks) > 0


def test_gradcheck_max_entries_samples_a_subset():
    report = ns.gradcheck(ns.Linear(20, 10, rng=0), np.ones((3, 20)), max_entries=7)
    assert report
    assert [c.checked for c in report.checks] == [7, 7, 7]


def test_gradcheck_rejects_a_non_module():
    with pytest.raises(ns.NNScratchError, match="Module or a Loss"):
        ns.gradcheck(lambda x: x, np.ones((2, 2)))


def test_gradcheck_report_names_a_custom_activation():
    relu_sin = ns.Activation(
        lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z), name="relu_sin"
    )
    x = np.array([[0.3, -0.7], [1.2, -0.4]])
    assert str(ns.gradcheck(relu_sin, x)).startswith("gradcheck of Activation 'relu_sin': PASSED")


def test_gradcheck_report_names_a_symbolic_activation():
    pytest.importorskip("sympy")
    x = np.array([[0.3, -0.7], [1.2, -0.4]])
    named = ns.Activation.from_expression("sin(z) * z", name="zsin")
    assert str(ns.gradcheck(named, x)).startswith("gradcheck of SymbolicActivation 'zsin': PASSED")
    unnamed = ns.Activation.from_expression("tanh(z)")
    assert f"gradcheck of SymbolicActivation {unnamed.name!r}" in str(ns.gradcheck(unnamed, x))
