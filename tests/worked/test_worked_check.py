"""check_work: per-entry comparison with the engine, the first wrong step named."""

import numpy as np
import pytest

import nnscratch as ns

# Seed 002 Q1's network, with the seed's (in, out) weights.
W1 = np.array([[0.4, 0.6, 0.2], [0.3, 0.9, 0.5]])
W2 = np.array([[0.2], [0.2], [0.8]])


def _model():
    return ns.Sequential(
        ns.Linear.from_arrays(W1.T, [1, 1, 1]), ns.Sigmoid(), ns.Linear.from_arrays(W2.T, [0.5]), ns.Sigmoid()
    )


def _student():
    """A student's hand computation in the seed's notation, rounded to 4 decimals as asked."""
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    x = np.array([[1.0], [1.0]])
    z1 = W1.T @ x + 1
    a1 = sig(z1)
    a2 = sig(W2.T @ a1 + 0.5)
    eta = (a2 - 1) * a2 * (1 - a2)
    d1 = (W2 @ eta) * a1 * (1 - a1)
    return {
        "z1": z1,
        "a1": a1,
        "yhat": a2,
        "delta2": eta,
        "dW2": a1 @ eta.T,
        "delta1": d1,
        "dW1": x @ d1.T,
        "W1_new": W1 - 0.1 * (x @ d1.T),
    }


def _check(answers=None, **kw):
    kw.setdefault("layout", "in_out")
    return ns.check_work(_model(), [1, 1], 1, loss="l2", lr=0.1, answers=answers, **kw)


def test_right_answers_pass_at_4_decimals():
    report = _check({k: np.round(v, 4) for k, v in _student().items()})
    assert report.passed and bool(report) and report.first_wrong is None
    assert "All 8 checked quantities match" in report.to_text()
    assert [e.key for e in report.entries] == ["z1", "a1", "a2", "delta2", "dW2", "delta1", "dW1", "W1_new"]


def test_the_first_wrong_step_in_computation_order_is_named():
    answers = {k: np.round(v, 4) for k, v in _student().items()}
    answers["dW1"] = answers["dW1"] + 0.01  # inherited mistake, later
    answers["delta2"] = np.array([[0.026]])  # sign error, earlier
    report = _check(answers)
    assert not report.passed
    first = report.first_wrong
    assert first.key == "delta2" and report.wrong == ["delta2", "dW1"]
    assert first.wrong == [((0, 0), pytest.approx(-0.02601, abs=1e-4), 0.026)]
    text = report.to_text()
    assert "first wrong step is delta2" in text and "expected -0.0260, given 0.026" in text
    assert "How it is computed" in text and "δ⁽²⁾ = ∂L/∂a⁽²⁾ ⊙" in text
    md = report.to_markdown()
    assert "### First wrong step: `delta2`" in md and "| `delta2` | **wrong** |" in md
    assert report._repr_markdown_() == md and "wrong=['delta2', 'dW1']" in repr(report)


def test_forward_before_backward_even_if_given_in_another_order():
    answers = {"W1_new": W1, "z1": [1.7, 2.5, 9.0]}
    report = _check(answers)
    assert report.first_wrong.key == "z1"
    assert report.first_wrong.wrong == [((2, 0), 1.7, 9.0)]


def test_vectors_in_any_orientation_and_weights_in_the_layout():
    good = {k: np.round(v, 4) for k, v in _student().items()}
    good["z1"] = good["z1"].ravel()  # (3,) instead of (3, 1)
    good["a1"] = good["a1"].T  # (1, 3)
    assert _check(good).passed
    wrong_layout = {"dW1": good["dW1"].T}  # (3, 2): written (out, in) while layout is in_out
    report = _check(wrong_layout)
    assert not report.passed and "layout='out_in'" in report.to_text()
    assert _check(wrong_layout, layout="out_in").passed


def test_a_students_backward_function():
    def backward(params, x, y):
        # the classic bug: forgetting σ'(z2) in the output error term
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        a0 = x.reshape(-1, 1)
        a1 = sig(params["W1"].T @ a0 + params["b1"][:, None])
        a2 = sig(params["W2"].T @ a1 + params["b2"][:, None])
        eta = a2 - y
        d1 = (params["W2"] @ eta) * a1 * (1 - a1)
        return {"dW2": a1 @ eta.T, "db2": eta, "dW1": a0 @ d1.T, "db1": d1}

    report = _check(backward=backward)
    assert report.first_wrong.key == "dW2"
    assert set(report.wrong) == {"dW2", "db2", "dW1", "db1"}


def test_backward_gets_copies_in_the_chosen_layout():
    seen = {}

    def backward(params, x, y):
        seen.update(params)
        params["W1"][...] = 0  # must not reach the engine or the model
        return {}

    model = _model()
    ns.check_work(model, [1, 1], 1, loss="l2", backward=backward, layout="in_out")
    assert seen["W1"].shape == (2, 3) and seen["b1"].shape == (3,)
    np.testing.assert_array_equal(model.layers[0].weight.data, W1.T)


def test_non_finite_or_non_numeric_answers_are_wrong_not_crashes():
    report = _check({"z1": [np.nan, 2.5, 1.7], "a1": ["a", "b", "c"]})
    assert report.wrong == ["z1", "a1"]
    assert "given:    [nan, 2.5, 1.7]" in report.to_text()
    assert "real numbers" in report.entries[1].message


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ns.ConfigError, "answers"),
        ({"answers": {"zz9": 1.0}}, ns.ConfigError, "unknown quantity 'zz9'"),
        ({"answers": [1, 2]}, ns.DTypeError, "dict"),
        ({"answers": {"z1": [1, 2, 3]}, "tol": -1}, ns.HyperparameterError, "tol"),
        ({"backward": 5}, ns.DTypeError, "backward"),
        ({"backward": lambda p, x, y: [1]}, ns.DTypeError, "dict"),
        ({"backward": lambda p, x, y: {"z1": 1}, "answers": {"z1": 2}}, ns.ConfigError, "both"),
    ],
)
def test_bad_calls(kwargs, error, match):
    with pytest.raises(error, match=match):
        ns.check_work(_model(), [1, 1], 1, loss="l2", **kwargs)
