"""Activation.from_expression: parsing without eval, sympy derivatives, LaTeX, NumPy, kinks."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nnscratch as ns
from nnscratch.engine.layers.activations import SymbolicActivation

EXPRESSIONS = {
    # expression: (f, f') written by hand in NumPy
    "relu(x) + sin(x)": (lambda z: np.maximum(z, 0) + np.sin(z), lambda z: (z > 0) + np.cos(z)),
    "sigmoid(x) * x": (
        lambda z: z / (1 + np.exp(-z)),
        lambda z: 1 / (1 + np.exp(-z)) + z * np.exp(-z) / (1 + np.exp(-z)) ** 2,
    ),
    "softplus(x)": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "x^2/2 - abs(x)": (lambda z: z**2 / 2 - np.abs(z), lambda z: z - np.sign(z)),
    "max(x, 0.1*x)": (lambda z: np.maximum(z, 0.1 * z), lambda z: np.where(z > 0, 1.0, 0.1)),
    "tanh(2*x) + pow(x, 3) - exp(-x**2)": (
        lambda z: np.tanh(2 * z) + z**3 - np.exp(-(z**2)),
        lambda z: 2 * (1 - np.tanh(2 * z) ** 2) + 3 * z**2 + 2 * z * np.exp(-(z**2)),
    ),
    "min(z, 1) + cos(pi * z) / e": (
        lambda z: np.minimum(z, 1) + np.cos(np.pi * z) / np.e,
        lambda z: (z < 1) - np.pi * np.sin(np.pi * z) / np.e,
    ),
}


@pytest.mark.parametrize("expr", list(EXPRESSIONS))
def test_values_and_derivatives_match_hand_written_numpy(expr):
    f, fp = EXPRESSIONS[expr]
    act = ns.Activation.from_expression(expr)
    assert isinstance(act, ns.Activation) and act.expression == expr
    z = np.array([[-2.3, -0.7, 0.4, 1.9], [0.05, -1.2, 2.2, 0.8]])
    np.testing.assert_allclose(act(z), f(z), rtol=1e-12, atol=1e-14)
    act(z)
    np.testing.assert_allclose(act.backward(np.ones_like(z)), fp(z), rtol=1e-12, atol=1e-14)


@settings(max_examples=30, deadline=None)
@given(
    expr=st.sampled_from(list(EXPRESSIONS)),
    z=arrays(
        np.float64, (2, 3), elements=st.floats(-3, 3).filter(lambda v: abs(v) > 1e-3 and abs(v - 1) > 1e-3)
    ),
)
def test_gradcheck_on_random_inputs(expr, z):
    act = ns.Activation.from_expression(expr)
    report = ns.gradcheck(act, z, tol=1e-5)
    assert report.passed, str(report)


def test_latex_and_text_of_f_and_its_derivative():
    act = ns.Activation.from_expression("relu(x) + sin(x)")
    assert act.latex == r"\operatorname{ReLU}\left(x\right) + \sin{\left(x \right)}"
    assert r"\mathbf{1}\left[x > 0\right]" in act.derivative_latex and r"\cos" in act.derivative_latex
    assert act.text == "relu(x) + sin(x)" and "cos(x)" in act.derivative_text
    assert act._repr_latex_().startswith("$f(x) = ")
    assert ns.Activation.from_expression("x^2").derivative_text == "2*x"  # ^ is a power, as on paper
    assert ns.Activation.from_expression("x^2/2").derivative_text == "x"  # with the precedence of **


def test_kink_convention_relu_abs_max_at_zero():
    z = np.zeros((1, 1))
    for expr, kinks in (
        ("relu(x)", (0.0,)),
        ("abs(x)", (0.0,)),
        ("max(x, 0)", (0.0,)),
        ("relu(x - 1)", (1.0,)),
    ):
        act = ns.Activation.from_expression(expr)
        assert act.kinks == kinks, expr
        point = np.full((1, 1), kinks[0])
        act(point)
        assert act.backward(np.ones_like(z))[0, 0] == 0.0, expr  # the left derivative at the kink
    # at a tie of max/min every step is 0 too (documented): max(x, 0.1 x)' = 0 at x = 0
    leaky = ns.Activation.from_expression("max(x, 0.1*x)")
    leaky(z)
    assert leaky.backward(np.ones_like(z))[0, 0] == 0.0


def test_float32_and_vectorised_shapes():
    act = ns.Activation.from_expression("sigmoid(x) * x + 1")
    z = np.linspace(-2, 2, 24, dtype=np.float32).reshape(2, 3, 4)
    out = act.forward(z)
    assert out.dtype == np.float32 and out.shape == z.shape
    assert act.backward(np.ones_like(z)).dtype == np.float32
    const = ns.Activation.from_expression("3*x")  # f' = 3, a constant, still broadcast
    const(z)
    np.testing.assert_array_equal(const.backward(np.ones_like(z)), np.full(z.shape, 3, np.float32))


def test_works_inside_a_trained_network_and_copies():
    model = ns.Sequential(
        ns.Linear(2, 3, rng=0), ns.Activation.from_expression("relu(x) + sin(x)"), ns.Linear(3, 1, rng=1)
    )
    clone = copy.deepcopy(model)
    x = np.array([[0.3, -0.2], [1.0, 0.5]])
    np.testing.assert_array_equal(clone(x), model(x))
    assert clone.layers[1].expression == "relu(x) + sin(x)"
    assert ns.gradcheck(model, x).passed
    assert "SymbolicActivation('relu(x) + sin(x)')" in repr(model)


def test_name_defaults_to_the_expression():
    assert ns.Activation.from_expression(" relu(x) ").name == "relu(x)"
    assert ns.Activation.from_expression("relu(x)", name="r").name == "r"


@pytest.mark.parametrize(
    ("expr", "match", "position"),
    [
        ("relu(x", "invalid syntax", 5),
        ("foo(x) + 1", "unknown function 'foo'", 1),
        ("x + y", "unknown name 'y'", 5),
        ("__import__('os').system('echo hi')", "unknown function", 1),
        ("x.real", r"unsupported syntax \(Attribute\)", 1),
        ("relu(x, 2)", r"relu\(\) takes 1 argument", 1),
        ("max(x)", "at least 2", 1),
        ("sin(x=1)", "keyword", 1),
        ("'a' + x", "only numbers", 1),
        ("x if x > 0 else 0", "unsupported syntax", 1),
        ("[x]", "unsupported syntax", 1),
        ("x + z", "one variable name", 1),
        ("x ^^ 2", "invalid syntax", 4),
        ("x // 2", "unsupported syntax", 1),
        ("True * x", "only numbers", 1),
    ],
)
def test_bad_expressions_give_located_errors(expr, match, position):
    with pytest.raises(ns.ConfigError, match=match) as info:
        ns.Activation.from_expression(expr)
    message = str(info.value)
    assert repr(expr) in message and f"at position {position}" in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 4 == position - 1


@pytest.mark.parametrize("bad", ["", "   ", None, 3, "x\n+1", "x" + " + x" * 200])
def test_empty_long_or_non_string_expressions(bad):
    with pytest.raises(ns.ConfigError):
        ns.Activation.from_expression(bad)


def test_nowhere_finite_expression_is_rejected():
    with pytest.raises(ns.ConfigError, match="not finite"):
        ns.Activation.from_expression("log(-abs(x) - 1)")


def test_a_broken_derivative_fails_its_creation_gradcheck(monkeypatch):
    from nnscratch.engine.layers import symbolic

    real = symbolic.differentiate
    monkeypatch.setattr(symbolic, "differentiate", lambda expr, text="": real(expr, text) * 2)
    with pytest.raises(ns.ConfigError, match="does not match finite differences"):
        SymbolicActivation("sin(x)")


def test_explain_shows_the_expression_and_its_derivative_entry_by_entry():
    model = ns.Sequential(
        ns.Linear.from_arrays([[1.0, 0.0], [0.0, -1.0]], [0.0, 0.0]),
        ns.Activation.from_expression("relu(x) + sin(x)"),
    )
    ex = ns.explain(model, [0.5, 0.25], [0.0, 0.0], loss="mse")
    text = ex.to_text()
    assert "relu(0.5) + sin(0.5)" in text and "relu((-0.25)) + sin((-0.25))" in text
    assert "1[0.5 > 0] + cos(0.5)" in text
    np.testing.assert_allclose(ex["a1"].ravel(), [0.5 + np.sin(0.5), np.sin(-0.25)])
